'use strict';

/*
 * What the dashboard widgets are told, pushed (this.homey.api.realtime) instead of them
 * polling: which bridge device changed something a widget draws. A widget hears it with
 * Homey.on(WIDGET_EVENT, …) and reads again through its own API (widgets/<id>/api.js);
 * nothing is worked out here, the table only says which fields each widget draws.
 *
 * The event's data: {device_id, kind, fields}: the bridge device and the fields of it
 * that changed ('available' for its availability); device_id null (kind null, fields [])
 * after the bridge is reached again, when anything may have changed.
 */

const WIDGET_EVENT = 'kraken_state';

/* Per bridge device kind: the state fields a widget draws (price chart, next dispatch). */
const WIDGET_FIELDS = {
  // The price chart: today's prices by quadrant, the current slot, tomorrow's once published.
  import_tariff: ['slot_start', 'unit_rate', 'price_quadrant', 'rate_source', 'tomorrow_prices_published'],
  // Both: the next-dispatch widget's rows, and the price chart's dispatch bands.
  smart_energy_device: [
    'device_state', 'dispatches_honoured', 'dispatching', 'boosting', 'planned_dispatches',
    'planned_dispatch_count', 'next_dispatch_start', 'next_dispatch_end', 'current_dispatch_end',
  ],
};

/** The kind of a bridge device id ("smart_energy_device.<id>" → "smart_energy_device"). */
function kindOf(deviceId) {
  const dot = String(deviceId).indexOf('.');
  return dot > 0 ? String(deviceId).slice(0, dot) : null;
}

/**
 * The realtime data for a BridgeConnection.watch() event, or null when no widget draws
 * what changed.
 */
function widgetNudge(event) {
  if (event.deviceId === null) {
    return event.type === 'bridge' && event.connected ? { device_id: null, kind: null, fields: [] } : null;
  }
  const kind = kindOf(event.deviceId);
  const drawn = WIDGET_FIELDS[kind];
  if (!drawn) return null;
  let fields = [];
  if (event.type === 'availability') fields = event.changed ? ['available'] : [];
  else if (event.type === 'state') fields = Object.keys(event.previous || {}).filter(field => drawn.includes(field));
  return fields.length ? { device_id: event.deviceId, kind, fields } : null;
}

module.exports = { WIDGET_EVENT, WIDGET_FIELDS, widgetNudge };
