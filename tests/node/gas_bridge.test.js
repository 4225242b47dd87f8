'use strict';

/*
 * End to end: the real kraken-bridge on tests/scenarios/tracker_dual_fuel_gas_readings.json
 * (Octopus Tracker, electricity and gas, one price a day each, tomorrow's published at
 * 15:00 UTC; the Home Mini's half-hourly gas readings since the day before, a lifetime
 * register of about 12,300 kWh), from 10:00 UTC. Pairs the Gas Tariff and Gas Meter
 * drivers the way a person does and reads through the app what the bridge publishes:
 * - the gas tariff: today's Tracker gas price (5.92p → £0.0592), the standing charge
 *   (31.4p a day → £0.314), the gas tariff code, and no price for tomorrow before it is
 *   published (unknown, not £0);
 * - the gas meter: the same values as the bridge's own state for that device (m³ as
 *   meter_gas, the kWh register, today's kWh, today's cost in pounds), and today's cost
 *   at today's one gas price.
 * Runs over both transports: HTTP and the Kraken Backend app (helpers/bridge_e2e.js).
 */

const assert = require('node:assert/strict');
const path = require('path');
const { waitFor } = require('./helpers/homey_runtime');
const {
  eachTransport, startPaired, assertBridgeBefore, bridgeGet,
} = require('./helpers/bridge_e2e');

const SCENARIO = path.join(__dirname, '..', 'scenarios', 'tracker_dual_fuel_gas_readings.json');
const scenario = require(SCENARIO);
const SPEED = 20;
const [GAS] = scenario.account.gas;
const GAS_TARIFF_ID = `gas_tariff.${GAS.mprn}`;
const GAS_METER_ID = `gas_meter.${GAS.mprn}`;
const rateAt = (rows, iso) => rows.find(row => row.valid_from <= iso && (row.valid_to === null || iso < row.valid_to));
const TODAY_GAS_PENCE = rateAt(scenario.unit_rates[GAS.tariff_code], scenario.start).value_inc_vat; // 5.92p
const GAS_STANDING_PENCE = rateAt(scenario.standing_charges[GAS.tariff_code], scenario.start).value_inc_vat; // 31.4p a day
const TOMORROW_PUBLISHED_AT = '2026-03-10T15:00:00Z';
const close = (a, b, within = 1e-9) => typeof a === 'number' && Math.abs(a - b) < within;

eachTransport('Gas Tariff and Gas Meter end to end against the real bridge (Tracker, dual fuel)', { timeout: 90000 }, async (t, transport) => {
  assert.equal(TODAY_GAS_PENCE, 5.92);
  assert.equal(GAS_STANDING_PENCE, 31.4);
  const { backend, devices } = await startPaired(t, {
    transport, scenario: SCENARIO, speed: SPEED, kinds: ['gas_tariff', 'gas_meter'],
  });
  const { gas_tariff: tariff, gas_meter: meter } = devices;
  assert.equal(tariff.getData().id, GAS_TARIFF_ID);
  assert.equal(meter.getData().id, GAS_METER_ID);
  await assertBridgeBefore(backend, TOMORROW_PUBLISHED_AT, 'tomorrow\'s gas price');

  await t.test('the gas tariff shows today\'s Tracker gas price and standing charge in pounds', async () => {
    await waitFor(() => close(tariff.getCapabilityValue('measure_monetary'), TODAY_GAS_PENCE / 100), {
      timeoutMs: 15000, what: `measure_monetary = £${TODAY_GAS_PENCE / 100}`,
    });
    await tariff.whenIdle();
    assert.ok(close(tariff.getCapabilityValue('measure_monetary.standing_charge'), GAS_STANDING_PENCE / 100));
    assert.equal(tariff.getCapabilityValue('tariff_code'), GAS.tariff_code);
    assert.equal(tariff.getCapabilityValue('tomorrow_prices_published'), false);
    assert.equal(tariff.getCapabilityValue('measure_monetary.tomorrow'), null, 'before it is published tomorrow\'s gas price is unknown');
    assert.equal(tariff.getAvailable(), true, tariff.unavailableMessage);
  });

  await t.test('the gas meter shows the bridge\'s registers and today\'s use and cost', async () => {
    await waitFor(() => typeof meter.getCapabilityValue('meter_gas') === 'number', {
      timeoutMs: 15000, what: 'a gas meter reading (meter_gas)',
    });
    // Readings arrive while we look: compare once the device has what the bridge has.
    const shown = () => ({
      meter_gas: meter.getCapabilityValue('meter_gas'),
      gas_kwh_total: meter.getCapabilityValue('gas_kwh_total'),
      gas_kwh_today: meter.getCapabilityValue('gas_kwh_today'),
      cost_gbp: meter.getCapabilityValue('measure_monetary.gas_cost_today'),
    });
    let state;
    await waitFor(async () => {
      await meter.whenIdle();
      ({ state } = await bridgeGet(backend, `/devices/${encodeURIComponent(GAS_METER_ID)}`));
      const now = shown();
      return now.meter_gas === state.gas_m3_total && now.gas_kwh_total === state.gas_kwh_total
        && now.gas_kwh_today === state.gas_kwh_today && close(now.cost_gbp, state.gas_cost_today / 100, 1e-6);
    }, { timeoutMs: 10000, what: 'the gas meter to show the bridge\'s values' }).catch(error => {
      throw new Error(`${error.message}: the app shows ${JSON.stringify(shown())}, the bridge has ${JSON.stringify(state)}`);
    });
    const first = shown();
    assert.ok(first.gas_kwh_total > 0 && first.meter_gas > 0, JSON.stringify(first));
    assert.ok(first.meter_gas < first.gas_kwh_total, 'a cubic metre of gas holds about 11 kWh');
    // One gas price all day on Tracker: today's cost is today's kWh at that price.
    assert.ok(close(state.gas_cost_today, state.gas_kwh_today * TODAY_GAS_PENCE, 0.01),
      `${state.gas_cost_today}p for ${state.gas_kwh_today} kWh at ${TODAY_GAS_PENCE}p`);

    assert.equal(meter.getAvailable(), true, meter.unavailableMessage);
  });
});
