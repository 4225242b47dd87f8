'use strict';

/*
 * Which bridge state field shows as which capability, per bridge device kind (which is
 * also the driver id). This is the whole of what the drivers know about the state:
 * the bridge decides every value, these rows only change units and presentation.
 * Field names and meanings: docs/bridge-api.md, "State fields".
 */

const convert = require('./convert');

const RATE_SOURCES = ['tariff', 'smart_dispatch', 'boost'];

const tariff = [
  { field: 'unit_rate', capability: 'measure_monetary', convert: convert.penceToPounds },
  { field: 'tariff_unit_rate', capability: 'measure_monetary.tariff', convert: convert.penceToPounds },
  { field: 'next_unit_rate', capability: 'measure_monetary.next', convert: convert.penceToPounds },
  { field: 'standing_charge', capability: 'measure_monetary.standing_charge', convert: convert.penceToPounds },
  { field: 'price_quadrant', capability: 'price_quadrant', convert: convert.integer },
  { field: 'next_price_quadrant', capability: 'price_quadrant.next', convert: convert.integer },
  { field: 'rate_source', capability: 'rate_source', convert: convert.oneOf(RATE_SOURCES) },
  { field: 'slot_end', capability: 'slot_end', convert: convert.localTime },
  { field: 'tomorrow_prices_published', capability: 'tomorrow_prices_published', convert: convert.boolean },
  { field: 'tariff_code', capability: 'tariff_code', convert: convert.text },
];

const STATE_MAPS = {
  import_tariff: tariff,
  export_tariff: tariff,
  energy_account: [
    { field: 'power_w', capability: 'measure_power', convert: convert.number },
    { field: 'import_kwh_total', capability: 'meter_power.imported', convert: convert.number },
    { field: 'export_kwh_total', capability: 'meter_power.exported', convert: convert.number },
    { field: 'import_kwh_today', capability: 'import_kwh_today', convert: convert.number },
    { field: 'export_kwh_today', capability: 'export_kwh_today', convert: convert.number },
    { field: 'import_cost_today', capability: 'measure_monetary.import_cost_today', convert: convert.penceToPounds },
    { field: 'export_value_today', capability: 'measure_monetary.export_value_today', convert: convert.penceToPounds },
    { field: 'tariff_efficiency_today', capability: 'tariff_efficiency', convert: convert.number },
  ],
  smart_energy_device: [
    { field: 'device_state', capability: 'kraken_device_state', convert: convert.titled('device_states') },
    { field: 'dispatches_honoured', capability: 'dispatches_honoured', convert: convert.boolean },
    { field: 'dispatching', capability: 'dispatching', convert: convert.boolean },
    { field: 'boosting', capability: 'boosting', convert: convert.boolean },
    { field: 'planned_dispatch_count', capability: 'planned_dispatch_count', convert: convert.integer },
    { field: 'planned_energy_kwh', capability: 'planned_dispatch_energy', convert: convert.number },
    { field: 'next_dispatch_start', capability: 'next_dispatch_start', convert: convert.localDayTime },
    { field: 'next_dispatch_end', capability: 'next_dispatch_end', convert: convert.localDayTime },
    { field: 'allowance_used_minutes', capability: 'allowance_used', convert: convert.integer },
  ],
};

/**
 * Capability values for the fields present in `state` (a partial state changes only
 * its own capabilities).
 * @returns {Array<[string, any]>} [capability, value] pairs
 */
function capabilityValues(stateMap, state, ctx) {
  const values = [];
  for (const row of stateMap) {
    if (!Object.prototype.hasOwnProperty.call(state, row.field)) continue;
    values.push([row.capability, row.convert(state[row.field], ctx)]);
  }
  return values;
}

module.exports = { STATE_MAPS, RATE_SOURCES, capabilityValues };
