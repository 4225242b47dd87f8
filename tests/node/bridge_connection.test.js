'use strict';

/*
 * The shared connection and the base device against a scripted fake bridge: one
 * stream for all devices, per-device delivery, late subscribers, resync, outages,
 * repair. (The real bridge is exercised in import_tariff_bridge.test.js.)
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./helpers/homey_runtime');
const { appOnFakeBridge } = require('./helpers/app_on_fake_bridge');

const IMPORT = {
  id: 'import_tariff.1900000000001',
  kind: 'import_tariff',
  name: 'Import tariff',
  updated_at: '2026-03-10T23:00:00Z',
  state: { unit_rate: 27.83, tariff_unit_rate: 27.83, next_unit_rate: 7.5, slot_end: '2026-03-10T23:30:00Z', rate_source: 'tariff' },
};
const ACCOUNT = {
  id: 'energy_account.A-1',
  kind: 'energy_account',
  name: 'Account',
  updated_at: '2026-03-10T23:00:00Z',
  state: { power_w: 450, import_kwh_total: 100.5, export_kwh_total: 2.25 },
};

function setup(t, { configure = true } = {}) {
  return appOnFakeBridge(t, [IMPORT, ACCOUNT], { configure });
}

const eventsRequests = bridge => bridge.requests.filter(r => r.path === '/api/v1/events').length;

test('one stream serves every device, each gets its own fields', async t => {
  const { bridge, runtime, add } = await setup(t);
  const tariff = await add(IMPORT);
  const account = await add(ACCOUNT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'the opening burst' });
  await waitFor(() => account.getCapabilityValue('meter_power.imported') === 100.5, { what: 'account state' });
  assert.equal(eventsRequests(bridge), 1, 'one event stream for the whole app');

  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 7.5 }, updated_at: '2026-03-10T23:30:00Z' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.075, { what: 'the partial update' });
  await tariff.whenIdle();
  assert.equal(tariff.getCapabilityValue('measure_monetary.next'), 0.075, 'untouched fields keep their value');
  assert.equal(account.getCapabilityValue('measure_power'), 450);
  assert.equal(runtime.app.bridge.snapshot(IMPORT.id).state.unit_rate, 7.5);
});

test('a device added later is current at once, from the cache, without a request', async t => {
  const { bridge, runtime, add } = await setup(t);
  await waitFor(() => runtime.app.bridge.snapshot(ACCOUNT.id), { what: 'the opening burst' });
  const before = bridge.requests.length;
  const account = await add(ACCOUNT);
  await waitFor(() => account.getCapabilityValue('measure_power') === 450, { what: 'cached state' });
  assert.equal(bridge.requests.length, before);
});

test('unsubscribing stops delivery', async t => {
  const { bridge, runtime, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state' });
  await tariff.onDeleted();
  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 1 } });
  await waitFor(() => runtime.app.bridge.snapshot(IMPORT.id).state.unit_rate === 1, { what: 'the event' });
  assert.equal(tariff.getCapabilityValue('measure_monetary'), 0.2783);
});

test('resync re-reads every subscribed device', async t => {
  const { bridge, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state' });
  bridge.devices.get(IMPORT.id).state = { ...IMPORT.state, unit_rate: 12.34 };
  bridge.devices.get(IMPORT.id).updated_at = '2026-03-10T23:45:00Z';
  bridge.send('resync', { reason: 'event log trimmed' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.1234, { what: 'the re-read' });
  assert.ok(bridge.requests.some(r => r.path === `/api/v1/devices/${IMPORT.id}`));
});

test('the bridge\'s own availability and reason reach the device', async t => {
  const { bridge, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state' });
  bridge.send('availability', { device_id: IMPORT.id, available: false, reason: 'No unit rate known for this half-hour yet' });
  await waitFor(() => tariff.getAvailable() === false, { what: 'unavailable' });
  assert.equal(tariff.unavailableMessage, 'No unit rate known for this half-hour yet');
  bridge.send('availability', { device_id: IMPORT.id, available: true, reason: null });
  await waitFor(() => tariff.getAvailable() === true, { what: 'available again' });
});

test('an outage makes every device unavailable; recovery restores and re-reads them', async t => {
  const { bridge, add } = await setup(t);
  const tariff = await add(IMPORT);
  const account = await add(ACCOUNT);
  await waitFor(() => account.getCapabilityValue('measure_power') === 450, { what: 'state' });

  bridge.eventsStatus = 503;
  bridge.dropStreams();
  await waitFor(() => !tariff.getAvailable() && !account.getAvailable(), { what: 'both unavailable' });
  assert.equal(tariff.unavailableMessage, 'The Kraken bridge answered with an error (HTTP 503): not now');

  bridge.devices.get(ACCOUNT.id).state = { ...ACCOUNT.state, power_w: -800 };
  bridge.devices.get(ACCOUNT.id).updated_at = '2026-03-10T23:50:00Z';
  bridge.eventsStatus = 200;
  await waitFor(() => tariff.getAvailable() && account.getAvailable(), { timeoutMs: 5000, what: 'both available' });
  await waitFor(() => account.getCapabilityValue('measure_power') === -800, { what: 'the re-read after recovery' });
});

test('an oversized event drops the stream: devices show why, and come back after the reconnect', async t => {
  const { bridge, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state' });

  const line = `data: ${'z'.repeat(1000)}\n`;
  const opened = bridge.streamsOpened;
  for (const res of bridge.streams) res.write(`id: 99\nevent: state\n${line.repeat(300)}\n`);
  await waitFor(() => tariff.getAvailable() === false, { what: 'unavailable' });
  assert.equal(tariff.unavailableMessage,
    'The Kraken bridge sent an event larger than 256 KB; the app dropped the connection and will reconnect.');

  await waitFor(() => tariff.getAvailable(), { timeoutMs: 5000, what: 'available after the reconnect (about 1 s later)' });
  // The device can be available again (its state re-read) a moment before the new stream
  // is open; an event sent in that moment would reach no stream.
  await waitFor(() => bridge.streamsOpened > opened, { what: 'the new event stream open' });
  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 9 } });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.09, { what: 'live again' });
});

test('a device the bridge no longer has says so', async t => {
  const { runtime } = await setup(t);
  await waitFor(() => runtime.app.bridge.connected, { what: 'connected' });
  const ghost = await runtime.addDevice('import_tariff', { name: 'Old', data: { id: 'import_tariff.gone' } });
  await waitFor(() => ghost.getAvailable() === false, { what: 'unavailable' });
  assert.match(ghost.unavailableMessage, /no longer has this device/);
});

test('before any pairing a device explains what to do; repair connects it', async t => {
  const { bridge, runtime } = await setup(t, { configure: false });
  const tariff = await runtime.addDevice('import_tariff', { name: 'Import', data: { id: IMPORT.id } });
  await waitFor(() => tariff.getAvailable() === false, { what: 'unavailable' });
  assert.match(tariff.unavailableMessage, /Not connected to a Kraken bridge yet/);

  const session = await runtime.repair('import_tariff', tariff);
  await assert.rejects(session.emit('login', { username: 'http://', password: bridge.token }), /is not a bridge address/);
  assert.equal(await session.emit('login', { username: bridge.url, password: bridge.token }), true);
  await waitFor(() => tariff.getAvailable() === true, { what: 'available after repair' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state after repair' });
});

test('a trigger for a card this app version lacks is ignored quietly', async t => {
  const { bridge, runtime, add } = await setup(t);
  const tariff = await add(IMPORT);
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.2783, { what: 'state' });
  bridge.send('trigger', { device_id: IMPORT.id, card: 'price_quadrant_changed', tokens: { quadrant: 0 } });
  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 8 } });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.08, { what: 'the next event' });
  assert.deepEqual(runtime.homey.__errors, []);
});
