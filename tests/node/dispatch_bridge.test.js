'use strict';

/*
 * End to end: the real kraken-bridge (demo mode, simulated Kraken at 60×) and this app
 * on the fake homey module, through a smart dispatch (tests/scenarios/iog_dispatch_2300.json):
 * pairing lists the four kinds; capabilities follow the 23:00-23:10 SMART dispatch;
 * every trigger the scenario causes fires once with its tokens; conditions read the
 * cached state; every action reaches the bridge (a refused boost reaches the user as
 * Octopus's reason); settings go to the bridge; and after the bridge restarts the
 * devices come back and the new run's triggers are not mistaken for replays.
 *
 * Runs over both transports (helpers/bridge_e2e.js): the kraken-bridge over HTTP, and
 * the Kraken Backend app through Homey's app API. Each skips when its bridge is
 * missing, except under CI=true, where that fails.
 */

const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { HomeyRuntime, waitFor } = require('./helpers/homey_runtime');
const { SCENARIOS } = require('./helpers/bridge_process');
const { eachTransport, startBackend } = require('./helpers/bridge_e2e');

const SCENARIO = path.join(SCENARIOS, 'iog_dispatch_2300.json');
const SPEED = 60; // a simulated minute a second
const IDS = {
  import_tariff: 'import_tariff.1900000000001',
  export_tariff: 'export_tariff.1970000000002',
  energy_account: 'energy_account.A-0E2E0002',
  smart_energy_device: 'smart_energy_device.ev-e2e-1',
};
const PEAK_GBP = 0.2783;
const OFF_PEAK_GBP = 0.075;
const DISPATCH_TOKENS = { start: '23:00', end: '23:10', type: 'SMART', duration_minutes: 10 };

eachTransport('four drivers through a smart dispatch against the real bridge', { timeout: 120000 }, async (t, transport) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kraken-bridge-e2e-'));
  const backend = await startBackend(transport, { scenario: SCENARIO, speed: SPEED, dataDir });
  const runtime = new HomeyRuntime();
  t.after(async () => {
    await runtime.stop();
    await backend.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  backend.install(runtime);
  await runtime.start();
  const { homey } = runtime;

  const devices = {};
  const meterReadings = [];
  const fired = id => homey.flow.getDeviceTriggerCard(id).triggered;
  const firedOn = (id, device) => fired(id).filter(([target]) => target === device);
  const condition = (id, args) => homey.flow.getConditionCard(id).runListener(args);
  const action = (id, args) => homey.flow.getActionCard(id).runListener(args);

  await t.test('pairing: one login, then each driver lists its own kind', async () => {
    const session = await runtime.pair('smart_energy_device');
    await backend.login(session);
    for (const [kind, id] of Object.entries(IDS)) {
      const listed = kind === 'smart_energy_device'
        ? await session.emit('list_devices')
        : await (await runtime.pair(kind)).emit('list_devices');
      assert.deepEqual(listed.map(device => device.data), [{ id }], `${kind} lists exactly its device`);
      devices[kind] = await runtime.addDevice(kind, listed[0]);
    }
    devices.energy_account.on('__capability', (capability, value) => {
      if (capability === 'meter_power.imported') meterReadings.push(value);
    });
  });

  await t.test('before 23:00: peak price, a planned charge, a live meter', async () => {
    const { import_tariff: tariff, smart_energy_device: car, energy_account: account } = devices;
    await waitFor(() => tariff.getCapabilityValue('measure_monetary') === PEAK_GBP, { what: 'the peak price' });
    await waitFor(() => car.getCapabilityValue('planned_dispatch_count') === 2, { what: 'two planned charges' });
    await waitFor(() => account.getCapabilityValue('measure_power') === 450, { what: 'the 450 W demand' });
    assert.equal(car.getCapabilityValue('planned_dispatch_energy'), 16);
    assert.equal(car.getCapabilityValue('next_dispatch_start'), 'Tue 23:00');
    assert.equal(car.getCapabilityValue('kraken_device_state'), 'Ready for smart charging');
    assert.equal(car.getCapabilityValue('dispatching'), false);
    assert.equal(tariff.getCapabilityValue('tariff_code'), 'E-1R-INTELLI-VAR-24-10-29-C');
    assert.equal(devices.export_tariff.getCapabilityValue('measure_monetary'), 0.15);
    assert.equal(await condition('in_dispatch', { device: car }), false);
    assert.equal(await condition('price_below', { device: tariff, price: 0.1 }), false);
    assert.equal(await condition('price_quadrant_is', { device: tariff, quadrant: '3' }), true);
    assert.equal(await condition('cheaper_than_next', { device: tariff }), false);
    for (const device of Object.values(devices)) assert.equal(device.getAvailable(), true, device.unavailableMessage);
  });

  await t.test('at 23:00 the dispatch starts: the whole slot costs off-peak, triggers fire once', async () => {
    const { import_tariff: tariff, smart_energy_device: car } = devices;
    await waitFor(() => firedOn('dispatch_started', car).length > 0, { timeoutMs: 15000, what: 'dispatch_started' });
    await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Smart charging planned or running', {
      what: 'SMART_CONTROL_IN_PROGRESS',
    });
    await waitFor(() => tariff.getCapabilityValue('rate_source') === 'smart_dispatch', { what: 'rate source' });
    await tariff.whenIdle();
    assert.deepEqual(firedOn('dispatch_started', car).map(([, tokens]) => tokens), [DISPATCH_TOKENS]);
    assert.equal(car.getCapabilityValue('dispatching'), true);
    assert.equal(tariff.getCapabilityValue('measure_monetary'), OFF_PEAK_GBP);
    assert.equal(tariff.getCapabilityValue('measure_monetary.tariff'), PEAK_GBP, 'the schedule still says peak');
    assert.equal(tariff.getCapabilityValue('slot_end'), '23:30');

    assert.deepEqual(firedOn('price_changed', tariff).map(([, tokens]) => tokens),
      [{ price: OFF_PEAK_GBP, previous_price: PEAK_GBP, rate_source: 'Smart charge' }]);
    assert.deepEqual(firedOn('price_quadrant_changed', tariff).map(([, tokens]) => tokens),
      [{ quadrant: 0, previous_quadrant: 3 }]);
    assert.deepEqual(firedOn('slot_changed', tariff).map(([, tokens]) => tokens),
      [{ slot_start: '23:00', slot_end: '23:30', price: OFF_PEAK_GBP, quadrant: 0 }]);
    assert.deepEqual(firedOn('device_state_changed', car).map(([, tokens]) => tokens), [{
      state: 'Smart charging planned or running',
      state_code: 'SMART_CONTROL_IN_PROGRESS',
      previous_state: 'Ready for smart charging',
    }]);
    assert.equal(firedOn('slot_changed', devices.export_tariff).length, 1, 'the export meter has slots too');
    assert.equal(firedOn('price_changed', devices.export_tariff).length, 0, 'the flat export price did not change');

    assert.equal(await condition('in_dispatch', { device: car }), true);
    assert.equal(await condition('rate_source_is', { device: tariff, source: 'smart_dispatch' }), true);
    assert.equal(await condition('price_below', { device: tariff, price: 0.1 }), true);
    assert.equal(await condition('device_state_is', { device: car, state: 'SMART_CONTROL_IN_PROGRESS' }), true);
  });

  await t.test('at 23:10 it ends and completes; at 23:12 the car is unplugged', async () => {
    const car = devices.smart_energy_device;
    await waitFor(() => firedOn('dispatch_completed', car).length > 0, { timeoutMs: 20000, what: 'dispatch_completed' });
    assert.deepEqual(firedOn('dispatch_ended', car).map(([, tokens]) => tokens), [DISPATCH_TOKENS]);
    assert.deepEqual(firedOn('dispatch_completed', car).map(([, tokens]) => tokens), [DISPATCH_TOKENS]);
    assert.equal(car.getCapabilityValue('dispatching'), false);
    await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Not available for smart charging', {
      timeoutMs: 10000, what: 'SMART_CONTROL_NOT_AVAILABLE',
    });
    await waitFor(() => firedOn('dispatch_cancelled', car).length > 0, { what: 'the night charge no longer counts' });
    assert.deepEqual(firedOn('dispatch_cancelled', car).map(([, tokens]) => tokens),
      [{ start: '00:00', end: '02:00', type: 'SMART', duration_minutes: 120 }]);
    assert.equal(firedOn('dispatch_started', car).length, 1, 'no trigger fired twice');
    assert.equal(firedOn('device_state_changed', car).length, 3);
    assert.equal(car.getCapabilityValue('planned_dispatch_count'), 0);
  });

  await t.test('a refused boost reaches the user as Octopus\'s reason', async () => {
    await assert.rejects(action('boost_charge', { device: devices.smart_energy_device }), err => {
      assert.match(err.message, /not plugged in/);
      assert.doesNotMatch(err.message, /HTTP|409/);
      return true;
    });
  });

  await t.test('every other action reaches the bridge', async () => {
    const car = devices.smart_energy_device;
    for (const id of ['refresh_dispatches', 'plug_in_hint', 'unplug_hint', 'cancel_boost']) {
      assert.equal(await action(id, { device: car }), true, id);
    }
    assert.equal(await action('set_charge_target', { device: car, target_percent: 80, ready_by: '07:30' }), true);
    await assert.rejects(action('refresh_dispatches', { device: car }), /minute|again/i, 'asked again too soon: refused in words');

    assert.equal(await action('suspend_smart_control', { device: car }), true);
    await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Smart charging suspended', {
      timeoutMs: 15000, what: 'SMART_CONTROL_OFF after suspending',
    });
    assert.equal(await action('resume_smart_control', { device: car }), true);

    const window = await action('find_cheapest_window', { device: devices.import_tariff, duration: 2, range: 12 });
    assert.match(window.start, /^\d\d:\d\d$/);
    assert.match(window.end, /^\d\d:\d\d$/);
    assert.equal(window.average_price, OFF_PEAK_GBP);
  });

  await t.test('settings go to the bridge and show on every device', async () => {
    const tariff = devices.import_tariff;
    await waitFor(() => tariff.getSetting('poll_interval') === '1', { what: 'the bridge settings on the devices' });
    await tariff.onSettings({ newSettings: { ...tariff.getSettings(), poll_interval: '2' }, changedKeys: ['poll_interval'] });
    const answer = await runtime.app.bridge.client.getSettings();
    assert.equal(answer.poll_interval_minutes, 2);
    for (const device of Object.values(devices)) {
      if (device !== tariff) assert.equal(device.getSetting('poll_interval'), '2', device.getName());
    }
    await assert.rejects(
      tariff.onSettings({ newSettings: { allowance_limit: 5000 }, changedKeys: ['allowance_limit'] }),
      /allowance_limit_minutes/,
    );
  });

  await t.test('the grid meter only ever rises', () => {
    assert.ok(meterReadings.length >= 3, `readings: ${meterReadings}`);
    for (let i = 1; i < meterReadings.length; i++) assert.ok(meterReadings[i] >= meterReadings[i - 1], `${meterReadings}`);
  });

  await t.test('the bridge restarts: devices go unavailable, come back, the new run\'s triggers fire', async () => {
    const car = devices.smart_energy_device;
    await backend.pause();
    if (transport === 'homey-app') {
      // Nothing tells another app that an app stopped: the next call finds out (or,
      // with no call, the event source's next read of /events).
      await assert.rejects(action('refresh_dispatches', { device: car }), err => backend.unreachable.test(err.message));
    }
    await waitFor(() => Object.values(devices).every(device => !device.getAvailable()), {
      timeoutMs: 15000, what: 'every device unavailable',
    });
    // Caught mid-shutdown, a stream may open and close first ("closed the connection").
    await waitFor(() => backend.unreachable.test(car.unavailableMessage || ''), {
      timeoutMs: 10000, what: 'the reason to say the bridge cannot be reached',
    });

    await backend.resume();
    await waitFor(() => Object.values(devices).every(device => device.getAvailable()), {
      timeoutMs: 20000, what: 'every device available again',
    });
    // The simulator starts again at 22:56: the device is back to its plan…
    await waitFor(() => car.getCapabilityValue('planned_dispatch_count') === 2, { timeoutMs: 10000, what: 'the plan again' });
    // …and the new run's dispatch_started (a low event id) is a new trigger, not a replay.
    await waitFor(() => firedOn('dispatch_started', car).length === 2, { timeoutMs: 15000, what: 'the new run\'s dispatch' });
    assert.equal(firedOn('dispatch_ended', car).length, 1);
  });
});
