'use strict';

/*
 * Which bridge state field shows as which capability, per bridge device kind (which is
 * also the driver id). This is the whole of what the drivers know about the state:
 * the bridge decides every value, these rows only change units and presentation.
 * Field names and meanings: docs/bridge-api.md, "State fields".
 */

const convert = require('./convert');

const RATE_SOURCES = ['tariff', 'smart_dispatch', 'boost'];
/* The ready-by times Kraken takes (04:00 to 11:00 in 30-minute steps): the bridge's enum. */
const READY_BY_TIMES = Array.from({ length: 15 }, (_, i) => {
  const minutes = 240 + 30 * i;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${minutes % 60 ? '30' : '00'}`;
});

const tariff = [
  { field: 'unit_rate', capability: 'measure_monetary', convert: convert.penceToPounds },
  { field: 'tariff_unit_rate', capability: 'measure_monetary.tariff', convert: convert.penceToPounds },
  { field: 'next_unit_rate', capability: 'measure_monetary.next', convert: convert.penceToPounds },
  { field: 'standing_charge', capability: 'measure_monetary.standing_charge', convert: convert.penceToPounds },
  { field: 'price_quadrant', capability: 'price_quadrant', convert: convert.integer },
  { field: 'next_price_quadrant', capability: 'price_quadrant.next', convert: convert.integer },
  { field: 'rate_source', capability: 'rate_source', convert: convert.oneOf(RATE_SOURCES) },
  { field: 'slot_end', capability: 'slot_end', convert: convert.localTime },
  { field: 'tomorrow_prices_published', capability: 'tomorrow_prices_published', convert: convert.boolean },
  { field: 'tariff_code', capability: 'tariff_code', convert: convert.text },
];

const STATE_MAPS = {
  import_tariff: tariff,
  export_tariff: tariff,
  energy_account: [
    { field: 'power_w', capability: 'measure_power', convert: convert.number },
    { field: 'import_kwh_total', capability: 'meter_power.imported', convert: convert.number },
    { field: 'export_kwh_total', capability: 'meter_power.exported', convert: convert.number },
    { field: 'import_kwh_today', capability: 'import_kwh_today', convert: convert.number },
    { field: 'export_kwh_today', capability: 'export_kwh_today', convert: convert.number },
    { field: 'import_cost_today', capability: 'measure_monetary.import_cost_today', convert: convert.penceToPounds },
    { field: 'export_value_today', capability: 'measure_monetary.export_value_today', convert: convert.penceToPounds },
    { field: 'tariff_efficiency_today', capability: 'tariff_efficiency', convert: convert.number },
    // Money on the account: the balance (negative: owed), the billing period, earlier days.
    { field: 'balance', capability: 'measure_monetary.balance', convert: convert.penceToPounds },
    { field: 'period_cost', capability: 'measure_monetary.period_cost', convert: convert.penceToPounds },
    { field: 'projected_bill', capability: 'measure_monetary.projected_bill', convert: convert.penceToPounds },
    { field: 'import_kwh_yesterday', capability: 'import_kwh_yesterday', convert: convert.number },
    { field: 'import_cost_yesterday', capability: 'measure_monetary.import_cost_yesterday', convert: convert.penceToPounds },
    { field: 'import_kwh_month', capability: 'import_kwh_month', convert: convert.number },
    { field: 'import_cost_month', capability: 'measure_monetary.import_cost_month', convert: convert.penceToPounds },
    { field: 'bill_12m', capability: 'measure_monetary.bill_12m', convert: convert.penceToPounds },
    { field: 'octoplus_points', capability: 'octoplus_points', convert: convert.integer },
    { field: 'wheel_spins_available', capability: 'wheel_spins_available', convert: convert.integer },
    { field: 'saving_session_active', capability: 'saving_session_active', convert: convert.boolean },
    { field: 'next_saving_session_start', capability: 'next_saving_session_start', convert: convert.localDayTime },
    { field: 'next_saving_session_joined', capability: 'saving_session_joined', convert: convert.boolean },
    { field: 'power_up_active', capability: 'power_up_active', convert: convert.boolean },
    { field: 'next_power_up_start', capability: 'next_power_up_start', convert: convert.localDayTime },
  ],
  smart_energy_device: [
    { field: 'device_state', capability: 'kraken_device_state', convert: convert.titled('device_states') },
    { field: 'dispatches_honoured', capability: 'dispatches_honoured', convert: convert.boolean },
    { field: 'dispatching', capability: 'dispatching', convert: convert.boolean },
    { field: 'boosting', capability: 'boosting', convert: convert.boolean },
    { field: 'planned_dispatch_count', capability: 'planned_dispatch_count', convert: convert.integer },
    { field: 'planned_energy_kwh', capability: 'planned_dispatch_energy', convert: convert.number },
    { field: 'next_dispatch_start', capability: 'next_dispatch_start', convert: convert.localDayTime },
    { field: 'next_dispatch_end', capability: 'next_dispatch_end', convert: convert.localDayTime },
    { field: 'allowance_used_minutes', capability: 'allowance_used', convert: convert.integer },
    { field: 'charge_target_percent', capability: 'charge_target', convert: convert.integer },
    { field: 'ready_by', capability: 'ready_by', convert: convert.oneOf(READY_BY_TIMES) },
    { field: 'smart_control_enabled', capability: 'smart_control', convert: convert.boolean },
  ],
  gas_tariff: [
    { field: 'unit_rate', capability: 'measure_monetary', convert: convert.penceToPounds },
    { field: 'next_unit_rate', capability: 'measure_monetary.next', convert: convert.penceToPounds },
    { field: 'tomorrow_unit_rate', capability: 'measure_monetary.tomorrow', convert: convert.penceToPounds },
    { field: 'standing_charge', capability: 'measure_monetary.standing_charge', convert: convert.penceToPounds },
    { field: 'tomorrow_prices_published', capability: 'tomorrow_prices_published', convert: convert.boolean },
    { field: 'tariff_code', capability: 'tariff_code', convert: convert.text },
  ],
  gas_meter: [
    // meter_gas is Homey's gas meter (m³): the Energy tab's gas figures follow it.
    { field: 'gas_m3_total', capability: 'meter_gas', convert: convert.number },
    { field: 'gas_kwh_total', capability: 'gas_kwh_total', convert: convert.number },
    { field: 'gas_kwh_today', capability: 'gas_kwh_today', convert: convert.number },
    { field: 'gas_cost_today', capability: 'measure_monetary.gas_cost_today', convert: convert.penceToPounds },
  ],
};

/*
 * The state fields no capability shows, each with why (presentation only). Every field
 * of the bridge's state (docs/device-state.schema.json) is either mapped above or listed
 * here, and nothing else is: tests/node/state_maps.test.js holds both tables against the
 * schema, so a field the bridge adds is placed on purpose by whoever maps it.
 */
const tariffUnmapped = {
  slot_start: 'read by the "slot changed" card and the cheapest-window range; slot_end shows the slot',
  product_code: 'tariff_code names the product too; the "tariff changed" card carries both',
  four_rate_ev: 'already applied by the bridge to unit_rate; nothing for a person to act on',
};
const allowanceDetail = {
  allowance_left_minutes: 'follows from allowance_used and the allowance_limit setting',
  allowance_reached: 'allowance_used against the allowance_limit setting shows it; no capability yet',
};

const UNMAPPED_FIELDS = {
  import_tariff: {
    ...tariffUnmapped,
    ...allowanceDetail,
    allowance_used_minutes: 'the Smart Energy Device shows it (allowance_used), where the charging is',
    allowance_limit_minutes: 'the allowance_limit device setting shows and sets it',
    allowance_resets_at: 'the allowance_day_start device setting shows and sets when the day begins',
  },
  export_tariff: tariffUnmapped,
  energy_account: {
    standing_charge_today: 'the tariff device shows the standing charge; no capability for the day\'s yet',
    telemetry_gap_slots_today: 'a data-quality count for the bridge page and diagnostics',
    billing_period_start: 'the billing period is shown on the bridge page; no capability yet',
    billing_period_end: 'the billing period is shown on the bridge page; no capability yet',
    period_import_kwh: 'billing-period figure, shown on the bridge page; no capability yet',
    period_export_kwh: 'billing-period figure, shown on the bridge page; no capability yet',
    period_import_cost: 'billing-period figure, shown on the bridge page; no capability yet',
    period_export_value: 'billing-period figure, shown on the bridge page; no capability yet',
    period_standing_charge: 'billing-period figure, shown on the bridge page; no capability yet',
    off_peak_share_today: 'tariff_efficiency_today (tariff_efficiency) sums up the day',
    tariff_efficiency_month: 'the bridge page charts efficiency by month; the device shows today\'s',
    tariff_efficiency_12m: 'the bridge page charts efficiency by month; the device shows today\'s',
    // Money on the account and the Home Mini's health
    export_kwh_yesterday: 'the device shows the import side of earlier days; today\'s export shows',
    export_value_yesterday: 'the device shows the import side of earlier days; today\'s export shows',
    export_kwh_month: 'the device shows the import side of earlier days; today\'s export shows',
    export_value_month: 'the device shows the import side of earlier days; today\'s export shows',
    bill_12m_months: 'how partial bill_12m is; documented, no capability (the bill shows null before any month)',
    bill_12m_from: 'the 12 months are the calendar months before this one (docs/bridge-api.md)',
    bill_12m_to: 'the 12 months are the calendar months before this one (docs/bridge-api.md)',
    last_reading_at: 'the Home Mini warning names the time while readings are missing (WARNINGS)',
    telemetry_stale: 'shown as the device warning (WARNINGS); the Home Mini cards and condition read it',
    telemetry_stale_since: 'the time in the device warning and the "went silent" card',
    octoplus_enrolled: 'the Octoplus capabilities stay empty outside Octoplus; nothing more to show',
    wheel_spins_electricity: 'wheel_spins_available shows the spins of both fuels; the spin card picks the fuel',
    wheel_spins_gas: 'wheel_spins_available shows the spins of both fuels; the spin card picks the fuel',
    next_saving_session_end: 'the saving session cards carry the end; next_saving_session_start shows when',
    next_saving_session_reward: 'the saving session cards carry the reward (points per kWh); no capability yet',
    next_saving_session_code: 'Kraken\'s event code, for join_saving_session through the bridge API; nothing to show',
    next_power_up_end: 'the power-up cards carry the end; next_power_up_start shows when',
  },
  smart_energy_device: {
    ...allowanceDetail,
    kraken_device_id: 'part of the device\'s bridge id; nothing to show',
    planned_dispatches: 'a list; shown as its count and energy (planned_dispatch_count, planned_energy_kwh)',
    current_dispatch_end: 'the dispatch_started and boost_started cards carry its end; no capability yet',
    ev_unit_rate: 'the import tariff shows the price; no capability for the car\'s own rate yet',
    ev_peak_rate: 'four-rate EV tariffs only, a fixed tariff figure; no capability for it yet',
    ev_off_peak_rate: 'four-rate EV tariffs only, a fixed tariff figure; no capability for it yet',
    charge_target_same_every_day: 'charge_target and ready_by show the next morning\'s; the bridge page and the Octopus app show the week',
  },
  gas_tariff: {
    product_code: tariffUnmapped.product_code,
    next_rate_from: 'gas prices change at most once a day (Tracker: at midnight); no capability for when yet',
  },
  gas_meter: {
    last_reading_at: 'the Home Mini reads gas about every 30 minutes; the values show, no capability for when yet',
    calorific_value: 'the bridge\'s setting behind gas_m3_total (meter_gas); nothing to read from it on the device',
  },
};

/*
 * Device warnings (Device#setWarning) that follow state fields, per kind: `message`
 * gives the warning for the whole state, or null for none (unsetWarning). Presentation
 * only: the bridge decides when (energy_account.telemetry_stale).
 */
const WARNINGS = {
  energy_account: {
    fields: ['telemetry_stale', 'telemetry_stale_since'],
    message: (state, ctx) => (state.telemetry_stale === true
      ? ctx.__('warnings.home_mini_silent', { since: convert.localDayTime(state.telemetry_stale_since, ctx) || '?' })
      : null),
  },
};

/**
 * Capabilities a person sets from the device tile: each change is one bridge action (the
 * bridge checks it and asks Octopus; the state it publishes afterwards sets the tile).
 * `action(value)` names the action, `body(value)` its JSON body.
 */
const SETTABLE_CAPABILITIES = {
  smart_energy_device: {
    charge_target: { action: () => 'set_charge_target', body: value => ({ target_percent: Math.round(Number(value)) }) },
    ready_by: { action: () => 'set_charge_target', body: value => ({ ready_by: String(value) }) },
    smart_control: { action: value => (value ? 'resume_smart_control' : 'suspend_smart_control'), body: () => ({}) },
  },
};

/**
 * Capability values for the fields present in `state` (a partial state changes only
 * its own capabilities).
 * @returns {Array<[string, any]>} [capability, value] pairs
 */
function capabilityValues(stateMap, state, ctx) {
  const values = [];
  for (const row of stateMap) {
    if (!Object.prototype.hasOwnProperty.call(state, row.field)) continue;
    values.push([row.capability, row.convert(state[row.field], ctx)]);
  }
  return values;
}

module.exports = {
  STATE_MAPS, UNMAPPED_FIELDS, RATE_SOURCES, READY_BY_TIMES, WARNINGS, SETTABLE_CAPABILITIES, capabilityValues,
};
