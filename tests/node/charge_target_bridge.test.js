'use strict';

/*
 * End to end (issue 15): the car's charge target, ready-by time and smart control on the
 * Smart Energy Device, against the real bridge over both transports
 * (helpers/bridge_e2e.js). tests/scenarios/iog_evening_smart_dispatch.json: a Tuesday
 * evening, the car ready by 07:30 at 80 % on weekdays and 09:00 at 90 % at weekends.
 * The bridge runs at 1x, so its next scheduled read of the car is minutes away: what
 * the tile shows after a change is what the bridge published on Kraken's answer.
 *
 * Each capability is set from the tile (the app's capability listener calls the bridge
 * action), the bridge's own state is read back, a change made in a flow reaches the tile
 * through the bridge's state, and Kraken's refusal is the sentence Homey shows.
 */

const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const { SCENARIOS } = require('./helpers/bridge_process');
const { eachTransport, startPaired, bridgeGet } = require('./helpers/bridge_e2e');

const EVENING = path.join(SCENARIOS, 'iog_evening_smart_dispatch.json');
const CAR = 'smart_energy_device.dev-1';
const SUSPENDED = 'Smart charging suspended'; // locales: device_states.SMART_CONTROL_OFF

/** The evening with Kraken refusing both kinds of change all evening (the schema's codes). */
function refusingScenario(t) {
  const scenario = JSON.parse(fs.readFileSync(EVENING, 'utf8'));
  scenario.faults = [
    ['setDevicePreferences', 'KT-CT-4374'],
    ['updateDeviceSmartControl', 'KT-CT-4358'],
  ].map(([operation, code]) => ({
    from: '2026-03-10T17:50:00Z', to: '2026-03-11T00:00:00Z', operation, error_code: code,
  }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kraken-refusing-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'iog_evening_settings_refused.json');
  fs.writeFileSync(file, JSON.stringify(scenario));
  return file;
}

async function carState(backend) {
  return (await bridgeGet(backend, `/devices/${CAR}`)).state;
}

eachTransport('charge target, ready-by and smart control are set from the tile and read back', { timeout: 120000 }, async (t, transport) => {
  const { backend, homey, devices } = await startPaired(t, {
    transport, scenario: EVENING, speed: 1, kinds: ['smart_energy_device'],
  });
  const car = devices.smart_energy_device;
  const condition = args => homey.flow.getConditionCard('smart_control_is_on').runListener(args);
  const action = (id, args) => homey.flow.getActionCard(id).runListener(args);

  await t.test('the tile shows what Octopus has: the next morning\'s target, smart control on', async () => {
    await waitFor(() => car.getCapabilityValue('charge_target') === 80, { what: 'the charge target from the bridge' });
    assert.equal(car.getCapabilityValue('ready_by'), '07:30');
    assert.equal(car.getCapabilityValue('smart_control'), true);
    assert.equal(await condition({ device: car }), true);
    assert.equal((await carState(backend)).charge_target_same_every_day, false);
  });

  await t.test('the charge target from the tile: each day keeps its ready-by time', async () => {
    await car.setCapabilityFromTile('charge_target', 90);
    const state = await carState(backend);
    assert.deepEqual(
      [state.charge_target_percent, state.ready_by, state.charge_target_same_every_day],
      [90, '07:30', false], // the weekend's 09:00 kept
    );
    await waitFor(() => car.getCapabilityValue('charge_target') === 90, { what: 'the tile at 90 %' });
    assert.equal(car.getCapabilityValue('ready_by'), '07:30');
  });

  await t.test('the ready-by time from the tile: each day keeps its target', async () => {
    await car.setCapabilityFromTile('ready_by', '08:00');
    const state = await carState(backend);
    assert.deepEqual(
      [state.charge_target_percent, state.ready_by, state.charge_target_same_every_day],
      [90, '08:00', true], // every day now 90 % by 08:00
    );
    assert.equal(car.getCapabilityValue('charge_target'), 90);
  });

  await t.test('a change made in a flow reaches the tile through the bridge\'s state', async () => {
    assert.equal(await action('set_charge_target', { device: car, target_percent: 70, ready_by: '06:30' }), true);
    // The bridge published Kraken's answer before it answered the card.
    const state = await carState(backend);
    assert.deepEqual([state.charge_target_percent, state.ready_by], [70, '06:30']);
    await waitFor(() => car.getCapabilityValue('charge_target') === 70 && car.getCapabilityValue('ready_by') === '06:30', {
      what: 'the flow\'s charge target on the tile',
    });
  });

  await t.test('smart control off and on from the tile', async () => {
    await car.setCapabilityFromTile('smart_control', false);
    assert.equal((await carState(backend)).smart_control_enabled, false);
    // Only the bridge's state says the car's state: Octopus's SMART_CONTROL_OFF.
    await waitFor(() => car.getCapabilityValue('kraken_device_state') === SUSPENDED, { what: 'the car suspended' });
    assert.equal(car.getCapabilityValue('smart_control'), false);
    assert.equal(await condition({ device: car }), false);

    await car.setCapabilityFromTile('smart_control', true);
    assert.equal((await carState(backend)).smart_control_enabled, true);
    await waitFor(() => car.getCapabilityValue('kraken_device_state') !== SUSPENDED, { what: 'the car resumed' });
    assert.equal(car.getCapabilityValue('smart_control'), true);
    assert.equal(await condition({ device: car }), true);
  });
});

eachTransport('Kraken refusing a change from the tile is the sentence Homey shows', { timeout: 120000 }, async (t, transport) => {
  const { backend, devices } = await startPaired(t, {
    transport, scenario: refusingScenario(t), speed: 1, kinds: ['smart_energy_device'],
  });
  const car = devices.smart_energy_device;
  await waitFor(() => car.getCapabilityValue('charge_target') === 80, { what: 'the charge target from the bridge' });

  await assert.rejects(car.setCapabilityFromTile('charge_target', 90), {
    message: 'Octopus refused the charge target: An error occurred while trying to set your device preferences.',
  });
  await assert.rejects(car.setCapabilityFromTile('smart_control', false), {
    message: 'Octopus refused the change to smart charging: Unable to suspend device control.',
  });
  assert.equal(car.getCapabilityValue('charge_target'), 80);
  assert.equal(car.getCapabilityValue('smart_control'), true);
  const state = await carState(backend);
  assert.deepEqual([state.charge_target_percent, state.smart_control_enabled], [80, true]);
});
