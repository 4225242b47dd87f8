'use strict';

/*
 * End to end: the real bridge (simulated Kraken) and this app on the fake homey module,
 * over both transports (helpers/bridge_e2e.js): the kraken-bridge in demo mode over
 * HTTP, and the Kraken Backend app through Homey's app API. Pairs the Import Tariff
 * driver, watches the price change at the 23:30 slot boundary, then stops the bridge
 * and expects a readable outage.
 *
 * Each skips when its bridge is missing, except under CI=true, where that fails.
 */

const assert = require('node:assert/strict');
const path = require('path');
const { HomeyRuntime, waitFor } = require('./helpers/homey_runtime');
const { SCENARIOS } = require('./helpers/bridge_process');
const { eachTransport, startBackend } = require('./helpers/bridge_e2e');

const SCENARIO = path.join(SCENARIOS, 'iog_offpeak_starts_2330.json');
const scenario = require(SCENARIO);
const IMPORT_ID = 'import_tariff.1900000000001';
const rateAt = iso => {
  const rows = scenario.unit_rates['E-1R-INTELLI-VAR-24-10-29-C'];
  return rows.find(row => row.valid_from <= iso && iso < row.valid_to).value_inc_vat;
};
const PEAK_GBP = rateAt('2026-03-10T23:29:00Z') / 100; // 27.83p → £0.2783
const OFF_PEAK_GBP = rateAt('2026-03-10T23:30:00Z') / 100; // 7.5p → £0.075
const close = (a, b) => typeof a === 'number' && Math.abs(a - b) < 1e-9;

eachTransport('Import Tariff end to end against the real bridge', { timeout: 90000 }, async (t, transport) => {
  const backend = await startBackend(transport, { scenario: SCENARIO, speed: 20 });
  const runtime = new HomeyRuntime();
  t.after(async () => {
    await runtime.stop();
    await backend.stop();
  });
  backend.install(runtime);
  await runtime.start();

  let device;

  if (transport === 'http') {
    await t.test('pairing refuses a wrong token with a readable message', async () => {
      const session = await runtime.pair('import_tariff');
      await assert.rejects(
        session.emit('login', { username: backend.bridge.url, password: 'not-the-token-0000000000' }),
        err => {
          assert.match(err.message, /refused the token/);
          return true;
        },
      );
      assert.equal(runtime.app.bridge.configured, false, 'a refused login must not be saved');
    });
  }

  await t.test('pairing connects to the bridge and lists the import tariff', async () => {
    const session = await runtime.pair('import_tariff');
    if (transport === 'http') {
      const { bridge } = backend;
      // typed the way a person would: no scheme, trailing slash
      const typed = `${bridge.url.replace(/^http:\/\//, '')}/`;
      assert.equal(await session.emit('login', { username: typed, password: bridge.token }), true);
      assert.equal(runtime.homey.settings.get('bridge_url'), bridge.url);
    } else {
      assert.deepEqual(await session.emit('bridge_choices'), { backendInstalled: true, current: null, repair: false });
      assert.equal(await session.emit('use_backend'), true);
      assert.equal(runtime.homey.settings.get('bridge_transport'), 'homey-app');
    }

    const listed = await session.emit('list_devices');
    assert.deepEqual(listed.map(d => d.data), [{ id: IMPORT_ID }]);
    assert.match(listed[0].name, /INTELLI-VAR-24-10-29/);

    for (const [driverId, count] of [['export_tariff', 1], ['energy_account', 1], ['smart_energy_device', 1]]) {
      const other = await runtime.driver(driverId).listBridgeDevices();
      assert.equal(other.length, count, `${driverId} lists its own kind`);
      assert.ok(other.every(d => d.data.id.startsWith(`${driverId}.`)));
    }

    device = await runtime.addDevice('import_tariff', listed[0]);
  });

  await t.test('the device shows the simulator\'s peak price in pounds', async () => {
    assert.ok(device, 'pairing must have created the device');
    await waitFor(() => close(device.getCapabilityValue('measure_monetary'), PEAK_GBP), {
      timeoutMs: 5000, what: `measure_monetary = ${PEAK_GBP}`,
    });
    await device.whenIdle(); // the rest of that state event
    assert.ok(close(device.getCapabilityValue('measure_monetary.tariff'), PEAK_GBP));
    assert.ok(close(device.getCapabilityValue('measure_monetary.next'), OFF_PEAK_GBP));
    assert.ok(close(device.getCapabilityValue('measure_monetary.standing_charge'), 0.53));
    assert.equal(device.getCapabilityValue('slot_end'), '23:30');
    assert.equal(device.getCapabilityValue('rate_source'), 'tariff');
    assert.equal(device.getCapabilityValue('price_quadrant'), 3);
    assert.equal(device.getAvailable(), true, device.unavailableMessage);
  });

  await t.test('the price drops to off-peak when the 23:30 slot begins', async () => {
    await waitFor(() => close(device.getCapabilityValue('measure_monetary'), OFF_PEAK_GBP), {
      timeoutMs: 30000, what: `measure_monetary = ${OFF_PEAK_GBP} after 23:30`,
    });
    await device.whenIdle();
    assert.equal(device.getCapabilityValue('slot_end'), '00:00');
    assert.equal(device.getCapabilityValue('price_quadrant'), 0);
    assert.equal(device.getAvailable(), true, device.unavailableMessage);
  });

  await t.test('when the bridge stops, the device is unavailable with a readable reason', async () => {
    await backend.pause();
    if (transport === 'homey-app') {
      // Nothing tells another app that an app stopped: the next call finds out (here the
      // price chart widget's; with no call, the event source's next read of /events).
      await assert.rejects(runtime.app.getTimeline(), err => backend.unreachable.test(err.message));
    }
    await waitFor(() => device.getAvailable() === false, { timeoutMs: 15000, what: 'the device to go unavailable' });
    if (transport === 'http') {
      // Caught mid-shutdown a reconnect may see the socket reset ("connection lost"), or
      // a stream that opens and closes ("closed the connection"); the next attempt, a
      // second later, finds nothing listening.
      await waitFor(() => /connection refused/.test(device.unavailableMessage || ''), {
        timeoutMs: 10000, what: 'the reason to become "connection refused"',
      });
    }
    assert.match(device.unavailableMessage, backend.unreachable);
  });
});
