'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  STATE_MAPS, UNMAPPED_FIELDS, READY_BY_TIMES, SETTABLE_CAPABILITIES, capabilityValues,
} = require('../../homey_shim/state_maps');
const { STATE_TRIGGERS, CONDITIONS, ACTIONS } = require('../../homey_shim/flow_maps');
const convert = require('../../homey_shim/convert');
const appJson = require('../../app.json');

const KINDS = ['import_tariff', 'export_tariff', 'energy_account', 'smart_energy_device', 'gas_tariff', 'gas_meter'];

/*
 * The contract: the bridge's device-state JSON Schema, generated from its models by
 * `kraken-bridge schema` (a pytest fails when this file is out of date).
 */
const SCHEMA_PATH = path.join(__dirname, '..', '..', 'docs', 'device-state.schema.json');
const SCHEMA = JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8'));

/** `node` with every `$ref` into `root.$defs` replaced by what it points at (the pydantic form). */
function resolveRefs(node, root) {
  if (Array.isArray(node)) return node.map(item => resolveRefs(item, root));
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const name = /^#\/\$defs\/([^/]+)$/.exec(node.$ref);
    const target = name && root.$defs && root.$defs[name[1]];
    assert.ok(target, `cannot resolve ${node.$ref}: only #/$defs/NAME refs are expected`);
    const { $ref, ...siblings } = node;
    return resolveRefs({ ...target, ...siblings }, root);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolveRefs(value, root)]));
}

/** Each kind's state properties, refs resolved (a kind's refs point into its own $defs). */
function kindProperties(kind) {
  const schema = SCHEMA.kinds[kind];
  assert.ok(schema, `${kind} is not in ${SCHEMA_PATH}`);
  return resolveRefs(schema.properties, schema);
}
const PROPERTIES = Object.fromEntries(KINDS.map(kind => [kind, kindProperties(kind)]));

const jsonType = value => {
  if (value === null) return 'null';
  if (Number.isInteger(value)) return 'integer';
  return Array.isArray(value) ? 'array' : typeof value;
};

/** The JSON types a schema property allows ('null' among them when nullable) and its enum. */
function schemaTypes(property) {
  const types = new Set();
  let values = null;
  (function visit(node) {
    for (const branch of [...(node.anyOf || []), ...(node.oneOf || [])]) visit(branch);
    for (const type of [].concat(node.type || [])) types.add(type);
    if (Array.isArray(node.enum)) {
      values = [...(values || []), ...node.enum.filter(value => value !== null)];
      for (const value of node.enum) types.add(jsonType(value));
    }
  })(property);
  return { types, values };
}

// What each converter takes, as JSON Schema types; a value of another type would show as unknown.
const NUMERIC = ['number', 'integer'];
const CONVERTER_TAKES = new Map([
  [convert.penceToPounds, NUMERIC],
  [convert.number, NUMERIC],
  [convert.integer, NUMERIC],
  [convert.boolean, ['boolean']],
  [convert.localTime, ['string']],
  [convert.localDayTime, ['string']],
  [convert.text, ['string']],
]);

/** The types a state map row's converter takes, and for oneOf() the values it passes. */
function converterTakes(converter) {
  if (Array.isArray(converter.values)) {
    return { types: [...new Set(converter.values.map(jsonType))], values: converter.values };
  }
  if (typeof converter.table === 'string') return { types: ['string'] }; // titled(table)
  assert.ok(CONVERTER_TAKES.has(converter), `a converter this test does not know (${converter.name || 'anonymous'}): add it to CONVERTER_TAKES`);
  return { types: CONVERTER_TAKES.get(converter) };
}

/**
 * A plausible value of a schema property's non-null type. `order` (the how-manyth field
 * read) and `variant` (0 or 1) vary numbers and booleans, so that reading under both
 * variants gets past a short-circuit such as `a < b && c` one way or the other.
 */
function sampleValue(property, order, variant) {
  const { types, values } = schemaTypes(property);
  if (values && values.length) return values[variant % values.length];
  if (types.has('boolean')) return variant === 0;
  if (types.has('integer')) return variant === 0 ? order : 100 - order;
  if (types.has('number')) return variant === 0 ? order + 0.5 : 100.5 - order;
  if (types.has('string')) return '2026-03-10T19:00:00Z';
  if (types.has('array')) return [];
  if (types.has('object')) return {};
  return null;
}

/**
 * A state of `kind` in which every schema field has a value of its type, and that records
 * in `read` the fields read from it (fields the schema does not have read as undefined).
 */
function recordingState(kind, read, variant) {
  const properties = PROPERTIES[kind];
  const has = name => Object.prototype.hasOwnProperty.call(properties, name);
  const order = new Map();
  return new Proxy({}, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      read.add(name);
      if (!order.has(name)) order.set(name, order.size + 1);
      return has(name) ? sampleValue(properties[name], order.get(name), variant) : undefined;
    },
    has(target, name) {
      if (typeof name === 'string') read.add(name);
      return typeof name === 'string' && has(name);
    },
  });
}

/** The fields `use(state, previous)` reads from states of `kind`, under both sampling variants. */
function fieldsRead(kind, use) {
  const read = new Set();
  for (const variant of [0, 1]) use(recordingState(kind, read, variant), recordingState(kind, read, variant));
  return read;
}

/** The kinds a flow card applies to, from its device argument's filter in the manifest. */
function cardKinds(section, cardId) {
  const card = appJson.flow[section].find(candidate => candidate.id === cardId);
  assert.ok(card, `no ${section} card ${cardId} in app.json`);
  const device = (card.args || []).find(arg => arg.type === 'device');
  assert.ok(device && /^driver_id=/.test(device.filter), `${cardId} has no device argument filtered by driver_id`);
  return device.filter.replace(/^driver_id=/, '').split('|');
}

const notInSchema = (kind, fields) => [...fields].filter(field => !Object.prototype.hasOwnProperty.call(PROPERTIES[kind], field));

const driverManifest = id => appJson.drivers.find(driver => driver.id === id);

test('the schema file describes every bridge kind', () => {
  assert.deepEqual(Object.keys(SCHEMA.kinds).sort(), [...KINDS].sort());
});

test('every bridge kind has a driver and a state map', () => {
  assert.deepEqual(Object.keys(STATE_MAPS).sort(), [...KINDS].sort());
  assert.deepEqual(Object.keys(UNMAPPED_FIELDS).sort(), [...KINDS].sort());
  assert.deepEqual(appJson.drivers.map(driver => driver.id).sort(), [...KINDS].sort());
});

for (const kind of KINDS) {
  test(`${kind}: the state map and the manifest name the same capabilities`, () => {
    const mapped = STATE_MAPS[kind].map(row => row.capability);
    assert.equal(new Set(mapped).size, mapped.length, 'a capability is mapped twice');
    assert.deepEqual([...mapped].sort(), [...driverManifest(kind).capabilities].sort());
  });

  test(`${kind}: every field the state map reads is in the bridge's schema`, () => {
    assert.deepEqual(notInSchema(kind, STATE_MAPS[kind].map(row => row.field)), [],
      `the state map reads fields the bridge does not send (${SCHEMA_PATH})`);
  });

  test(`${kind}: each converter takes the type the schema gives its field`, () => {
    for (const row of STATE_MAPS[kind]) {
      const property = PROPERTIES[kind][row.field];
      if (!property) continue; // reported by the test above
      const sent = schemaTypes(property);
      const taken = converterTakes(row.convert);
      const valueTypes = [...sent.types].filter(type => type !== 'null'); // a converter maps null to null
      assert.ok(valueTypes.length > 0, `${row.field}: the schema gives no type`);
      for (const type of valueTypes) {
        assert.ok(taken.types.includes(type),
          `${row.field} is ${[...sent.types].join(' | ')} in the schema, but its converter for ${row.capability} takes ${taken.types.join(' | ')}`);
      }
      if (taken.values) {
        assert.ok(sent.values, `${row.field}: the converter passes an enum, the schema has none`);
        assert.deepEqual([...taken.values].sort(), [...sent.values].sort(),
          `${row.field}: the converter's values and the schema's enum differ`);
      }
    }
  });

  test(`${kind}: every schema field is shown by a capability or listed as unmapped, with a reason`, () => {
    const mapped = new Set(STATE_MAPS[kind].map(row => row.field));
    const unmapped = UNMAPPED_FIELDS[kind];
    const placed = new Set([...mapped, ...Object.keys(unmapped)]);
    const unplaced = Object.keys(PROPERTIES[kind]).filter(field => !placed.has(field));
    assert.deepEqual(unplaced, [],
      'new bridge fields: map each to a capability (STATE_MAPS) or list it with a reason in UNMAPPED_FIELDS (homey_shim/state_maps.js)');
    assert.deepEqual(notInSchema(kind, Object.keys(unmapped)), [], 'UNMAPPED_FIELDS lists fields the bridge does not send');
    assert.deepEqual(Object.keys(unmapped).filter(field => mapped.has(field)), [], 'a field is both mapped and listed as unmapped');
    for (const [field, reason] of Object.entries(unmapped)) {
      assert.ok(typeof reason === 'string' && reason.trim() !== '' && !reason.includes('\n'), `${field}: give a one-line reason`);
    }
  });

  test(`${kind}: the state-trigger cards read only fields of the schema`, () => {
    for (const row of STATE_TRIGGERS[kind]) {
      const read = fieldsRead(kind, (state, previous) => {
        row.when(state, previous);
        row.tokens(state, previous, { timezone: 'Europe/London', language: 'en' });
      });
      assert.deepEqual(notInSchema(kind, [row.field, ...read]), [], `${row.card} reads fields the bridge does not send`);
    }
  });

  test(`${kind}: unknown (null) values become null, not 0 or false`, () => {
    const state = Object.fromEntries(STATE_MAPS[kind].map(row => [row.field, null]));
    for (const [capability, value] of capabilityValues(STATE_MAPS[kind], state, {})) {
      assert.equal(value, null, capability);
    }
  });
}

test('every state-trigger table belongs to a bridge kind', () => {
  assert.deepEqual(Object.keys(STATE_TRIGGERS).sort(), [...KINDS].sort());
});

for (const [cardId, condition] of Object.entries(CONDITIONS)) {
  if (condition.ask) {
    test(`condition ${cardId}: the bridge answers it (a tariff action), from its arguments alone`, () => {
      assert.deepEqual(condition.fields, [], 'a condition the bridge answers reads no cached state');
      for (const kind of cardKinds('conditions', cardId)) assert.ok(['import_tariff', 'export_tariff'].includes(kind), kind);
      assert.equal(condition.ask.action, 'find_cheapest_window');
      const body = condition.ask.body({ duration: '1.5', from: '22:00', to: '07:00' });
      assert.deepEqual({ ...body, highest: undefined }, {
        duration_minutes: 90, from_time: '22:00', to_time: '07:00', highest: undefined,
      });
      assert.equal(condition.test({ includes_now: true }), true);
      assert.equal(condition.test({ includes_now: false, start: null }), false);
    });
    continue;
  }
  test(`condition ${cardId}: reads only the fields it declares, and they are in the schema of its kinds`, () => {
    for (const kind of cardKinds('conditions', cardId)) {
      assert.ok(KINDS.includes(kind), `${cardId} applies to an unknown kind ${kind}`);
      assert.deepEqual(notInSchema(kind, condition.fields), [], `${cardId} declares fields ${kind} does not have`);
      const args = { price: '0.1', quadrant: '0', source: 'tariff', state: 'BOOSTING' };
      const read = fieldsRead(kind, state => condition.test(state, args));
      assert.deepEqual([...read].filter(field => !condition.fields.includes(field)), [],
        `${cardId} reads fields it does not declare (its "state unknown" check would miss them)`);
    }
  });
}

for (const [cardId, action] of Object.entries(ACTIONS)) {
  test(`action ${cardId}: reads only fields of the schema of its kinds`, () => {
    for (const kind of cardKinds('actions', cardId)) {
      const args = { duration: '2', range: '12', target_percent: '80', ready_by: '07:00' };
      const read = fieldsRead(kind, state => action.body(args, state));
      assert.deepEqual(notInSchema(kind, read), [], `${cardId} reads fields ${kind} does not have`);
    }
  });
}

test('condition dropdowns offer exactly the values the schema allows', () => {
  const dropdown = (cardId, name) => appJson.flow.conditions.find(card => card.id === cardId)
    .args.find(arg => arg.name === name).values.map(value => value.id);
  for (const kind of cardKinds('conditions', 'rate_source_is')) {
    assert.deepEqual([...dropdown('rate_source_is', 'source')].sort(), [...schemaTypes(PROPERTIES[kind].rate_source).values].sort());
  }
  for (const kind of cardKinds('conditions', 'price_quadrant_is')) {
    const property = PROPERTIES[kind].price_quadrant;
    const bounded = [property, ...(property.anyOf || [])].find(node => node.type === 'integer');
    assert.ok(bounded && Number.isInteger(bounded.minimum) && Number.isInteger(bounded.maximum),
      `${kind}.price_quadrant: the schema gives no integer bounds`);
    const range = Array.from({ length: bounded.maximum - bounded.minimum + 1 }, (_, i) => String(bounded.minimum + i));
    assert.deepEqual(dropdown('price_quadrant_is', 'quadrant'), range);
  }
});

test('a capability a person can set from the tile is exactly one with a bridge action', () => {
  const bridgeActions = new Set(Object.values(ACTIONS).map(row => row.action));
  for (const driver of appJson.drivers) {
    const setable = driver.capabilities.filter(id => appJson.capabilities[id] && appJson.capabilities[id].setable === true);
    const rows = SETTABLE_CAPABILITIES[driver.id] || {};
    assert.deepEqual(Object.keys(rows).sort(), setable.sort(), driver.id);
    for (const [capability, row] of Object.entries(rows)) {
      const { type, values } = appJson.capabilities[capability];
      const samples = { boolean: [true, false], number: [80], enum: (values || []).map(value => value.id) }[type];
      for (const value of samples) {
        assert.ok(bridgeActions.has(row.action(value)), `${capability}=${value}: ${row.action(value)} is no bridge action`);
        assert.equal(typeof row.body(value), 'object');
      }
    }
  }
  // The picker offers the bridge's ready-by times, which are the flow card's too.
  assert.deepEqual(appJson.capabilities.ready_by.values.map(value => value.id), READY_BY_TIMES);
  const card = appJson.flow.actions.find(candidate => candidate.id === 'set_charge_target');
  assert.deepEqual(card.args.find(arg => arg.name === 'ready_by').values.map(value => value.id), READY_BY_TIMES);
  assert.deepEqual(SETTABLE_CAPABILITIES.smart_energy_device.charge_target.body(82.4), { target_percent: 82 });
  assert.deepEqual(SETTABLE_CAPABILITIES.smart_energy_device.ready_by.body('08:30'), { ready_by: '08:30' });
});

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
  assert.deepEqual(capabilityValues(STATE_MAPS.smart_energy_device, {
    charge_target_percent: 80, ready_by: '07:30', smart_control_enabled: false,
  }, {}), [['charge_target', 80], ['ready_by', '07:30'], ['smart_control', false]]);
});

test('gas tariff and gas meter: pence become pounds, m³ and kWh pass as they are', () => {
  const tariff = Object.fromEntries(capabilityValues(STATE_MAPS.gas_tariff, {
    unit_rate: 6.04,
    next_unit_rate: 5.87,
    next_rate_from: '2026-03-11T00:00:00Z',
    tomorrow_unit_rate: null,
    tomorrow_prices_published: false,
    standing_charge: 30.57,
    product_code: 'SILVER-25-04-15',
    tariff_code: 'G-1R-SILVER-25-04-15-C',
  }, { timezone: 'Europe/London' }));
  assert.deepEqual(tariff, {
    measure_monetary: 0.0604,
    'measure_monetary.next': 0.0587,
    'measure_monetary.tomorrow': null, // not published yet: unknown, not free
    'measure_monetary.standing_charge': 0.3057,
    tomorrow_prices_published: false,
    tariff_code: 'G-1R-SILVER-25-04-15-C',
  });
  const meter = Object.fromEntries(capabilityValues(STATE_MAPS.gas_meter, {
    gas_kwh_total: 12345.678,
    gas_m3_total: 1103.2,
    gas_kwh_today: 21.5,
    gas_cost_today: 129.86,
    last_reading_at: '2026-03-10T11:30:00Z',
    calorific_value: 39.5,
  }, {}));
  assert.deepEqual(meter, {
    meter_gas: 1103.2,
    gas_kwh_total: 12345.678,
    gas_kwh_today: 21.5,
    'measure_monetary.gas_cost_today': 1.2986,
  });
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
