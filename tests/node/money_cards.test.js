'use strict';

/*
 * Money on the Energy Account, price thresholds and the Home Mini's health, against the
 * scripted fake bridge: which state change fires which card, which flows run (each its
 * own amount or price, only when the change crosses it), the device warning, the
 * conditions (cached state, or the bridge's answer) and the setting sent to the bridge.
 * (money_bridge.test.js plays the same against the real bridge, over both transports.)
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./helpers/homey_runtime');
const { appOnFakeBridge } = require('./helpers/app_on_fake_bridge');

const ACCOUNT = {
  id: 'energy_account.A-5EED0BAD',
  kind: 'energy_account',
  name: 'Octopus account A-5EED0BAD',
  updated_at: '2026-03-10T12:20:00Z',
  state: {
    power_w: 900, balance: 1500, period_cost: 679.58, projected_bill: 2136.54,
    last_reading_at: '2026-03-10T12:15:00Z', telemetry_stale: false, telemetry_stale_since: null,
  },
};
const IMPORT = {
  id: 'import_tariff.1900000000001',
  kind: 'import_tariff',
  name: 'Import tariff',
  updated_at: '2026-03-10T12:20:00Z',
  state: { unit_rate: 12.0, slot_start: '2026-03-10T12:00:00Z', slot_end: '2026-03-10T12:30:00Z' },
};
const EXPORT = {
  id: 'export_tariff.1900000000002',
  kind: 'export_tariff',
  name: 'Export tariff',
  updated_at: '2026-03-10T12:20:00Z',
  state: { unit_rate: 9.4, slot_start: '2026-03-10T12:00:00Z', slot_end: '2026-03-10T12:30:00Z' },
};

async function setup(t) {
  const { bridge, runtime, add } = await appOnFakeBridge(t, [ACCOUNT, IMPORT, EXPORT]);
  const account = await add(ACCOUNT);
  const tariff = await add(IMPORT);
  const exportTariff = await add(EXPORT);
  await waitFor(() => account.getCapabilityValue('measure_monetary.balance') === 15
    && tariff.getCapabilityValue('measure_monetary') === 0.12, { what: 'the opening burst' });
  const { flow } = runtime.homey;
  const cards = {
    card: id => flow.getDeviceTriggerCard(id),
    fired: id => flow.getDeviceTriggerCard(id).triggered,
    tokens: id => flow.getDeviceTriggerCard(id).triggered.map(([, tokens]) => tokens),
    /** The argument sets of the flows each firing ran, in order. */
    runs: id => flow.getDeviceTriggerCard(id).triggered.map(entry => entry.flowsRun),
    condition: (id, args) => flow.getConditionCard(id).runListener(args),
  };
  return {
    bridge, runtime, account, tariff, exportTariff, cards,
  };
}

/** Sends a state change and resolves once the device has handled it. */
async function change(bridge, device, state) {
  const known = bridge.devices.get(device.bridgeDeviceId);
  known.state = { ...known.state, ...state };
  bridge.send('state', { device_id: device.bridgeDeviceId, state });
  await waitFor(() => Object.entries(state).every(([field, value]) => {
    const cached = device.homey.app.bridge.snapshot(device.bridgeDeviceId).state[field];
    return cached === value;
  }), { what: `${Object.keys(state)} on ${device.bridgeDeviceId}` });
  await device.whenIdle();
}

test('the balance and the bill show in pounds; a flow runs when the balance crosses its amount', async t => {
  const { bridge, account, cards } = await setup(t);
  assert.equal(account.getCapabilityValue('measure_monetary.period_cost'), 6.7958);
  assert.equal(account.getCapabilityValue('measure_monetary.projected_bill'), 21.3654);
  const below10 = { device: account, amount: 10 };
  const below5 = { device: account, amount: 5 };
  const owed20 = { device: account, amount: -20 };
  cards.card('balance_fell_below').argumentValues.push(below10, below5, owed20);

  await change(bridge, account, { balance: 800 }); // £15 → £8: below £10
  await change(bridge, account, { balance: 300 }); // £8 → £3: below £5
  await change(bridge, account, { balance: 1200 }); // a payment: up, nothing crossed downwards
  await change(bridge, account, { balance: -2350 }); // a bill: owed £23.50

  assert.equal(account.getCapabilityValue('measure_monetary.balance'), -23.5);
  assert.deepEqual(cards.tokens('balance_fell_below'), [
    { balance: 8, previous_balance: 15 },
    { balance: 3, previous_balance: 8 },
    { balance: 12, previous_balance: 3 },
    { balance: -23.5, previous_balance: 12 },
  ]);
  assert.deepEqual(cards.runs('balance_fell_below'), [[below10], [below5], [], [below10, below5, owed20]]);
});

test('a flow runs when the projected bill rises above its amount, not on the way down', async t => {
  const { bridge, account, cards } = await setup(t);
  const above22 = { device: account, amount: 22 };
  cards.card('projected_bill_rose_above').argumentValues.push(above22);
  await change(bridge, account, { projected_bill: 2190 }); // £21.90: not yet
  await change(bridge, account, { projected_bill: 2210.5 }); // £22.105: crossed
  await change(bridge, account, { projected_bill: 2150 }); // down again
  await change(bridge, account, { projected_bill: 2200 }); // exactly £22: not above
  assert.deepEqual(cards.runs('projected_bill_rose_above'), [[], [above22], [], []]);
  assert.deepEqual(cards.tokens('projected_bill_rose_above')[1], { projected_bill: 22.105, previous_projected_bill: 21.9 });
});

test('price thresholds: below a price once per crossing; negative when it goes below zero', async t => {
  const { bridge, tariff, exportTariff, cards } = await setup(t);
  const below5p = { device: tariff, price: 0.05 };
  const below10p = { device: tariff, price: 0.1 };
  cards.card('price_fell_below').argumentValues.push(below5p, below10p);
  for (const pence of [8, 2.5, -1.5, -3, 4, -2]) await change(bridge, tariff, { unit_rate: pence });

  assert.deepEqual(cards.runs('price_fell_below'), [[below10p], [below5p], [], [], [], []]);
  assert.deepEqual(cards.tokens('price_fell_below')[1], { price: 0.025, previous_price: 0.08 });
  // Each crossing of zero, with the prices either side.
  assert.deepEqual(cards.tokens('price_turned_negative'), [
    { price: -0.015, previous_price: 0.025 },
    { price: -0.02, previous_price: 0.04 },
  ]);
  assert.ok(cards.fired('price_turned_negative').every(([device]) => device === tariff));

  await change(bridge, exportTariff, { unit_rate: -0.5 });
  assert.equal(cards.fired('price_turned_negative').at(-1)[0], exportTariff, 'export tariffs have the card too');
});

test('a silent Home Mini: a warning with the time, a card each way, a condition, all cleared by themselves', async t => {
  const { bridge, account, cards } = await setup(t);
  assert.equal(account.warning, null);
  assert.equal(await cards.condition('home_mini_is_silent', { device: account }), false);

  await change(bridge, account, { telemetry_stale: true, telemetry_stale_since: '2026-03-10T12:30:00Z' });
  assert.equal(account.warning,
    'No reading from the Octopus Home Mini since Tue 12:30. Check that it is plugged in and on Wi-Fi; the warning clears by itself when readings return.');
  assert.deepEqual(cards.tokens('home_mini_silent'), [{ since: '12:30' }]);
  assert.equal(await cards.condition('home_mini_is_silent', { device: account }), true);
  assert.equal(account.getAvailable(), true, 'silent, not unavailable: Octopus still answers');

  await change(bridge, account, {
    telemetry_stale: false, telemetry_stale_since: null, last_reading_at: '2026-03-10T13:20:00Z',
  });
  assert.equal(account.warning, null);
  assert.deepEqual(cards.tokens('home_mini_back'), [{ since: '12:30', reading_at: '13:20' }]);
  assert.equal(cards.fired('home_mini_silent').length, 1);
  assert.equal(await cards.condition('home_mini_is_silent', { device: account }), false);
});

test('a device added while the Home Mini is silent shows the warning at once, without a card', async t => {
  const { runtime, add } = await appOnFakeBridge(t, [{
    ...ACCOUNT, state: { ...ACCOUNT.state, telemetry_stale: true, telemetry_stale_since: '2026-03-10T12:30:00Z' },
  }]);
  const account = await add(ACCOUNT);
  await waitFor(() => account.warning !== null, { what: 'the warning' });
  assert.match(account.warning, /since Tue 12:30/);
  assert.deepEqual(runtime.homey.flow.getDeviceTriggerCard('home_mini_silent').triggered, [], 'not a change');
});

test('the cheapest and best-paid hours between two times: the bridge answers, the condition says', async t => {
  const { bridge, tariff, exportTariff, cards } = await setup(t);
  bridge.actionAnswers.find_cheapest_window = body => ({
    status: 200,
    body: {
      start: '2026-03-10T14:00:00Z',
      end: '2026-03-10T15:00:00Z',
      average_unit_rate: -2.25,
      includes_now: body.from_time === '13:00',
      range_start: '2026-03-10T13:00:00Z',
      range_end: '2026-03-10T16:00:00Z',
    },
  });
  const args = { device: tariff, duration: 1, from: '13:00', to: '16:00' };
  assert.equal(await cards.condition('in_cheapest_window', args), true);
  assert.deepEqual(bridge.actions.at(-1), {
    deviceId: IMPORT.id,
    action: 'find_cheapest_window',
    body: { duration_minutes: 60, from_time: '13:00', to_time: '16:00' },
  });
  assert.equal(await cards.condition('in_cheapest_window', { ...args, from: '15:00', to: '18:00' }), false);

  assert.equal(await cards.condition('in_best_paid_window', { device: exportTariff, duration: 1.5, from: '13:00', to: '19:00' }), true);
  assert.deepEqual(bridge.actions.at(-1).body, { duration_minutes: 90, from_time: '13:00', to_time: '19:00', highest: true });

  bridge.actionAnswers.find_cheapest_window = { status: 404, body: { detail: 'No 60-minute window between … has known prices yet.' } };
  await assert.rejects(cards.condition('in_cheapest_window', args), { message: 'No 60-minute window between … has known prices yet.' });
});

test('the "Home Mini silent after" setting is the Energy Account\'s and goes to the bridge', async t => {
  const { bridge, account, tariff } = await setup(t);
  await account.onSettings({ newSettings: { telemetry_stale_minutes: 30 }, changedKeys: ['telemetry_stale_minutes'] });
  assert.equal(bridge.settings.telemetry_stale_minutes, 30);
  assert.equal(tariff.getSetting('telemetry_stale_minutes'), undefined, 'a tariff device has no Home Mini');
});
