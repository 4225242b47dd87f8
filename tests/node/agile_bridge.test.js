'use strict';

/*
 * End to end: the real kraken-bridge on tests/scenarios/agile_publication_1600_bst.json (Agile,
 * 15 April 2026, BST so the cards show UTC+1 times), from 15:40 local to just after 17:00:
 * - at 16:00 local tomorrow's prices appear: the Import Tariff device fires "Tomorrow's
 *   prices were published" once, with the day and its lowest, highest and average price
 *   in pounds (the lowest is negative);
 * - two "cheapest window starts" flows are registered on it: the cheapest 1 hour within
 *   the next 3 and the cheapest 2 hours within the next 6. The first fires once, at the
 *   16:30 slot (not at 16:00, and not again at 17:00, which is inside the window it
 *   announced), with 16:30-17:30 and the average £0.10; the second window (20:00) does
 *   not start before the test ends, so it never runs.
 * Speed 240: the simulated 85 minutes take about 21 s.
 * Runs over both transports: HTTP and the Kraken Backend app (helpers/bridge_e2e.js).
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, firedTokens, assertBridgeBefore,
} = require('./helpers/bridge_e2e');
const { SCENARIOS } = require('./helpers/bridge_process');

const SCENARIO = path.join(SCENARIOS, 'agile_publication_1600_bst.json');
const scenario = require(SCENARIO);
const SPEED = 240;
const TOMORROW = { day: '2026-04-16', from: '2026-04-15T23:00:00Z', to: '2026-04-16T23:00:00Z' }; // a London day in BST
const tomorrowPence = scenario.unit_rates['E-1R-AGILE-24-10-01-C']
  .filter(row => row.valid_from >= TOMORROW.from && row.valid_from < TOMORROW.to)
  .map(row => row.value_inc_vat);

eachTransport('Agile: tomorrow\'s prices and the cheapest window, once each', { timeout: 90000 }, async (t, transport) => {
  assert.equal(tomorrowPence.length, 48, 'the scenario has all of tomorrow');
  const { backend, homey, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['import_tariff'],
  });
  const { import_tariff: tariff } = devices;
  await assertBridgeBefore(backend, '2026-04-15T15:00:00Z', 'the 16:00 publication');

  // Two flows use the card on this device, as Homey hands their arguments to the app.
  const cheapestCard = homey.flow.getDeviceTriggerCard('cheapest_window_starts');
  const oneHour = { device: tariff, duration: 1, range: 3 };
  const twoHours = { device: tariff, duration: 2, range: 6 };
  cheapestCard.argumentValues.push(oneHour, twoHours);
  const cheapest = () => cheapestCard.triggered.filter(([device]) => device === tariff);
  const slots = () => firedTokens(homey, 'slot_changed', tariff).map(tokens => tokens.slot_start);

  await t.test('tomorrow\'s prices are published at 16:00', async () => {
    await waitFor(() => tariff.getCapabilityValue('tomorrow_prices_published') === false, { what: 'not yet published' });
    await waitFor(() => firedTokens(homey, 'tomorrow_prices_published', tariff).length > 0, {
      timeoutMs: 20000, what: 'tomorrow_prices_published',
    });
    assert.equal(tariff.getCapabilityValue('tomorrow_prices_published'), true);
    const [published, ...more] = firedTokens(homey, 'tomorrow_prices_published', tariff);
    assert.deepEqual(more, []);
    const averagePence = tomorrowPence.reduce((sum, pence) => sum + pence, 0) / tomorrowPence.length;
    assert.deepEqual({ ...published, average_price: undefined }, {
      day: TOMORROW.day,
      min_price: -0.025,
      max_price: 0.38,
      average_price: undefined,
    });
    assert.ok(Math.abs(published.average_price - averagePence / 100) < 1e-6,
      `average £${published.average_price}, expected ${averagePence / 100}`);
  });

  await t.test('the cheapest hour of the next three starts at 16:30: one trigger, one flow', async () => {
    await waitFor(() => slots().includes('16:00'), { timeoutMs: 10000, what: 'the 16:00 slot' });
    await tariff.whenIdle();
    assert.equal(cheapest().length, 0, 'at 16:00 the cheapest hour starts later');

    await waitFor(() => cheapest().length > 0, { timeoutMs: 15000, what: 'cheapest_window_starts' });
    assert.ok(slots().includes('16:30'));
    // At 17:00 the rest of the window is again the cheapest start: it was announced already.
    await waitFor(() => slots().includes('17:00'), { timeoutMs: 15000, what: 'the 17:00 slot' });
    await tariff.whenIdle();
    const fired = cheapest();
    assert.equal(fired.length, 1, 'fired once');
    const [[, tokens, state]] = fired;
    assert.deepEqual(tokens, { start: '16:30', end: '17:30', average_price: 0.1 });
    assert.deepEqual(fired[0].flowsRun, [oneHour], 'only the 1-hour flow runs; the 2-hour window starts at 20:00');
    assert.deepEqual(state, { key: '1h/3h' });
    assert.equal(tariff.getCapabilityValue('measure_monetary'), 0.105, 'the 17:00 slot\'s price');
  });
});
