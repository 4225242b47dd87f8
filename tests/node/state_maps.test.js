'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { STATE_MAPS, capabilityValues } = require('../../homey_shim/state_maps');
const convert = require('../../homey_shim/convert');
const appJson = require('../../app.json');

const KINDS = ['import_tariff', 'export_tariff', 'energy_account', 'smart_energy_device'];

// The fields DESIGN.md ("Device state") promises per kind; every one must be shown.
const DOCUMENTED_FIELDS = {
  import_tariff: ['unit_rate', 'tariff_unit_rate', 'next_unit_rate', 'slot_end', 'price_quadrant',
    'next_price_quadrant', 'rate_source', 'tomorrow_prices_published', 'standing_charge'],
  energy_account: ['power_w', 'import_kwh_total', 'export_kwh_total', 'import_kwh_today',
    'export_kwh_today', 'import_cost_today', 'export_value_today'],
  smart_energy_device: ['device_state', 'dispatches_honoured', 'dispatching', 'boosting',
    // planned_dispatches is shown through the bridge's count and energy of that list.
    'planned_dispatch_count', 'planned_energy_kwh', 'next_dispatch_start', 'next_dispatch_end'],
};
DOCUMENTED_FIELDS.export_tariff = DOCUMENTED_FIELDS.import_tariff;

const driverManifest = id => appJson.drivers.find(driver => driver.id === id);

test('every bridge kind has a driver and a state map', () => {
  assert.deepEqual(Object.keys(STATE_MAPS).sort(), [...KINDS].sort());
  assert.deepEqual(appJson.drivers.map(driver => driver.id).sort(), [...KINDS].sort());
});

for (const kind of KINDS) {
  test(`${kind}: the state map and the manifest name the same capabilities`, () => {
    const mapped = STATE_MAPS[kind].map(row => row.capability);
    assert.equal(new Set(mapped).size, mapped.length, 'a capability is mapped twice');
    assert.deepEqual([...mapped].sort(), [...driverManifest(kind).capabilities].sort());
  });

  test(`${kind}: every documented state field is mapped`, () => {
    const fields = STATE_MAPS[kind].map(row => row.field);
    for (const field of DOCUMENTED_FIELDS[kind]) assert.ok(fields.includes(field), `${field} is not mapped`);
  });

  test(`${kind}: unknown (null) values become null, not 0 or false`, () => {
    const state = Object.fromEntries(STATE_MAPS[kind].map(row => [row.field, null]));
    for (const [capability, value] of capabilityValues(STATE_MAPS[kind], state, {})) {
      assert.equal(value, null, capability);
    }
  });
}

test('import tariff: pence per kWh become pounds, times become local clock times', () => {
  const state = {
    unit_rate: 7.0,
    tariff_unit_rate: 24.5,
    next_unit_rate: 28.53,
    standing_charge: 48.79,
    price_quadrant: 0,
    next_price_quadrant: 3,
    rate_source: 'smart_dispatch',
    slot_start: '2026-03-10T23:30:00Z',
    slot_end: '2026-03-11T00:00:00Z',
    tomorrow_prices_published: true,
    product_code: 'INTELLI-VAR-24-10-29',
  };
  const values = Object.fromEntries(capabilityValues(STATE_MAPS.import_tariff, state, { timezone: 'Europe/London' }));
  assert.deepEqual(values, {
    measure_monetary: 0.07,
    'measure_monetary.tariff': 0.245,
    'measure_monetary.next': 0.2853,
    'measure_monetary.standing_charge': 0.4879,
    price_quadrant: 0,
    'price_quadrant.next': 3,
    rate_source: 'smart_dispatch',
    slot_end: '00:00',
    tomorrow_prices_published: true,
  });
});

test('a partial state changes only its own capabilities', () => {
  assert.deepEqual(capabilityValues(STATE_MAPS.import_tariff, { unit_rate: 30.1 }, {}), [['measure_monetary', 0.301]]);
  assert.deepEqual(capabilityValues(STATE_MAPS.import_tariff, {}, {}), []);
});

test('energy account and smart device rows convert as documented', () => {
  const account = Object.fromEntries(capabilityValues(STATE_MAPS.energy_account, {
    power_w: -1200, import_kwh_total: 1234.567, import_cost_today: 345.6, export_value_today: 0,
  }, {}));
  assert.deepEqual(account, {
    measure_power: -1200,
    'meter_power.imported': 1234.567,
    'measure_monetary.import_cost_today': 3.456,
    'measure_monetary.export_value_today': 0,
  });
  const smart = Object.fromEntries(capabilityValues(STATE_MAPS.smart_energy_device, {
    device_state: 'SMART_CONTROL_CAPABLE',
    dispatching: false,
    planned_dispatch_count: 1,
    planned_energy_kwh: 7.5,
    next_dispatch_start: '2026-03-10T23:30:00Z',
    allowance_used_minutes: 90,
  }, { timezone: 'Europe/London', language: 'en' }));
  assert.deepEqual(smart, {
    kraken_device_state: 'SMART_CONTROL_CAPABLE', // no locale given: the code itself
    dispatching: false,
    planned_dispatch_count: 1,
    planned_dispatch_energy: 7.5,
    next_dispatch_start: 'Tue 23:30',
    allowance_used: 90,
  });
  const en = require('../../locales/en.json');
  const __ = key => key.split('.').reduce((node, part) => (node ? node[part] : undefined), en) || key;
  assert.deepEqual(capabilityValues(STATE_MAPS.smart_energy_device, { device_state: 'BOOSTING' }, { __ }),
    [['kraken_device_state', 'Boost charging']]);
  assert.deepEqual(capabilityValues(STATE_MAPS.smart_energy_device, { device_state: 'SOMETHING_NEW' }, { __ }),
    [['kraken_device_state', 'SOMETHING_NEW']]);
});

test('converters: rounding, enums, summer time, garbage', () => {
  assert.equal(convert.penceToPounds(24.4999999), 0.245);
  assert.equal(convert.penceToPounds('24.5'), null);
  assert.equal(convert.penceToPounds(Number.NaN), null);
  assert.equal(convert.oneOf(['tariff'])('bogus'), null);
  assert.equal(convert.localTime('2026-07-01T11:30:00Z', { timezone: 'Europe/London' }), '12:30');
  assert.equal(convert.localTime('not a time', {}), null);
  assert.equal(convert.localTime('2026-07-01T11:30:00Z', { timezone: 'Not/AZone' }), '11:30');
  assert.equal(convert.boolean(1), null);
});
