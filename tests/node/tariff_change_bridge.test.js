'use strict';

/*
 * End to end: the real kraken-bridge on tests/scenarios/agile_to_iog_1900.json (an account that
 * moves its import meter point from Agile to Intelligent Octopus Go at 19:00, as two
 * successive agreements on one MPAN). The bridge reads the account when it starts (18:05)
 * and again an hour (+ jitter) later, after 19:05; then the Import Tariff device fires "The tariff changed" exactly
 * once with the old and new product and tariff codes, and shows the new tariff's price.
 * Speed 240: the simulated hour takes about 15 s.
 * Runs over both transports: HTTP and the Kraken Backend app (helpers/bridge_e2e.js).
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, firedTokens, assertBridgeBefore, sleep,
} = require('./helpers/bridge_e2e');
const { SCENARIOS } = require('./helpers/bridge_process');

const SCENARIO = path.join(SCENARIOS, 'agile_to_iog_1900.json');
const scenario = require(SCENARIO);
const SPEED = 240;
const [AGILE, IOG] = scenario.account.electricity;
const rateAt = (tariffCode, iso) => scenario.unit_rates[tariffCode]
  .find(row => row.valid_from <= iso && iso < row.valid_to).value_inc_vat;
const AGILE_AT_START_GBP = rateAt(AGILE.tariff_code, scenario.start) / 100; // 32.5p until 19:00
const IOG_PEAK_GBP = rateAt(IOG.tariff_code, '2026-03-10T20:00:00Z') / 100; // 27.83p

eachTransport('the tariff changes from Agile to IOG: one trigger with both products', { timeout: 90000 }, async (t, transport) => {
  const { backend, homey, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['import_tariff'],
  });
  const { import_tariff: tariff } = devices;
  assert.equal(tariff.getData().id, `import_tariff.${AGILE.mpan}`);
  await assertBridgeBefore(backend, AGILE.valid_to, 'the switch to IOG');

  await waitFor(() => tariff.getCapabilityValue('tariff_code') === AGILE.tariff_code, { what: 'the Agile tariff' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === AGILE_AT_START_GBP, { what: 'the Agile price' });
  assert.deepEqual(firedTokens(homey, 'tariff_product_changed', tariff), [], 'no change before the account is read again');

  await waitFor(() => firedTokens(homey, 'tariff_product_changed', tariff).length > 0, {
    timeoutMs: 40000, what: 'tariff_product_changed after the hourly account read',
  });
  await waitFor(() => tariff.getCapabilityValue('tariff_code') === IOG.tariff_code, { what: 'the IOG tariff code' });
  await waitFor(() => tariff.getCapabilityValue('measure_monetary') === IOG_PEAK_GBP, {
    timeoutMs: 15000, what: 'the IOG peak price',
  });
  await sleep(1000); // four simulated minutes more: polls and slot ticks fire nothing twice
  await tariff.whenIdle();
  assert.deepEqual(firedTokens(homey, 'tariff_product_changed', tariff), [{
    previous_product_code: 'AGILE-24-10-01',
    previous_tariff_code: 'E-1R-AGILE-24-10-01-C',
    product_code: 'INTELLI-VAR-24-10-29',
    tariff_code: 'E-1R-INTELLI-VAR-24-10-29-C',
  }]);
  assert.equal(tariff.getAvailable(), true, tariff.unavailableMessage);
  assert.equal(tariff.getCapabilityValue('measure_monetary.standing_charge'), 0.53, 'IOG\'s standing charge');
});
