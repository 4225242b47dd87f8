'use strict';

/*
 * Flow cards, settings and pairing discovery against the scripted fake bridge: which
 * state change fires which card with which tokens, the bridge's own cards, no trigger
 * lost or fired twice across a reconnect or a bridge restart, conditions on cached
 * state, actions and their refusals, the cheapest-window trigger, settings, mDNS.
 * (dispatch_bridge.test.js plays the same against the real bridge.)
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./helpers/homey_runtime');
const { appOnFakeBridge } = require('./helpers/app_on_fake_bridge');

const IMPORT = {
  id: 'import_tariff.1900000000001',
  kind: 'import_tariff',
  name: 'Import tariff',
  updated_at: '2026-03-10T22:59:00Z',
  state: {
    unit_rate: 27.83, tariff_unit_rate: 27.83, next_unit_rate: 7.5, price_quadrant: 3, next_price_quadrant: 0,
    rate_source: 'tariff', slot_start: '2026-03-10T22:30:00Z', slot_end: '2026-03-10T23:00:00Z',
  },
};
const CAR = {
  id: 'smart_energy_device.dev-1',
  kind: 'smart_energy_device',
  name: 'Car',
  updated_at: '2026-03-10T22:59:00Z',
  state: { device_state: 'SMART_CONTROL_CAPABLE', dispatching: false, planned_dispatches: [] },
};
const STATE_AT_2300 = {
  unit_rate: 7.5, slot_start: '2026-03-10T23:00:00Z', slot_end: '2026-03-10T23:30:00Z',
  rate_source: 'smart_dispatch', price_quadrant: 0,
};

async function setup(t) {
  const { bridge, runtime, add } = await appOnFakeBridge(t, [IMPORT, CAR]);
  const tariff = await add(IMPORT);
  const car = await add(CAR);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783 && car.getCapabilityValue('dispatching') === false,
    { what: 'the opening burst' });
  const { homey } = runtime;
  const cards = {
    fired: id => homey.flow.getDeviceTriggerCard(id).triggered,
    tokens: id => homey.flow.getDeviceTriggerCard(id).triggered.map(([, tokens]) => tokens),
    condition: (id, args) => homey.flow.getConditionCard(id).runListener(args),
    action: (id, args) => homey.flow.getActionCard(id).runListener(args),
  };
  return { bridge, runtime, tariff, car, cards };
}

const idle = (...devices) => Promise.all(devices.map(device => device.whenIdle()));

test('state changes fire their cards once, with tokens; a first state fires nothing', async t => {
  const { bridge, tariff, car, cards } = await setup(t);
  assert.deepEqual(cards.fired('price_changed'), [], 'the opening burst is not a change');

  bridge.send('state', { device_id: IMPORT.id, state: STATE_AT_2300, updated_at: '2026-03-10T23:00:00Z' });
  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 7.5 }, updated_at: '2026-03-10T23:00:05Z' });
  bridge.send('state', { device_id: CAR.id, state: { device_state: 'BOOSTING' }, updated_at: '2026-03-10T23:00:00Z' });
  bridge.send('state', { device_id: CAR.id, state: { allowance_used_minutes: 3 }, updated_at: '2026-03-10T23:01:00Z' });
  await waitFor(() => car.getCapabilityValue('allowance_used') === 3, { what: 'the last event' });
  await idle(tariff, car);

  assert.deepEqual(cards.tokens('price_changed'), [{ price: 0.075, previous_price: 0.2783, rate_source: 'Smart charge' }]);
  assert.equal(cards.fired('price_changed')[0][0], tariff);
  assert.deepEqual(cards.tokens('price_quadrant_changed'), [{ quadrant: 0, previous_quadrant: 3 }]);
  assert.deepEqual(cards.tokens('slot_changed'), [{ slot_start: '23:00', slot_end: '23:30', price: 0.075, quadrant: 0 }]);
  assert.deepEqual(cards.tokens('device_state_changed'), [{
    state: 'Boost charging', state_code: 'BOOSTING', previous_state: 'Ready for smart charging',
  }]);
  assert.equal(car.getCapabilityValue('kraken_device_state'), 'Boost charging');
});

test('the bridge\'s own cards: tokens in pounds and local times; unknown cards are skipped', async t => {
  const { bridge, runtime, tariff, car, cards } = await setup(t);
  const dispatch = { start: '2026-07-10T23:30:00Z', end: '2026-07-11T01:00:00Z', type: 'SMART', duration_minutes: 90.0 };
  bridge.send('trigger', {
    device_id: IMPORT.id,
    card: 'tomorrow_prices_published',
    tokens: { day: '2026-03-11', min_unit_rate: -2.1, max_unit_rate: 35.07, average_unit_rate: 18.444 },
  });
  bridge.send('trigger', { device_id: CAR.id, card: 'dispatch_changed', tokens: { ...dispatch, previous_start: '', previous_end: '' } });
  bridge.send('trigger', { device_id: CAR.id, card: 'boost_started', tokens: { ...dispatch, type: 'BOOST' } });
  bridge.send('trigger', { device_id: CAR.id, card: 'a_card_from_a_newer_bridge', tokens: {} });
  bridge.send('trigger', { device_id: CAR.id, card: 'boost_ended', tokens: { ...dispatch, type: 'BOOST' } });
  await waitFor(() => cards.fired('boost_ended').length === 1, { what: 'boost_ended' });
  await idle(tariff, car);

  assert.deepEqual(cards.tokens('tomorrow_prices_published'),
    [{ day: '2026-03-11', min_price: -0.021, max_price: 0.3507, average_price: 0.18444 }]);
  // British Summer Time: 23:30Z is 00:30 in London
  assert.deepEqual(cards.tokens('dispatch_changed'),
    [{ start: '00:30', end: '02:00', type: 'SMART', duration_minutes: 90, previous_start: '', previous_end: '' }]);
  assert.deepEqual(cards.tokens('boost_started'), [{ start: '00:30', end: '02:00', type: 'BOOST', duration_minutes: 90 }]);
  assert.deepEqual(runtime.homey.__errors, []);
});

test('a dropped stream resumes with Last-Event-ID: no trigger lost, none fired twice', async t => {
  const { bridge, runtime, car, cards } = await setup(t);
  const dispatch = { start: '2026-03-10T23:00:00Z', end: '2026-03-10T23:10:00Z', type: 'SMART', duration_minutes: 10 };
  bridge.send('trigger', { device_id: CAR.id, card: 'dispatch_started', tokens: dispatch });
  await waitFor(() => cards.fired('dispatch_started').length === 1, { what: 'dispatch_started' });

  bridge.replayOverlap = 5; // a bridge that replays more than was missed
  const opened = bridge.requests.filter(r => r.path === '/api/v1/events').length;
  bridge.dropStreams();
  bridge.send('trigger', { device_id: CAR.id, card: 'dispatch_ended', tokens: dispatch }); // sent while nobody listens
  await waitFor(() => cards.fired('dispatch_ended').length === 1, { what: 'the missed dispatch_ended' });
  const resumed = bridge.requests.filter(r => r.path === '/api/v1/events').slice(opened);
  assert.equal(resumed[0].headers['last-event-id'], String(bridge.nextId - 2), 'resumed after the last event seen');
  await car.whenIdle();
  assert.equal(cards.fired('dispatch_started').length, 1, 'the replayed dispatch_started was dropped');
  assert.ok(runtime.app.bridge.droppedTriggers >= 1);

  bridge.send('trigger', { device_id: CAR.id, card: 'dispatch_completed', tokens: dispatch });
  await waitFor(() => cards.fired('dispatch_completed').length === 1, { what: 'live again' });
});

test('after a bridge restart (resync), changes made meanwhile fire once and new ids count again', async t => {
  const { bridge, tariff, car, cards } = await setup(t);
  for (let i = 0; i < 5; i++) bridge.send('state', { device_id: CAR.id, state: { allowance_used_minutes: i } });
  await waitFor(() => car.getCapabilityValue('allowance_used') === 4, { what: 'events 1-5' });

  // The bridge restarts: its ids begin again and it knows nothing of ours.
  bridge.dropStreams();
  bridge.sent = [];
  bridge.nextId = 1;
  bridge.devices.get(IMPORT.id).state = { ...IMPORT.state, ...STATE_AT_2300 };
  bridge.devices.get(IMPORT.id).updated_at = '2026-03-10T23:00:00Z';
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.075, { what: 'the state after the resync' });
  await tariff.whenIdle();
  assert.equal(cards.fired('price_changed').length, 1, 'the change made during the outage fires once');
  assert.equal(cards.fired('slot_changed').length, 1);

  bridge.send('trigger', { device_id: CAR.id, card: 'boost_started', tokens: { type: 'BOOST' } }); // id 1 again
  await waitFor(() => cards.fired('boost_started').length === 1, { what: 'a new trigger with a low id' });
});

test('conditions read the cached state; an unknown state or a bridge outage is an error in words', async t => {
  const { bridge, runtime, tariff, car, cards } = await setup(t);
  assert.equal(await cards.condition('price_below', { device: tariff, price: 0.3 }), true);
  assert.equal(await cards.condition('price_below', { device: tariff, price: 0.2 }), false);
  assert.equal(await cards.condition('price_quadrant_is', { device: tariff, quadrant: '3' }), true);
  assert.equal(await cards.condition('cheaper_than_next', { device: tariff }), false);
  assert.equal(await cards.condition('rate_source_is', { device: tariff, source: 'tariff' }), true);
  assert.equal(await cards.condition('in_dispatch', { device: car }), false);
  assert.equal(await cards.condition('device_state_is', { device: car, state: 'SMART_CONTROL_CAPABLE' }), true);
  assert.deepEqual(bridge.actions, [], 'conditions ask the bridge nothing');

  bridge.send('state', { device_id: CAR.id, state: { dispatching: null } });
  await waitFor(() => car.getCapabilityValue('dispatching') === null, { what: 'unknown dispatching' });
  await assert.rejects(async () => cards.condition('in_dispatch', { device: car }), /has not told Car/);

  await runtime.app.bridge.stop();
  await bridge.close();
  runtime.app.bridge._status = 'down';
  await assert.rejects(async () => cards.condition('price_below', { device: tariff, price: 1 }), /Kraken bridge/);
});

test('actions reach the bridge with their bodies; a refusal is shown in the bridge\'s words', async t => {
  const { bridge, tariff, car, cards } = await setup(t);
  assert.equal(await cards.action('set_charge_target', { device: car, target_percent: 80, ready_by: '07:30' }), true);
  assert.equal(await cards.action('boost_charge', { device: car }), true);
  assert.deepEqual(bridge.actions, [
    { deviceId: CAR.id, action: 'set_charge_target', body: { target_percent: 80, ready_by: '07:30' } },
    { deviceId: CAR.id, action: 'boost', body: {} },
  ]);

  bridge.actionAnswers.boost = {
    status: 409, body: { detail: 'Octopus will not boost now: the car is not plugged in (or the charger is offline).' },
  };
  await assert.rejects(cards.action('boost_charge', { device: car }),
    { message: 'Octopus will not boost now: the car is not plugged in (or the charger is offline).' });
  bridge.actionAnswers.refresh_dispatches = { status: 429, body: { detail: 'Asked less than a minute ago; try again at 23:01.' } };
  await assert.rejects(cards.action('refresh_dispatches', { device: car }), { message: 'Asked less than a minute ago; try again at 23:01.' });

  bridge.actionAnswers.find_cheapest_window = {
    status: 200, body: { start: '2026-03-11T01:00:00Z', end: '2026-03-11T03:00:00Z', average_unit_rate: 7.25 },
  };
  assert.deepEqual(await cards.action('find_cheapest_window', { device: tariff, duration: 2, range: 12 }),
    { start: '01:00', end: '03:00', average_price: 0.0725 });
  assert.deepEqual(bridge.actions.at(-1).body, { duration_minutes: 120, to: '2026-03-11T10:30:00Z' },
    'the range ends 12 h after the current slot starts');
  bridge.actionAnswers.find_cheapest_window = { status: 404, body: { detail: 'No 120-minute window has prices yet.' } };
  await assert.rejects(cards.action('find_cheapest_window', { device: tariff, duration: 2, range: 1 }),
    { message: 'No 120-minute window has prices yet.' });
});

test('the cheapest window trigger fires when the window the bridge finds starts now, once per window', async t => {
  const { bridge, runtime, tariff, cards } = await setup(t);
  const card = runtime.homey.flow.getDeviceTriggerCard('cheapest_window_starts');
  const twoHours = { device: tariff, duration: 2, range: 12 };
  const oneHour = { device: tariff, duration: 1, range: 6 };
  card.argumentValues = [twoHours, oneHour, { device: tariff, duration: 2, range: 12 }];
  // The bridge's answer: the 2 h window starts at 23:00, the 1 h one later.
  bridge.actionAnswers.find_cheapest_window = body => ({
    status: 200,
    body: body.duration_minutes === 120
      ? { start: '2026-03-10T23:00:00Z', end: '2026-03-11T01:00:00Z', average_unit_rate: 7.5 }
      : { start: '2026-03-11T02:00:00Z', end: '2026-03-11T03:00:00Z', average_unit_rate: 6.9 },
  });

  bridge.send('state', { device_id: IMPORT.id, state: STATE_AT_2300 });
  await waitFor(() => cards.fired('cheapest_window_starts').length === 1, { what: 'the 2 h window' });
  await tariff.whenIdle();
  const [[device, tokens, state]] = cards.fired('cheapest_window_starts');
  assert.equal(device, tariff);
  assert.deepEqual(tokens, { start: '23:00', end: '01:00', average_price: 0.075 });
  assert.deepEqual(cards.fired('cheapest_window_starts')[0].flowsRun, [twoHours, card.argumentValues[2]]);
  assert.ok(state.key);
  assert.equal(bridge.actions.filter(a => a.action === 'find_cheapest_window').length, 2, 'one question per argument set');

  bridge.send('state', { device_id: IMPORT.id, state: { slot_start: '2026-03-10T23:30:00Z', slot_end: '2026-03-11T00:00:00Z' } });
  await waitFor(() => cards.fired('slot_changed').length === 2, { what: 'the next slot' });
  await tariff.whenIdle();
  assert.equal(cards.fired('cheapest_window_starts').length, 1, 'still inside the window it announced');
});

/** The bridge's cheapest window for each duration (minutes); a test moves them as time passes. */
function planWindows(bridge, windows) {
  bridge.actionAnswers.find_cheapest_window = body => (windows[body.duration_minutes]
    ? { status: 200, body: { average_unit_rate: 7.5, ...windows[body.duration_minutes] } }
    : { status: 404, body: { detail: 'No window of that length has prices yet.' } });
}

/** The bridge moves `device` to the half-hour starting at `start`; resolves once the shim has handled it. */
async function startSlot(bridge, device, start) {
  const state = { slot_start: start, slot_end: new Date(Date.parse(start) + 1800000).toISOString().replace('.000Z', 'Z') };
  const known = bridge.devices.get(device.bridgeDeviceId);
  known.state = { ...known.state, ...state }; // what a reconnecting app is told (IMPORT.state stays as it is)
  const slots = device.homey.flow.getDeviceTriggerCard('slot_changed').triggered;
  const before = slots.length;
  bridge.send('state', { device_id: device.bridgeDeviceId, state });
  await waitFor(() => slots.length > before, { what: `the ${start} slot` });
  await device.whenIdle();
}

/** Restarts the Homey app; resolves with the tariff device again once the bridge has sent its state. */
async function restartApp(runtime) {
  const [tariff] = await runtime.restart();
  await waitFor(() => runtime.app.bridge.snapshot(IMPORT.id), { what: 'the bridge state after the restart' });
  await tariff.whenIdle();
  return tariff;
}

const STORE_KEY = 'cheapest_windows_fired';

test('the cheapest window trigger remembers its window in the device store: a restart inside it does not fire it again', async t => {
  const opened = await setup(t);
  const { bridge, runtime, cards } = opened;
  let { tariff } = opened;
  const card = runtime.homey.flow.getDeviceTriggerCard('cheapest_window_starts');
  card.argumentValues = [{ device: tariff, duration: 2, range: 12 }];
  const fired = () => cards.tokens('cheapest_window_starts');

  planWindows(bridge, { 120: { start: '2026-03-10T23:00:00Z', end: '2026-03-11T01:00:00Z' } });
  await startSlot(bridge, tariff, '2026-03-10T23:00:00Z');
  assert.deepEqual(fired(), [{ start: '23:00', end: '01:00', average_price: 0.075 }]);
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), { '2h/12h': '2026-03-11T01:00:00Z' }, 'the window is in the store');

  tariff = await restartApp(runtime);
  assert.equal(card.argumentValues[0].device, tariff, 'the flow names the device as it is now');
  // From 23:30 the bridge's cheapest two hours overlap the window already announced.
  planWindows(bridge, { 120: { start: '2026-03-10T23:30:00Z', end: '2026-03-11T01:30:00Z' } });
  await startSlot(bridge, tariff, '2026-03-10T23:30:00Z');
  assert.equal(fired().length, 1, 'the restarted app remembers the window it announced');
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), { '2h/12h': '2026-03-11T01:00:00Z' });

  // 01:00: the window has ended; the next cheapest one starts at 02:00.
  planWindows(bridge, { 120: { start: '2026-03-11T02:00:00Z', end: '2026-03-11T04:00:00Z' } });
  await startSlot(bridge, tariff, '2026-03-11T01:00:00Z');
  assert.equal(fired().length, 1);
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), {}, 'an ended window leaves the store');

  await startSlot(bridge, tariff, '2026-03-11T02:00:00Z');
  assert.deepEqual(fired().at(-1), { start: '02:00', end: '04:00', average_price: 0.075 }, 'a later window fires');
  assert.equal(fired().length, 2);
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), { '2h/12h': '2026-03-11T04:00:00Z' });
  assert.deepEqual(runtime.homey.__errors, []);
});

test('two argument sets on one device fire and are remembered independently, across a restart', async t => {
  const opened = await setup(t);
  const { bridge, runtime, cards } = opened;
  let { tariff } = opened;
  const card = runtime.homey.flow.getDeviceTriggerCard('cheapest_window_starts');
  card.argumentValues = [{ device: tariff, duration: 2, range: 12 }, { device: tariff, duration: 1, range: 6 }];
  const ran = () => card.triggered.map(entry => entry.flowsRun.map(args => `${args.duration}h/${args.range}h`));

  planWindows(bridge, {
    120: { start: '2026-03-10T23:00:00Z', end: '2026-03-11T01:00:00Z' },
    60: { start: '2026-03-10T23:30:00Z', end: '2026-03-11T00:30:00Z' },
  });
  await startSlot(bridge, tariff, '2026-03-10T23:00:00Z');
  assert.deepEqual(ran(), [['2h/12h']]);
  await startSlot(bridge, tariff, '2026-03-10T23:30:00Z');
  assert.deepEqual(ran(), [['2h/12h'], ['1h/6h']], 'the 1 h window fires although the 2 h one is running');
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), { '2h/12h': '2026-03-11T01:00:00Z', '1h/6h': '2026-03-11T00:30:00Z' });

  tariff = await restartApp(runtime);
  // 00:30: the 1 h window has ended and a new one starts; the 2 h window is still running.
  planWindows(bridge, {
    120: { start: '2026-03-11T00:30:00Z', end: '2026-03-11T02:30:00Z' },
    60: { start: '2026-03-11T00:30:00Z', end: '2026-03-11T01:30:00Z' },
  });
  await startSlot(bridge, tariff, '2026-03-11T00:30:00Z');
  assert.deepEqual(ran(), [['2h/12h'], ['1h/6h'], ['1h/6h']]);
  assert.deepEqual(cards.tokens('cheapest_window_starts').at(-1), { start: '00:30', end: '01:30', average_price: 0.075 });
  assert.deepEqual(tariff.getStoreValue(STORE_KEY), { '2h/12h': '2026-03-11T01:00:00Z', '1h/6h': '2026-03-11T01:30:00Z' });
});

test('a device store that cannot be written does not stop the cheapest window trigger; the failure is logged', async t => {
  const { bridge, runtime, tariff, cards } = await setup(t);
  runtime.homey.flow.getDeviceTriggerCard('cheapest_window_starts').argumentValues = [{ device: tariff, duration: 2, range: 12 }];
  tariff.failStoreWrites(new Error('the store is full'));

  planWindows(bridge, { 120: { start: '2026-03-10T23:00:00Z', end: '2026-03-11T01:00:00Z' } });
  await startSlot(bridge, tariff, '2026-03-10T23:00:00Z');
  assert.equal(cards.fired('cheapest_window_starts').length, 1, 'fired all the same');
  assert.equal(tariff.getStoreValue(STORE_KEY), undefined);
  assert.equal(runtime.homey.__errors.length, 1);
  assert.match(runtime.homey.__errors[0], /import_tariff\.1900000000001.*the store is full/);

  planWindows(bridge, { 120: { start: '2026-03-10T23:30:00Z', end: '2026-03-11T01:30:00Z' } });
  await startSlot(bridge, tariff, '2026-03-10T23:30:00Z');
  assert.equal(cards.fired('cheapest_window_starts').length, 1, 'until a restart, the app remembers it anyway');
});

test('a deleted tariff device takes its cheapest windows with it; added again, it starts afresh', async t => {
  const { bridge, runtime, tariff, cards } = await setup(t);
  const card = runtime.homey.flow.getDeviceTriggerCard('cheapest_window_starts');
  card.argumentValues = [{ device: tariff, duration: 2, range: 12 }];
  planWindows(bridge, { 120: { start: '2026-03-10T23:00:00Z', end: '2026-03-11T01:00:00Z' } });
  await startSlot(bridge, tariff, '2026-03-10T23:00:00Z');
  assert.equal(cards.fired('cheapest_window_starts').length, 1);

  await runtime.deleteDevice(tariff);
  const again = await runtime.addDevice(IMPORT.kind, { name: IMPORT.name, data: { id: IMPORT.id } });
  await again.whenIdle();
  assert.equal(again.getStoreValue(STORE_KEY), undefined);
  card.argumentValues = [{ device: again, duration: 2, range: 12 }];
  planWindows(bridge, { 120: { start: '2026-03-10T23:30:00Z', end: '2026-03-11T01:00:00Z' } });
  await startSlot(bridge, again, '2026-03-10T23:30:00Z');
  assert.equal(cards.fired('cheapest_window_starts').length, 2, 'the new device announces its own window');
});

test('settings: a device\'s change goes to the bridge, the others show its answer, a refusal is in words', async t => {
  const { bridge, tariff, car } = await setup(t);
  await waitFor(() => car.getSetting('allowance_day_start') === '12:00', { what: 'the bridge settings on the devices' });
  await tariff.onSettings({
    newSettings: { poll_interval: '3', allowance_limit: 240, allowance_day_start: '04:30' },
    changedKeys: ['poll_interval', 'allowance_limit', 'allowance_day_start'],
  });
  assert.deepEqual(bridge.settings, { poll_interval_minutes: 3, allowance_limit_minutes: 240, allowance_day_start: '04:30' });
  assert.deepEqual(car.getSettings(), { poll_interval: '3', allowance_limit: 240, allowance_day_start: '04:30' });
  await assert.rejects(tariff.onSettings({ newSettings: { poll_interval: '4' }, changedKeys: ['poll_interval'] }),
    { message: 'poll_interval_minutes: Input should be 1, 2, 3 or 5' });
});

test('pairing with an empty address uses the bridge found over mDNS, or says none was found', async t => {
  const { bridge, runtime } = await appOnFakeBridge(t, [IMPORT], { configure: false });
  const session = await runtime.pair('import_tariff');
  await assert.rejects(session.emit('login', { username: '', password: bridge.token }), /No Kraken bridge announced itself/);

  const { port } = new URL(bridge.url);
  runtime.homey.__discoveryResults = {
    'kraken-bridge': { id: 'kraken-bridge', address: '127.0.0.1', port: Number(port), name: 'kraken-bridge', txt: {} },
  };
  assert.equal(await session.emit('login', { username: '  ', password: bridge.token }), true);
  assert.equal(runtime.homey.settings.get('bridge_url'), bridge.url);
  assert.deepEqual((await session.emit('list_devices')).map(d => d.data.id), [IMPORT.id]);
});

test('Octoplus on the Energy Account: "starts in" runs the flows of its minutes; conditions, actions, the auto-join setting', async t => {
  const { bridge, runtime, tariff, cards } = await setup(t);
  const ACCOUNT = {
    id: 'energy_account.A-1234ABCD',
    kind: 'energy_account',
    name: 'Octopus account',
    updated_at: '2026-03-10T16:59:00Z',
    state: { saving_session_active: false, power_up_active: false, next_saving_session_start: '2026-03-10T17:30:00Z' },
  };
  bridge.addDevice(ACCOUNT);
  bridge.settings.auto_join_saving_sessions = false;
  const account = await runtime.addDevice('energy_account', { name: ACCOUNT.name, data: { id: ACCOUNT.id } });
  await waitFor(() => account.getCapabilityValue('next_saving_session_start') === 'Tue 17:30', { what: 'the account state' });
  const startsIn = runtime.homey.flow.getDeviceTriggerCard('saving_session_starts_in');
  const thirty = { device: account, minutes: '30' };
  const five = { device: account, minutes: '5' };
  startsIn.argumentValues.push(thirty, five);

  const session = {
    code: 'EVENT_1', start: '2026-03-10T17:30:00Z', end: '2026-03-10T18:00:00Z', duration_minutes: 30, reward_per_kwh: 1800, joined: true,
  };
  bridge.send('trigger', { device_id: ACCOUNT.id, card: 'saving_session_starts_in', tokens: { minutes: 30, ...session } });
  bridge.send('trigger', { device_id: ACCOUNT.id, card: 'saving_session_starts_in', tokens: { minutes: 15, ...session } });
  bridge.send('trigger', { device_id: ACCOUNT.id, card: 'saving_session_ended', tokens: { ...session, points: null, points_reported: false } });
  bridge.send('state', { device_id: ACCOUNT.id, state: { saving_session_active: true } });
  await waitFor(() => cards.fired('saving_session_ended').length === 1, { what: 'saving_session_ended' });
  await account.whenIdle();

  const fired = cards.fired('saving_session_starts_in');
  assert.deepEqual(fired.map(([, , state]) => state), [{ minutes: 30 }, { minutes: 15 }]);
  assert.deepEqual(fired.map(entry => entry.flowsRun), [[thirty], []], 'only the flow set to 30 minutes runs at 30');
  assert.deepEqual(fired[0][1], { start: 'Tue 17:30', end: '18:00', reward: 1800, joined: true });
  assert.deepEqual(cards.tokens('saving_session_ended'), [{ start: 'Tue 17:30', end: '18:00', joined: true, points: 0 }],
    'points Octopus has not reported are 0');
  assert.equal(await cards.condition('saving_session_active', { device: account }), true);
  assert.equal(await cards.condition('power_up_active', { device: account }), false);

  bridge.actionAnswers.spin_wheel = { status: 200, body: { message: 'The wheel gave 50 OctoPoints.', prize: 50, fuel: 'GAS' } };
  assert.deepEqual(await cards.action('spin_wheel', { device: account, fuel: 'gas' }), { prize: 50 });
  bridge.actionAnswers.join_saving_session = {
    status: 409, body: { detail: 'Octopus refused to join the saving session: The event has already started (KT-GB-5117).' },
  };
  await assert.rejects(cards.action('join_saving_session', { device: account }),
    { message: 'Octopus refused to join the saving session: The event has already started (KT-GB-5117).' });
  assert.deepEqual(bridge.actions.slice(-2), [
    { deviceId: ACCOUNT.id, action: 'spin_wheel', body: { fuel: 'GAS' } },
    { deviceId: ACCOUNT.id, action: 'join_saving_session', body: {} },
  ]);

  await account.onSettings({
    newSettings: { ...account.getSettings(), auto_join_saving_sessions: true },
    changedKeys: ['auto_join_saving_sessions'],
  });
  assert.equal(bridge.settings.auto_join_saving_sessions, true);
  await tariff.onSettings({ newSettings: { ...tariff.getSettings(), poll_interval: '2' }, changedKeys: ['poll_interval'] });
  assert.equal(account.getSetting('poll_interval'), '2', 'the shared settings show on the account too');
  assert.equal(account.getSetting('auto_join_saving_sessions'), true);
  assert.equal('auto_join_saving_sessions' in tariff.getSettings(), false, 'the tariff has no such setting');
  assert.deepEqual(runtime.homey.__errors, []);
});
