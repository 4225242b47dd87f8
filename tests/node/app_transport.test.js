'use strict';

/*
 * The app-API transport end to end inside the app, against a scripted Kraken Backend
 * app (helpers/fake_backend_app.js): pairing and repair choosing between the two
 * transports, events handed over once each across lost pushes, reads that race pushes,
 * outages, restarts and uninstalls. (The real Python app is exercised by the
 * *_bridge.test.js files over both transports.)
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { BridgeConnection } = require('../../homey_shim/bridge_connection');
const { HomeyRuntime, waitFor } = require('./helpers/homey_runtime');
const { createHomey } = require('./helpers/fake_homey');
const { FakeBackendApp } = require('./helpers/fake_backend_app');
const { FakeBridge } = require('./helpers/fake_bridge');

const IMPORT = {
  id: 'import_tariff.1900000000001',
  kind: 'import_tariff',
  name: 'Import tariff',
  updated_at: '2026-03-10T23:00:00Z',
  state: { unit_rate: 27.83, tariff_unit_rate: 27.83, next_unit_rate: 7.5, rate_source: 'tariff' },
};
const CAR = {
  id: 'smart_energy_device.ev-1',
  kind: 'smart_energy_device',
  name: 'Car',
  updated_at: '2026-03-10T23:00:00Z',
  state: { device_state: 'SMART_CONTROL_CAPABLE', dispatching: false, boosting: false, planned_dispatches: [] },
};
const BOOST = { start: '2026-03-10T23:00:00Z', end: '2026-03-10T23:10:00Z', type: 'BOOST', energy_kwh: 2 };

async function setup(t, { installed = true, configured = true } = {}) {
  const backend = new FakeBackendApp({ firstId: 500 });
  backend.addDevice(IMPORT);
  backend.addDevice(CAR);
  backend.apiApp.installed = installed;
  const runtime = new HomeyRuntime();
  backend.installOn(runtime.homey);
  if (configured) runtime.homey.settings.set('bridge_transport', 'homey-app');
  t.after(() => runtime.stop());
  await runtime.start();
  const add = device => runtime.addDevice(device.kind, { name: device.name, data: { id: device.id } });
  return { backend, runtime, add };
}

const boostsStarted = (runtime, car) => runtime.homey.flow.getDeviceTriggerCard('boost_started').triggered
  .filter(([device]) => device === car);
const triggerBoost = (backend, opts) => backend.publish('trigger', {
  device_id: CAR.id, card: 'boost_started', tokens: BOOST,
}, opts);

test('pairing: the Kraken Backend app is offered when installed, and its devices are listed', async t => {
  const { backend, runtime } = await setup(t, { configured: false });
  const session = await runtime.pair('import_tariff');
  assert.deepEqual(await session.emit('bridge_choices'), { backendInstalled: true, current: null, repair: false });
  assert.equal(await session.emit('use_backend'), true);
  assert.equal(runtime.homey.settings.get('bridge_transport'), 'homey-app');
  assert.equal(runtime.homey.settings.get('bridge_token'), null, 'the app API needs no token');
  assert.deepEqual(await session.emit('list_devices'), [{ name: IMPORT.name, data: { id: IMPORT.id } }]);
  assert.deepEqual(await (await runtime.pair('smart_energy_device')).emit('list_devices'), [{ name: CAR.name, data: { id: CAR.id } }]);
  assert.deepEqual(await session.emit('bridge_choices'), { backendInstalled: true, current: 'homey-app', repair: false });

  const tariff = await runtime.addDevice('import_tariff', { name: IMPORT.name, data: { id: IMPORT.id } });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'the state from GET /events' });
  assert.deepEqual(backend.eventReads()[0], '/events', 'a fresh start reads every device\'s state');

  backend.accountLinked = false;
  backend.devices.clear();
  await assert.rejects((await runtime.pair('gas_meter')).emit('list_devices'), /has not read an Octopus account yet/);
});

test('pairing: without the Kraken Backend app the view says which app to install', async t => {
  const { runtime } = await setup(t, { installed: false, configured: false });
  const session = await runtime.pair('import_tariff');
  assert.deepEqual(await session.emit('bridge_choices'), { backendInstalled: false, current: null, repair: false });
  await assert.rejects(session.emit('use_backend'), err => {
    assert.equal(err.message, 'The Kraken Backend app is not installed on this Homey. Install the Kraken Backend app from the '
      + 'Homey App Store, enter your Octopus API key in its settings, then pair again.');
    return true;
  });
  assert.equal(runtime.homey.settings.get('bridge_transport'), null, 'nothing saved');
  assert.equal(runtime.app.bridge.configured, false);
});

test('pushes are handed over once each: replays dropped, a lost push read back, pushes during a read kept', async t => {
  const { backend, runtime, add } = await setup(t);
  const car = await add(CAR);
  await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Ready for smart charging', { what: 'first state' });

  const first = triggerBoost(backend);
  await waitFor(() => boostsStarted(runtime, car).length === 1, { what: 'the pushed trigger' });
  backend.apiApp.realtime('trigger', { id: first, data: { device_id: CAR.id, card: 'boost_started', tokens: BOOST } });
  const reads = backend.eventReads().length;
  triggerBoost(backend, { lost: true });
  backend.publish('state', { device_id: CAR.id, state: { boosting: true } }); // its id skips the lost one
  await waitFor(() => boostsStarted(runtime, car).length === 2, { what: 'the lost trigger, read back' });
  await waitFor(() => car.getCapabilityValue('boosting') === true, { what: 'the state after it' });
  assert.equal(backend.eventReads().length, reads + 1, 'one read fills the gap');
  assert.equal(backend.eventReads().at(-1), `/events?after=${first}`);

  // A push that lands while a read is under way (and is in the read's answer too).
  backend.onEventsRead = () => {
    backend.onEventsRead = null;
    triggerBoost(backend);
  };
  triggerBoost(backend, { lost: true });
  triggerBoost(backend); // skips the lost one: a read, during which the next one is pushed
  await waitFor(() => boostsStarted(runtime, car).length === 5, { what: 'three more triggers' });
  await new Promise(resolve => setTimeout(resolve, 100));
  await car.whenIdle();
  assert.equal(boostsStarted(runtime, car).length, 5, 'none twice');
  assert.ok(runtime.app.bridge._stream.droppedEvents >= 2, 'the replays were dropped');
});

test('Homey\'s own pushes are ignored, and a push in the one-argument shape is taken', async t => {
  const { backend, runtime, add } = await setup(t);
  const car = await add(CAR);
  await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Ready for smart charging', { what: 'first state' });
  const reads = backend.eventReads().length;
  backend.apiApp.realtime('settings.set', 'api_key'); // the backend's settings manager
  const id = backend.publish('state', { device_id: CAR.id, state: { boosting: true } }, { lost: true });
  backend.apiApp.emit('realtime', { event: 'state', data: { id, data: { device_id: CAR.id, state: { boosting: true } } } });
  await waitFor(() => car.getCapabilityValue('boosting') === true, { what: 'the one-argument push' });
  assert.equal(backend.eventReads().length, reads, 'no read: Homey\'s settings.set is not a lost bridge event');
});

test('a pushed resync (the app dropped pushes to a slow Homey) is a read: each dropped trigger fires once', async t => {
  const { backend, runtime, add } = await setup(t);
  const car = await add(CAR);
  await waitFor(() => car.getAvailable() && car.getCapabilityValue('boosting') === false, { what: 'up' });
  const seen = triggerBoost(backend);
  await waitFor(() => boostsStarted(runtime, car).length === 1, { what: 'the first trigger' });
  const dropped = triggerBoost(backend, { lost: true }); // the next id: a resync pushed with it must not hide it
  assert.equal(dropped, seen + 1);
  backend.apiApp.realtime('resync', { id: dropped, data: { reason: 'the Homey app fell behind' } });
  await waitFor(() => boostsStarted(runtime, car).length === 2, { what: 'the dropped trigger, read back' });
  assert.equal(backend.eventReads().at(-1), `/events?after=${seen}`);
  await new Promise(resolve => setTimeout(resolve, 100));
  assert.equal(boostsStarted(runtime, car).length, 2);
});

test('the app stops and comes back: unavailable in words, then every missed trigger once', async t => {
  const { backend, runtime, add } = await setup(t);
  const car = await add(CAR);
  const tariff = await add(IMPORT);
  await waitFor(() => car.getAvailable() && tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'up' });
  const before = triggerBoost(backend);
  await waitFor(() => boostsStarted(runtime, car).length === 1, { what: 'the first trigger' });

  backend.apiApp.running = false;
  await assert.rejects(
    runtime.homey.flow.getActionCard('boost_charge').runListener({ device: car }),
    /Kraken Backend app on this Homey is not running/,
  );
  await waitFor(() => !car.getAvailable(), { what: 'unavailable after a failed call' });
  assert.match(car.unavailableMessage, /^The Kraken Backend app on this Homey is not running \(App Not Running: uk\.co\.krakenbridge\.backend\)/);
  triggerBoost(backend); // kept by the app while Homey cannot reach it
  backend.devices.get(IMPORT.id).state = { ...IMPORT.state, unit_rate: 7.5 };
  backend.publish('state', { device_id: IMPORT.id, state: { unit_rate: 7.5 } });

  backend.apiApp.running = true;
  backend.apiApp.emit('install'); // or the next attempt: either reads what was missed
  await waitFor(() => car.getAvailable() && tariff.getAvailable(), { what: 'available again' });
  await waitFor(() => boostsStarted(runtime, car).length === 2, { what: 'the trigger fired while away' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.075, { what: 'the new price' });
  assert.ok(backend.eventReads().includes(`/events?after=${before}`), backend.eventReads().join(' '));
  await new Promise(resolve => setTimeout(resolve, 100));
  assert.equal(boostsStarted(runtime, car).length, 2);
});

test('the app restarts (a new run, old events gone): resync, fresh state, the new run\'s triggers fire', async t => {
  const { backend, runtime, add } = await setup(t);
  const car = await add(CAR);
  await waitFor(() => car.getAvailable() && car.getCapabilityValue('boosting') === false, { what: 'up' });
  for (let i = 0; i < 3; i++) triggerBoost(backend);
  await waitFor(() => boostsStarted(runtime, car).length === 3, { what: 'three triggers' });

  backend.apiApp.running = false;
  await runtime.homey.flow.getActionCard('boost_charge').runListener({ device: car }).catch(() => {});
  await waitFor(() => !car.getAvailable(), { what: 'unavailable' });
  backend.restart({ firstId: 10 }); // lower ids than before: a client that kept counting would drop them
  backend.devices.get(CAR.id).state = { ...CAR.state, boosting: true };
  backend.apiApp.running = true;
  backend.apiApp.emit('install');
  await waitFor(() => car.getAvailable() && car.getCapabilityValue('boosting') === true, { what: 'the resync\'s state' });
  triggerBoost(backend);
  await waitFor(() => boostsStarted(runtime, car).length === 4, { what: 'the new run\'s trigger' });
});

test('uninstalled: unavailable with which app to install; installed again: back', async t => {
  const { backend, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'up' });
  backend.apiApp.installed = false;
  backend.apiApp.emit('uninstall');
  await waitFor(() => !tariff.getAvailable(), { what: 'unavailable' });
  assert.match(tariff.unavailableMessage, /^The Kraken Backend app is not installed on this Homey\. Install the Kraken Backend app/);
  backend.apiApp.installed = true;
  backend.apiApp.emit('install');
  await waitFor(() => tariff.getAvailable(), { what: 'available again' });
});

test('the app starts again on the transport it was paired with; settings and actions go to the backend', async t => {
  const { backend, runtime, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getSetting('poll_interval') === '1', { what: 'the backend\'s settings on the device' });
  await tariff.onSettings({ newSettings: { ...tariff.getSettings(), poll_interval: '3' }, changedKeys: ['poll_interval'] });
  assert.equal(backend.settings.poll_interval_minutes, 3);
  await assert.rejects(tariff.onSettings({ newSettings: { poll_interval: '7' }, changedKeys: ['poll_interval'] }),
    /poll_interval_minutes: Input should be 1, 2, 3 or 5/);
  const [again] = await runtime.restart();
  assert.equal(runtime.app.bridge.transport, 'homey-app');
  await waitFor(() => again.getCapabilityValue('measure_monetary') === 0.2783 && again.getAvailable(), { what: 'back after a restart' });
});

test('repair switches a device from a bridge on the LAN to the Kraken Backend app and back', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  bridge.addDevice({ ...IMPORT, state: { ...IMPORT.state, unit_rate: 30 } });
  const { runtime, add } = await setup(t, { configured: false });
  const login = await runtime.pair('import_tariff');
  assert.equal(await login.emit('login', { username: bridge.url, password: bridge.token }), true);
  assert.equal(runtime.homey.settings.get('bridge_transport'), 'http');
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.3, { what: 'the LAN bridge\'s price' });

  const toApp = await runtime.repair('import_tariff', tariff);
  assert.deepEqual(await toApp.emit('bridge_choices'), { backendInstalled: true, current: 'http', repair: true });
  assert.equal(await toApp.emit('use_backend'), true);
  assert.equal(runtime.app.bridge.transport, 'homey-app');
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'the backend app\'s price' });
  assert.equal(runtime.homey.settings.get('bridge_url'), bridge.url, 'the address stays, for a switch back');

  const back = await runtime.repair('import_tariff', tariff);
  assert.equal((await back.emit('bridge_choices')).current, 'homey-app');
  assert.equal(await back.emit('login', { username: bridge.url, password: bridge.token }), true);
  assert.equal(runtime.app.bridge.transport, 'http');
  assert.equal(runtime.homey.settings.get('bridge_transport'), 'http');
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.3, { what: 'the LAN bridge again' });
});

test('an app that stops without a word is noticed by the next read of /events', async t => {
  const homey = createHomey({ appDir: path.resolve(__dirname, '..', '..') });
  const backend = new FakeBackendApp().installOn(homey);
  backend.addDevice(IMPORT);
  const connection = new BridgeConnection({ homey, stream: { pollIntervalMs: 100, initialDelayMs: 50, random: () => 0 } });
  t.after(async () => {
    await connection.stop();
    homey.__clearTimers();
  });
  await connection.configure({ transport: 'homey-app' });
  await waitFor(() => connection.connected && connection.snapshot(IMPORT.id), { what: 'up' });
  backend.apiApp.running = false; // no event, no failed call: only the poll can tell
  await waitFor(() => !connection.connected, { timeoutMs: 2000, what: 'down' });
  assert.equal(connection.lastError.code, 'backend_not_running');
  backend.apiApp.running = true;
  await waitFor(() => connection.connected, { timeoutMs: 2000, what: 'up again' });
});
