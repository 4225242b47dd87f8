'use strict';

/*
 * End to end: the real bridge on tests/scenarios/agile_balance_owed_home_mini_silent.json
 * (Agile import and Agile Outgoing export on 10 March 2026, GMT), from 11:45 to just
 * after 14:00, over both transports (HTTP and the Kraken Backend app):
 * - the Energy Account shows the balance (£15.00 credit), the bill so far, the projected
 *   bill and this month's figures in pounds; a bill posted at 12:40 shows at the next
 *   hourly account read as £23.50 owed, and "the balance fell below £0" runs once (a
 *   flow at -£30 does not);
 * - "the projected bill rose above" runs once for an amount just above the bill shown
 *   at pairing (the bill grows with the day's use);
 * - the Home Mini sends nothing from 12:30 to 13:20 while Octopus keeps answering: 15
 *   minutes on (the default setting) the device warns "since Tue 12:30", "went silent"
 *   fires with 12:30 and the condition says so; when readings return the warning clears
 *   by itself and "is back" fires with 12:30 and 13:20;
 * - the import price falls 12p, 11p, 8p, 2.5p, -1.5p, -3p: "fell below £0.10" runs at
 *   13:00, "fell below £0.05" at 13:30, "turned negative" once at 14:00;
 * - conditions the bridge answers: at 12:xx the export tariff's best-paid hour between
 *   12:00 and 15:00 is now, between 15:00 and 19:00 it is not; at 14:xx the import
 *   tariff's cheapest hour between 13:00 and 16:00 is now (14:00-15:00, below zero),
 *   between 15:00 and 18:00 and between 12:00 and 14:00 (over for today) it is not.
 * Speed 240: the simulated 2 h 20 min take about 35 s.
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, firedTokens, assertBridgeBefore, bridgeGet,
} = require('./helpers/bridge_e2e');
const { SCENARIOS } = require('./helpers/bridge_process');

const SCENARIO = path.join(SCENARIOS, 'agile_balance_owed_home_mini_silent.json');
const scenario = require(SCENARIO);
const SPEED = 240;
const ACCOUNT_ID = `energy_account.${scenario.account.number}`;
const SIM_MINUTE_MS = 60000 / SPEED;
const within = minutes => ({ timeoutMs: minutes * SIM_MINUTE_MS + 10000 });

eachTransport('Money on the account, price thresholds and a silent Home Mini against the real bridge', { timeout: 150000 }, async (t, transport) => {
  assert.equal(scenario.account.balance, 1500);
  assert.deepEqual(scenario.account.balance_timeline, [{ at: '2026-03-10T12:40:00Z', balance: -2350 }]);
  const { backend, homey, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['energy_account', 'import_tariff', 'export_tariff'],
  });
  const { energy_account: account, import_tariff: tariff, export_tariff: exportTariff } = devices;
  assert.equal(account.getData().id, ACCOUNT_ID);
  await assertBridgeBefore(backend, '2026-03-10T12:00:00Z', 'the first price checked');

  // The flows that use the cards with an amount or a price, as Homey hands their arguments to the app.
  const owedNothing = { device: account, amount: 0 };
  const owed30 = { device: account, amount: -30 };
  homey.flow.getDeviceTriggerCard('balance_fell_below').argumentValues.push(owedNothing, owed30);
  const below10p = { device: tariff, price: 0.1 };
  const below5p = { device: tariff, price: 0.05 };
  homey.flow.getDeviceTriggerCard('price_fell_below').argumentValues.push(below10p, below5p);
  /** The argument sets each firing of `cardId` ran, flattened: one entry per flow run. */
  const flowsRun = cardId => homey.flow.getDeviceTriggerCard(cardId).triggered.flatMap(entry => entry.flowsRun);
  const condition = (cardId, args) => homey.flow.getConditionCard(cardId).runListener(args);

  await t.test('the account shows its money in pounds, as the bridge says it', async () => {
    await waitFor(() => account.getCapabilityValue('measure_monetary.balance') === 15, { what: 'the balance' });
    await waitFor(() => typeof account.getCapabilityValue('measure_monetary.projected_bill') === 'number', { what: 'the projected bill' });
    await account.whenIdle();
    const { state } = await bridgeGet(backend, `/devices/${ACCOUNT_ID}`);
    assert.equal(state.balance, 1500);
    assert.equal(account.getCapabilityValue('measure_monetary.period_cost'), Math.round(state.period_cost * 10000) / 1000000);
    assert.ok(state.import_kwh_today > 10, 'the day so far, read back from the Home Mini');
    // Its history starts today: this month is today so far; nothing for yesterday or the 12 months.
    assert.equal(state.import_kwh_month, state.import_kwh_today);
    assert.equal(account.getCapabilityValue('import_kwh_yesterday'), null);
    assert.equal(account.getCapabilityValue('measure_monetary.bill_12m'), null);
    assert.deepEqual([state.bill_12m_months, state.bill_12m_from, state.bill_12m_to], [0, '2025-03-01', '2026-02-28']);
    assert.equal(state.telemetry_stale, false);
    assert.equal(account.warning, null);
  });

  let above;
  await t.test('the projected bill rises above an amount just above it: the flow runs once', async () => {
    const shown = account.getCapabilityValue('measure_monetary.projected_bill');
    above = { device: account, amount: Math.round((shown + 0.01) * 100) / 100 };
    homey.flow.getDeviceTriggerCard('projected_bill_rose_above').argumentValues.push(above);
    await waitFor(() => flowsRun('projected_bill_rose_above').length > 0, { ...within(20), what: 'the projected bill above £' + above.amount });
    const fired = homey.flow.getDeviceTriggerCard('projected_bill_rose_above').triggered.find(entry => entry.flowsRun.length);
    const { projected_bill: now, previous_projected_bill: before } = fired[1];
    assert.ok(before <= above.amount && now > above.amount, `from £${before} to £${now} across £${above.amount}`);
  });

  await t.test('at 12:xx the export tariff\'s best-paid hour between 12:00 and 15:00 is now', async () => {
    await waitFor(() => tariff.getCapabilityValue('measure_monetary') === 0.12, { ...within(20), what: 'the 12:00 slot' });
    assert.equal(await condition('in_best_paid_window', { device: exportTariff, duration: 1, from: '12:00', to: '15:00' }), true);
    assert.equal(await condition('in_best_paid_window', { device: exportTariff, duration: 1, from: '15:00', to: '19:00' }), false);
    const { now } = await bridgeGet(backend, '/timeline');
    assert.ok(now < '2026-03-10T13:00:00Z', `asked at ${now}, inside 12:00-13:00`);
  });

  await t.test('the Home Mini goes silent at 12:30: a warning since 12:30, a card, a condition', async () => {
    await waitFor(() => account.warning !== null, { ...within(30), what: 'the Home Mini warning' });
    await account.whenIdle();
    assert.equal(account.warning,
      'No reading from the Octopus Home Mini since Tue 12:30. Check that it is plugged in and on Wi-Fi; the warning clears by itself when readings return.');
    assert.deepEqual(firedTokens(homey, 'home_mini_silent', account), [{ since: '12:30' }]);
    assert.equal(await condition('home_mini_is_silent', { device: account }), true);
    assert.equal(account.getAvailable(), true, 'Octopus still answers: the device stays available');
  });

  await t.test('the bill posted at 12:40 shows at the next account read: below £0 runs once', async () => {
    await waitFor(() => account.getCapabilityValue('measure_monetary.balance') === -23.5, { ...within(30), what: 'the balance owed' });
    await account.whenIdle();
    assert.deepEqual(firedTokens(homey, 'balance_fell_below', account), [{ balance: -23.5, previous_balance: 15 }]);
    assert.deepEqual(flowsRun('balance_fell_below'), [owedNothing]);
  });

  await t.test('readings return at 13:20: the warning clears by itself and "is back" fires', async () => {
    await waitFor(() => account.warning === null, { ...within(45), what: 'the warning to clear' });
    await account.whenIdle();
    assert.deepEqual(firedTokens(homey, 'home_mini_back', account), [{ since: '12:30', reading_at: '13:20' }]);
    assert.equal(await condition('home_mini_is_silent', { device: account }), false);
  });

  await t.test('the price falls below £0.10, then £0.05, then zero: each flow once', async () => {
    await waitFor(() => firedTokens(homey, 'price_turned_negative', tariff).length > 0, { ...within(50), what: 'the price below zero' });
    await tariff.whenIdle();
    assert.deepEqual(firedTokens(homey, 'price_turned_negative', tariff), [{ price: -0.015, previous_price: 0.025 }]);
    assert.deepEqual(flowsRun('price_fell_below'), [below10p, below5p]);
    const crossings = homey.flow.getDeviceTriggerCard('price_fell_below').triggered
      .filter(entry => entry.flowsRun.length).map(([, tokens]) => tokens);
    assert.deepEqual(crossings, [{ price: 0.08, previous_price: 0.11 }, { price: 0.025, previous_price: 0.08 }]);
  });

  await t.test('at 14:xx the cheapest hour between 13:00 and 16:00 is now; other ranges not', async () => {
    assert.equal(await condition('in_cheapest_window', { device: tariff, duration: 1, from: '13:00', to: '16:00' }), true);
    assert.equal(await condition('in_cheapest_window', { device: tariff, duration: 1, from: '15:00', to: '18:00' }), false);
    assert.equal(await condition('in_cheapest_window', { device: tariff, duration: 1, from: '12:00', to: '14:00' }), false);
    const { now } = await bridgeGet(backend, '/timeline');
    assert.ok(now >= '2026-03-10T14:00:00Z' && now < '2026-03-10T15:00:00Z', `asked at ${now}, inside 14:00-15:00`);
  });

  await t.test('by now each card ran its flows once', async () => {
    await Promise.all([account.whenIdle(), tariff.whenIdle()]);
    assert.deepEqual(flowsRun('balance_fell_below'), [owedNothing]);
    assert.deepEqual(flowsRun('projected_bill_rose_above'), [above]);
    assert.equal(firedTokens(homey, 'home_mini_silent', account).length, 1);
    assert.equal(firedTokens(homey, 'home_mini_back', account).length, 1);
    assert.equal(firedTokens(homey, 'price_turned_negative', tariff).length, 1);
    assert.deepEqual(flowsRun('price_fell_below'), [below10p, below5p]);
  });
});
