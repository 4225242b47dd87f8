'use strict';

/*
 * End to end: Octoplus on the Energy Account, from the real bridge on
 * tests/scenarios/octoplus_saving_session_evening.json (a March evening, GMT: UK time is
 * UTC). The household is in region 12. Known from the start: its saving session
 * 17:30-18:00 (1800 points/kWh, 240 points to a household that joins), another region's
 * session and an Octopus test event (neither ever counts). At 16:50 Octopus announces a
 * national power-up 18:05-18:15 and a national saving session 19:00-19:30 that refuses
 * joins. 1200 OctoPoints; one spin of the wheel for each fuel, each worth 250.
 *
 * Checked: the capabilities; joining (the card's tokens, then Octopus's reason for a
 * refused join, the card's and the automatic join's); the wheel (its prize as the
 * action's token, then Octopus's reason once no spin is left); every trigger fires once
 * with its tokens ("starts in" runs only the flows whose minutes match); the conditions.
 * Runs over both transports (helpers/bridge_e2e.js).
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, firedTokens, assertBridgeBefore, bridgeGet,
} = require('./helpers/bridge_e2e');
const { SCENARIOS } = require('./helpers/bridge_process');

const SCENARIO = path.join(SCENARIOS, 'octoplus_saving_session_evening.json');
const SPEED = 120; // two simulated minutes a second
const OURS = { start: 'Tue 17:30', end: '18:00', reward: 1800 };
const FULL = { start: 'Tue 19:00', end: '19:30', reward: 1200 };
const POWER_UP = { start: 'Tue 18:05', end: '18:15', duration_minutes: 10 };
const FULL_REASON = /This saving session is full: no more households can join it/;

eachTransport('Octoplus: saving sessions, power-ups and the wheel on the Energy Account', { timeout: 150000 }, async (t, transport) => {
  const { backend, runtime, homey, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['energy_account'],
  });
  const account = devices.energy_account;
  await assertBridgeBefore(backend, '2026-03-10T16:55:00Z', 'the announcements');
  const fired = card => firedTokens(homey, card, account);
  const condition = id => homey.flow.getConditionCard(id).runListener({ device: account });
  const action = (id, args = {}) => homey.flow.getActionCard(id).runListener({ device: account, ...args });
  const startsIn = homey.flow.getDeviceTriggerCard('saving_session_starts_in');
  const thirty = { device: account, minutes: '30' };
  const fifteen = { device: account, minutes: '15' };
  startsIn.argumentValues.push(thirty, fifteen);

  await t.test('the account shows Octoplus; other regions\' sessions and test events never count', async () => {
    await waitFor(() => account.getCapabilityValue('octoplus_points') === 1200, { what: '1200 OctoPoints' });
    assert.equal(account.getCapabilityValue('wheel_spins_available'), 2);
    assert.equal(account.getCapabilityValue('saving_session_active'), false);
    assert.equal(account.getCapabilityValue('next_saving_session_start'), 'Tue 17:30');
    assert.equal(account.getCapabilityValue('saving_session_joined'), false);
    assert.equal(account.getCapabilityValue('power_up_active'), false);
    assert.equal(account.getCapabilityValue('next_power_up_start'), null);
    assert.equal(await condition('saving_session_active'), false);
    assert.equal(await condition('power_up_active'), false);
  });

  await t.test('"join the next saving session" joins ours and answers which it joined', async () => {
    assert.deepEqual(await action('join_saving_session'), OURS);
    await waitFor(() => account.getCapabilityValue('saving_session_joined') === true, { what: 'joined' });
  });

  await t.test('the wheel: the prize as the action\'s token, then Octopus\'s reason', async () => {
    assert.deepEqual(await action('spin_wheel', { fuel: 'electricity' }), { prize: 250 });
    await waitFor(() => account.getCapabilityValue('octoplus_points') === 1450, { what: 'the prize in the balance' });
    assert.equal(account.getCapabilityValue('wheel_spins_available'), 1, 'the gas spin is left');
    await assert.rejects(action('spin_wheel', { fuel: 'electricity' }), err => {
      assert.match(err.message, /no electricity spins left this month/);
      assert.doesNotMatch(err.message, /HTTP|409/);
      return true;
    });
  });

  await t.test('at the next read: the session and the power-up announced at 16:50', async () => {
    await waitFor(() => fired('saving_session_announced').length > 0, { timeoutMs: 20000, what: 'saving_session_announced' });
    await waitFor(() => fired('power_up_announced').length > 0, { what: 'power_up_announced' });
    await account.whenIdle();
    assert.deepEqual(fired('saving_session_announced'), [{ ...FULL, joined: false }]);
    assert.deepEqual(fired('power_up_announced'), [POWER_UP]);
  });

  await t.test('a refused join shows Octopus\'s reason: on the card, and when joining by itself', async () => {
    await assert.rejects(action('join_saving_session'), err => {
      assert.match(err.message, FULL_REASON);
      assert.doesNotMatch(err.message, /HTTP|409/);
      return true;
    });
    await account.onSettings({
      newSettings: { ...account.getSettings(), auto_join_saving_sessions: true },
      changedKeys: ['auto_join_saving_sessions'],
    });
    assert.equal((await bridgeGet(backend, '/settings')).auto_join_saving_sessions, true);
    await waitFor(() => fired('saving_session_join_refused').length > 0, { timeoutMs: 15000, what: 'saving_session_join_refused' });
    const [refused] = fired('saving_session_join_refused');
    assert.equal(refused.start, FULL.start);
    assert.equal(refused.end, FULL.end);
    assert.match(refused.reason, FULL_REASON);
  });

  await t.test('"starts in" fires at its lead times; each flow runs at its own', async () => {
    await waitFor(() => fired('saving_session_starts_in').length >= 5, { timeoutMs: 30000, what: 'the lead times before 17:30' });
    const ran = startsIn.triggered.filter(([target]) => target === account);
    const runs = flow => ran.filter(entry => entry.flowsRun.includes(flow)).map(([, tokens]) => tokens);
    assert.deepEqual(runs(thirty), [{ ...OURS, joined: true }]);
    assert.deepEqual(runs(fifteen), [{ ...OURS, joined: true }]);
    // 17:00: ours (30) and the full one (120); 17:15, 17:20, 17:25: ours (15, 10, 5)
    assert.deepEqual(ran.slice(0, 5).map(([, , state]) => state.minutes).sort((a, b) => a - b), [5, 10, 15, 30, 120]);
  });

  await t.test('17:30-18:00: the session starts and ends, with the points', async () => {
    await waitFor(() => fired('saving_session_started').length > 0, { timeoutMs: 20000, what: 'saving_session_started' });
    await waitFor(() => account.getCapabilityValue('saving_session_active') === true, { what: 'active' });
    assert.deepEqual(fired('saving_session_started'), [{ ...OURS, joined: true }]);
    assert.equal(await condition('saving_session_active'), true);

    await waitFor(() => fired('saving_session_ended').length > 0, { timeoutMs: 30000, what: 'saving_session_ended' });
    assert.deepEqual(fired('saving_session_ended'), [{ start: OURS.start, end: OURS.end, joined: true, points: 240 }]);
    await waitFor(() => account.getCapabilityValue('saving_session_active') === false, { what: 'not active' });
    assert.equal(await condition('saving_session_active'), false);
    assert.equal(account.getCapabilityValue('next_saving_session_start'), 'Tue 19:00');
    assert.equal(account.getCapabilityValue('saving_session_joined'), false);
    await waitFor(() => account.getCapabilityValue('octoplus_points') === 1690, { what: 'the session\'s 240 points' });
  });

  await t.test('18:05-18:15: the power-up, apart from saving sessions', async () => {
    await waitFor(() => fired('power_up_started').length > 0, { timeoutMs: 20000, what: 'power_up_started' });
    await waitFor(() => account.getCapabilityValue('power_up_active') === true, { what: 'power-up active' });
    assert.equal(await condition('power_up_active'), true);
    assert.equal(await condition('saving_session_active'), false, 'a power-up is no saving session');
    await waitFor(() => fired('power_up_ended').length > 0, { timeoutMs: 20000, what: 'power_up_ended' });
    assert.deepEqual(fired('power_up_started'), [POWER_UP]);
    assert.deepEqual(fired('power_up_ended'), [POWER_UP]);
    await waitFor(() => account.getCapabilityValue('power_up_active') === false, { what: 'power-up over' });
    await account.whenIdle();
  });

  await t.test('every trigger fired once', () => {
    for (const card of ['saving_session_announced', 'power_up_announced', 'saving_session_started',
      'saving_session_ended', 'saving_session_join_refused', 'power_up_started', 'power_up_ended']) {
      assert.equal(fired(card).length, 1, card);
    }
    assert.equal(runtime.app.bridge.snapshot(account.bridgeDeviceId).state.next_saving_session_code, 'EVENT_2026_03_10_1900');
  });
});
