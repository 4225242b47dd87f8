'use strict';

/*
 * End to end: boost triggers from the real kraken-bridge on tests/scenarios/iog_boost_1900_bst.json
 * (a June evening from 18:50 local, BST: the card shows UTC+1 times).
 * 1. Kraken's timeline boosts the car 18:00-18:10Z (BOOSTING with a BOOST dispatch): the
 *    Smart Energy Device fires "A boost charge started", then "... ended", once each, with
 *    start 19:00, end 19:10, type BOOST, 10 minutes.
 * 2. A boost asked from Homey (the boost action card) makes the simulator boost for an
 *    hour: "started" fires once with that BOOST window; cancelling it from Homey fires
 *    "ended" once with the same window.
 * Runs over both transports: HTTP and the Kraken Backend app (helpers/bridge_e2e.js).
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, firedTokens, londonTime, assertBridgeBefore, sleep,
} = require('./helpers/bridge_e2e');
const { SCENARIOS } = require('./helpers/bridge_process');

const SCENARIO = path.join(SCENARIOS, 'iog_boost_1900_bst.json');
const SPEED = 120; // two simulated minutes a second

eachTransport('boost started and ended fire once each, from Kraken and from Homey', { timeout: 90000 }, async (t, transport) => {
  const { backend, runtime, homey, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['smart_energy_device', 'import_tariff'],
  });
  const car = devices.smart_energy_device;
  const tariff = devices.import_tariff;
  await assertBridgeBefore(backend, '2026-06-10T18:00:00Z', 'the boost');
  const started = () => firedTokens(homey, 'boost_started', car);
  const ended = () => firedTokens(homey, 'boost_ended', car);
  const action = (id, args) => homey.flow.getActionCard(id).runListener(args);

  await t.test('Kraken boosts the car 19:00-19:10 local', async () => {
    const appBoost = { start: '19:00', end: '19:10', type: 'BOOST', duration_minutes: 10 };
    await waitFor(() => started().length > 0, { timeoutMs: 20000, what: 'boost_started' });
    await waitFor(() => car.getCapabilityValue('boosting') === true, { what: 'boosting' });
    assert.deepEqual(started(), [appBoost]);
    assert.equal(car.getCapabilityValue('kraken_device_state'), 'Boost charging');
    await waitFor(() => tariff.getCapabilityValue('rate_source') === 'boost', { what: 'the boost rate source' });

    await waitFor(() => ended().length > 0, { timeoutMs: 20000, what: 'boost_ended' });
    await waitFor(() => car.getCapabilityValue('boosting') === false, { what: 'not boosting' });
    assert.deepEqual(ended(), [appBoost]);
    assert.deepEqual(started(), [appBoost], 'started fired once');
    assert.deepEqual(firedTokens(homey, 'dispatch_started', car), [], 'a boost is not a smart dispatch');
  });

  await t.test('a boost asked from Homey starts, and cancelling it ends it', async () => {
    await waitFor(() => car.getCapabilityValue('kraken_device_state') === 'Ready for smart charging', {
      timeoutMs: 10000, what: 'SMART_CONTROL_CAPABLE after the boost',
    });
    assert.equal(await action('boost_charge', { device: car }), true);
    await waitFor(() => started().length === 2, { timeoutMs: 15000, what: 'the second boost_started' });
    const planned = runtime.app.bridge.snapshot(car.bridgeDeviceId).state.planned_dispatches;
    const boost = planned.find(dispatch => dispatch.type === 'BOOST');
    assert.ok(boost, `a BOOST dispatch is planned: ${JSON.stringify(planned)}`);
    const homeyBoost = { start: londonTime(boost.start), end: londonTime(boost.end), type: 'BOOST', duration_minutes: 60 };
    assert.deepEqual(started()[1], homeyBoost);
    assert.equal(car.getCapabilityValue('boosting'), true);

    assert.equal(await action('cancel_boost', { device: car }), true);
    await waitFor(() => ended().length === 2, { timeoutMs: 15000, what: 'the second boost_ended' });
    assert.deepEqual(ended()[1], homeyBoost);
    await waitFor(() => car.getCapabilityValue('boosting') === false, { what: 'not boosting after cancelling' });
    await sleep(1500); // three simulated minutes more: nothing fires twice
    await car.whenIdle();
    assert.equal(started().length, 2);
    assert.equal(ended().length, 2);
  });
});
