'use strict';

/*
 * The Gas Tariff and Gas Meter devices against the scripted fake bridge: what they show,
 * the gas price cards, and the bridge's "tariff changed" card on a gas tariff.
 * (gas_bridge.test.js plays the same against the real bridge.)
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { HomeyRuntime, waitFor } = require('./helpers/homey_runtime');
const { FakeBridge } = require('./helpers/fake_bridge');

const GAS_TARIFF = {
  id: 'gas_tariff.7412345606',
  kind: 'gas_tariff',
  name: 'Gas tariff (SILVER-25-04-15)',
  updated_at: '2026-03-10T12:00:00Z',
  state: {
    unit_rate: 6.04, next_unit_rate: null, next_rate_from: null, tomorrow_unit_rate: null,
    tomorrow_prices_published: false, standing_charge: 30.57,
    product_code: 'SILVER-25-04-15', tariff_code: 'G-1R-SILVER-25-04-15-C',
  },
};
const GAS_METER = {
  id: 'gas_meter.7412345606',
  kind: 'gas_meter',
  name: 'Gas meter',
  updated_at: '2026-03-10T12:00:00Z',
  state: {
    gas_kwh_total: 12000.5, gas_m3_total: 1072.3, gas_kwh_today: 18.25, gas_cost_today: 110.23,
    last_reading_at: '2026-03-10T11:30:00Z', calorific_value: 39.5,
  },
};

async function setup(t) {
  const bridge = await new FakeBridge().start();
  bridge.addDevice(GAS_TARIFF);
  bridge.addDevice(GAS_METER);
  const runtime = new HomeyRuntime();
  t.after(async () => {
    await runtime.stop();
    await bridge.close();
  });
  await runtime.start();
  const login = await runtime.pair('gas_tariff');
  assert.equal(await login.emit('login', { username: bridge.url, password: bridge.token }), true);
  const listed = await login.emit('list_devices');
  assert.deepEqual(listed, [{ name: GAS_TARIFF.name, data: { id: GAS_TARIFF.id } }], 'the gas tariff driver lists its own kind');
  const tariff = await runtime.addDevice('gas_tariff', listed[0]);
  const [meterListed, ...more] = await runtime.driver('gas_meter').listBridgeDevices();
  assert.deepEqual(more, []);
  assert.deepEqual(meterListed.data, { id: GAS_METER.id });
  const meter = await runtime.addDevice('gas_meter', meterListed);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.0604 && meter.getCapabilityValue('meter_gas') === 1072.3,
    { what: 'the opening burst' });
  await Promise.all([tariff.whenIdle(), meter.whenIdle()]);
  const { homey } = runtime;
  const cards = {
    tokens: id => homey.flow.getDeviceTriggerCard(id).triggered.map(([, tokens]) => tokens),
    condition: (id, args) => homey.flow.getConditionCard(id).runListener(args),
  };
  return { bridge, runtime, tariff, meter, cards };
}

test('gas devices show the bridge\'s state: pounds, m³ and kWh; tomorrow\'s price unknown until known', async t => {
  const { bridge, tariff, meter } = await setup(t);
  assert.equal(tariff.getCapabilityValue('measure_monetary.standing_charge'), 0.3057);
  assert.equal(tariff.getCapabilityValue('measure_monetary.next'), null);
  assert.equal(tariff.getCapabilityValue('measure_monetary.tomorrow'), null, 'not published: unknown, not £0');
  assert.equal(tariff.getCapabilityValue('tomorrow_prices_published'), false);
  assert.equal(tariff.getCapabilityValue('tariff_code'), 'G-1R-SILVER-25-04-15-C');
  assert.equal(meter.getCapabilityValue('gas_kwh_total'), 12000.5);
  assert.equal(meter.getCapabilityValue('gas_kwh_today'), 18.25);
  assert.equal(meter.getCapabilityValue('measure_monetary.gas_cost_today'), 1.1023);
  assert.equal(tariff.getAvailable(), true);
  assert.equal(meter.getAvailable(), true);

  bridge.send('state', {
    device_id: GAS_TARIFF.id,
    state: { tomorrow_unit_rate: 5.87, tomorrow_prices_published: true, next_unit_rate: 5.87, next_rate_from: '2026-03-11T00:00:00Z' },
  });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary.tomorrow') === 0.0587, { what: 'tomorrow\'s gas price' });
  await tariff.whenIdle();
  assert.equal(tariff.getCapabilityValue('measure_monetary.next'), 0.0587);
  assert.equal(tariff.getCapabilityValue('tomorrow_prices_published'), true);
});

test('the gas price changed card fires once per change, with the new and previous price', async t => {
  const { bridge, runtime, tariff, cards } = await setup(t);
  assert.deepEqual(cards.tokens('gas_price_changed'), [], 'the opening burst is not a change');
  bridge.send('state', { device_id: GAS_TARIFF.id, state: { unit_rate: 5.87 } });
  bridge.send('state', { device_id: GAS_TARIFF.id, state: { standing_charge: 30.57 } });
  bridge.send('state', { device_id: GAS_TARIFF.id, state: { unit_rate: 5.87 } });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.0587, { what: 'the new gas price' });
  await tariff.whenIdle();
  assert.deepEqual(cards.tokens('gas_price_changed'), [{ price: 0.0587, previous_price: 0.0604 }]);
  assert.deepEqual(cards.tokens('price_changed'), [], 'the electricity card stays quiet');
  assert.deepEqual(runtime.homey.__errors, []);
});

test('gas price is below: reads the cached price; unknown is an error in words', async t => {
  const { bridge, tariff, cards } = await setup(t);
  assert.equal(await cards.condition('gas_price_below', { device: tariff, price: 0.07 }), true);
  assert.equal(await cards.condition('gas_price_below', { device: tariff, price: 0.0604 }), false);
  assert.deepEqual(bridge.actions, [], 'conditions ask the bridge nothing');
  bridge.send('state', { device_id: GAS_TARIFF.id, state: { unit_rate: null } });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === null, { what: 'an unknown gas price' });
  await assert.rejects(async () => cards.condition('gas_price_below', { device: tariff, price: 1 }), /has not told Gas tariff/);
});

test('the bridge\'s "tariff changed" card fires on a gas tariff with both products', async t => {
  const { bridge, tariff, cards } = await setup(t);
  const change = {
    previous_product_code: 'VAR-22-11-01', previous_tariff_code: 'G-1R-VAR-22-11-01-C',
    product_code: 'SILVER-25-04-15', tariff_code: 'G-1R-SILVER-25-04-15-C',
  };
  bridge.send('trigger', { device_id: GAS_TARIFF.id, card: 'tariff_product_changed', tokens: change });
  await waitFor(() => cards.tokens('tariff_product_changed').length === 1, { what: 'tariff_product_changed' });
  assert.deepEqual(cards.tokens('tariff_product_changed'), [change]);
  await tariff.whenIdle();
});
