'use strict';

/*
 * The app's flow cards as tables: which state field change fires which trigger card,
 * how the tokens of the cards the bridge fires are presented, what each condition
 * reads from the cached state, and which bridge action each action card calls.
 * No tariff or dispatch logic: comparisons of two bridge fields at most, units and
 * presentation otherwise. Card ids and tokens: app.json (.homeycompose/flow/ and
 * drivers/{smart_energy_device,energy_account}/driver.flow.compose.json).
 */

const convert = require('./convert');

const TARIFF_KINDS = ['import_tariff', 'export_tariff'];
const pounds = convert.penceToPounds;
const deviceStateTitle = convert.titled('device_states');
const rateSourceTitle = convert.titled('rate_sources');

// Tokens of a type must be present and of that type: unknown numbers are 0, unknown text ''.
const num = value => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = value => (value == null ? '' : String(value));
const known = value => value !== null && value !== undefined;

/*
 * Cards that follow a state field. A row fires its card when `field` changes from one
 * known value to another (the first value a device sees is not a change), with tokens
 * built from the new state (the whole cached state after the change) and the previous
 * values of the changed fields. A row with `state` hands that to the card's run
 * listener (TRIGGER_ARGUMENTS), which holds it against each flow's arguments.
 */
const priceTokens = (state, previous) => ({
  price: num(pounds(state.unit_rate)),
  previous_price: num(pounds(previous.unit_rate)),
});

const tariffStateTriggers = [
  {
    field: 'unit_rate',
    card: 'price_changed',
    when: (state, previous) => known(state.unit_rate) && known(previous.unit_rate),
    tokens: (state, previous, ctx) => ({
      price: num(pounds(state.unit_rate)),
      previous_price: num(pounds(previous.unit_rate)),
      rate_source: str(rateSourceTitle(state.rate_source, ctx)),
    }),
  },
  {
    field: 'price_quadrant',
    card: 'price_quadrant_changed',
    when: (state, previous) => known(state.price_quadrant) && known(previous.price_quadrant),
    tokens: (state, previous) => ({ quadrant: num(state.price_quadrant), previous_quadrant: num(previous.price_quadrant) }),
  },
  {
    field: 'slot_start',
    card: 'slot_changed',
    when: state => known(state.slot_start),
    tokens: (state, previous, ctx) => ({
      slot_start: str(convert.localTime(state.slot_start, ctx)),
      slot_end: str(convert.localTime(state.slot_end, ctx)),
      price: num(pounds(state.unit_rate)),
      quadrant: num(state.price_quadrant),
    }),
  },
  // Price thresholds: fired at every change of the price; each flow's run listener says
  // whether the change crossed its own price (TRIGGER_ARGUMENTS).
  {
    field: 'unit_rate',
    card: 'price_fell_below',
    when: (state, previous) => known(state.unit_rate) && known(previous.unit_rate),
    tokens: priceTokens,
    state: (state, previous) => ({ value: pounds(state.unit_rate), previous: pounds(previous.unit_rate) }),
  },
  {
    field: 'unit_rate',
    card: 'price_turned_negative',
    when: (state, previous) => known(state.unit_rate) && known(previous.unit_rate)
      && previous.unit_rate >= 0 && state.unit_rate < 0,
    tokens: priceTokens,
  },
];

const STATE_TRIGGERS = {
  import_tariff: tariffStateTriggers,
  export_tariff: tariffStateTriggers,
  energy_account: [
    // Money on the account: thresholds held against each flow's amount (TRIGGER_ARGUMENTS).
    {
      field: 'balance',
      card: 'balance_fell_below',
      when: (state, previous) => known(state.balance) && known(previous.balance),
      tokens: (state, previous) => ({
        balance: num(pounds(state.balance)),
        previous_balance: num(pounds(previous.balance)),
      }),
      state: (state, previous) => ({ value: pounds(state.balance), previous: pounds(previous.balance) }),
    },
    {
      field: 'projected_bill',
      card: 'projected_bill_rose_above',
      when: (state, previous) => known(state.projected_bill) && known(previous.projected_bill),
      tokens: (state, previous) => ({
        projected_bill: num(pounds(state.projected_bill)),
        previous_projected_bill: num(pounds(previous.projected_bill)),
      }),
      state: (state, previous) => ({ value: pounds(state.projected_bill), previous: pounds(previous.projected_bill) }),
    },
    // The Home Mini's health: the bridge says when readings are too old (telemetry_stale).
    {
      field: 'telemetry_stale',
      card: 'home_mini_silent',
      when: (state, previous) => state.telemetry_stale === true && previous.telemetry_stale === false,
      tokens: (state, previous, ctx) => ({ since: str(convert.localTime(state.telemetry_stale_since, ctx)) }),
    },
    {
      field: 'telemetry_stale',
      card: 'home_mini_back',
      when: (state, previous) => state.telemetry_stale === false && previous.telemetry_stale === true,
      tokens: (state, previous, ctx) => ({
        since: str(convert.localTime(previous.telemetry_stale_since, ctx)),
        reading_at: str(convert.localTime(state.last_reading_at, ctx)),
      }),
    },
  ],
  gas_tariff: [
    {
      field: 'unit_rate',
      card: 'gas_price_changed',
      when: (state, previous) => known(state.unit_rate) && known(previous.unit_rate),
      tokens: (state, previous) => ({
        price: num(pounds(state.unit_rate)),
        previous_price: num(pounds(previous.unit_rate)),
      }),
    },
  ],
  gas_meter: [],
  smart_energy_device: [
    {
      field: 'device_state',
      card: 'device_state_changed',
      when: state => known(state.device_state),
      tokens: (state, previous, ctx) => ({
        state: str(deviceStateTitle(state.device_state, ctx)),
        state_code: str(state.device_state),
        previous_state: str(deviceStateTitle(previous.device_state, ctx)),
      }),
    },
  ],
};

/* The cards the bridge fires itself (`trigger` events): the bridge's tokens → the card's. */
const dispatchTokens = (tokens, ctx) => ({
  start: str(convert.localTime(tokens.start, ctx)),
  end: str(convert.localTime(tokens.end, ctx)),
  type: str(tokens.type),
  duration_minutes: num(tokens.duration_minutes),
});

/* Octoplus (Energy Account): saving sessions and power-ups, kept apart by the bridge. */
const eventWindow = (tokens, ctx) => ({
  start: str(convert.localDayTime(tokens.start, ctx)),
  end: str(convert.localTime(tokens.end, ctx)),
});
const savingSessionTokens = (tokens, ctx) => ({
  ...eventWindow(tokens, ctx),
  reward: num(tokens.reward_per_kwh),
  joined: tokens.joined === true,
});
const powerUpTokens = (tokens, ctx) => ({
  ...eventWindow(tokens, ctx),
  duration_minutes: num(tokens.duration_minutes),
});

const BRIDGE_TRIGGERS = {
  tomorrow_prices_published: tokens => ({
    day: str(tokens.day),
    min_price: num(pounds(tokens.min_unit_rate)),
    max_price: num(pounds(tokens.max_unit_rate)),
    average_price: num(pounds(tokens.average_unit_rate)),
  }),
  tariff_product_changed: tokens => ({
    previous_product_code: str(tokens.previous_product_code),
    previous_tariff_code: str(tokens.previous_tariff_code),
    product_code: str(tokens.product_code),
    tariff_code: str(tokens.tariff_code),
  }),
  dispatch_started: dispatchTokens,
  dispatch_ended: dispatchTokens,
  dispatch_cancelled: dispatchTokens,
  dispatch_completed: dispatchTokens,
  boost_started: dispatchTokens,
  boost_ended: dispatchTokens,
  dispatch_changed: (tokens, ctx) => ({
    ...dispatchTokens(tokens, ctx),
    previous_start: str(convert.localTime(tokens.previous_start, ctx)),
    previous_end: str(convert.localTime(tokens.previous_end, ctx)),
  }),
  saving_session_announced: savingSessionTokens,
  saving_session_starts_in: savingSessionTokens,
  saving_session_started: savingSessionTokens,
  saving_session_ended: (tokens, ctx) => ({
    ...eventWindow(tokens, ctx),
    joined: tokens.joined === true,
    points: num(tokens.points),
  }),
  saving_session_join_refused: (tokens, ctx) => ({ ...eventWindow(tokens, ctx), reason: str(tokens.reason) }),
  power_up_announced: powerUpTokens,
  power_up_started: powerUpTokens,
  power_up_ended: powerUpTokens,
};

/*
 * Trigger cards with an argument: `matches` is the card's run listener, holding the
 * `state` the device hands the card against each flow's argument.
 * - Bridge triggers: the bridge fires the card at each of the argument's values, and
 *   Homey runs the flows whose argument matches; `state` builds the card's state from
 *   the bridge's tokens. "A saving session starts in N minutes": the bridge owns the
 *   clock and fires at each lead time of the dropdown (5, 10, 15, 30, 60, 120 minutes).
 * - State triggers (STATE_TRIGGERS rows with `state`): the row's {value, previous} in
 *   pounds; a flow runs when the change crossed its own amount.
 */
const fellBelow = (state, limit) => Boolean(state) && state.previous >= limit && state.value < limit;
const roseAbove = (state, limit) => Boolean(state) && state.previous <= limit && state.value > limit;
const TRIGGER_ARGUMENTS = {
  saving_session_starts_in: {
    state: tokens => ({ minutes: Number(tokens.minutes) }),
    matches: (args, state) => Number(args.minutes) === (state && state.minutes),
  },
  price_fell_below: { matches: (args, state) => fellBelow(state, Number(args.price)) },
  balance_fell_below: { matches: (args, state) => fellBelow(state, Number(args.amount)) },
  projected_bill_rose_above: { matches: (args, state) => roseAbove(state, Number(args.amount)) },
};

/* Conditions: read the cached state; `undefined` means the state does not say (an error to the flow). */
const priceBelow = {
  fields: ['unit_rate'],
  test: (state, args) => pounds(state.unit_rate) < Number(args.price),
};
const CONDITIONS = {
  price_below: priceBelow,
  gas_price_below: priceBelow,
  price_quadrant_is: {
    fields: ['price_quadrant'],
    test: (state, args) => state.price_quadrant === Number(args.quadrant),
  },
  cheaper_than_next: {
    fields: ['unit_rate', 'next_unit_rate'],
    test: state => state.unit_rate < state.next_unit_rate,
  },
  rate_source_is: {
    fields: ['rate_source'],
    test: (state, args) => state.rate_source === args.source,
  },
  in_dispatch: {
    fields: ['dispatching'],
    test: state => state.dispatching === true,
  },
  device_state_is: {
    fields: ['device_state'],
    test: (state, args) => state.device_state === args.state,
  },
  smart_control_is_on: {
    fields: ['smart_control_enabled'],
    test: state => state.smart_control_enabled === true,
  },
  home_mini_is_silent: {
    fields: ['telemetry_stale'],
    test: state => state.telemetry_stale === true,
  },
  // Conditions the bridge answers (`ask`: an action and its body); `test` reads its answer.
  in_cheapest_window: {
    fields: [],
    ask: { action: 'find_cheapest_window', body: args => clockWindowQuery(args, false) },
    test: answer => answer.includes_now === true,
  },
  in_best_paid_window: {
    fields: [],
    ask: { action: 'find_cheapest_window', body: args => clockWindowQuery(args, true) },
    test: answer => answer.includes_now === true,
  },
  saving_session_active: {
    fields: ['saving_session_active'],
    test: state => state.saving_session_active === true,
  },
  power_up_active: {
    fields: ['power_up_active'],
    test: state => state.power_up_active === true,
  },
};

/*
 * Cheapest-window cards: the bridge finds the window (find_cheapest_window); the card's
 * arguments are hours. The range ends `range` hours after the current slot's start.
 */
function cheapestWindowQuery(args, state) {
  const query = { duration_minutes: Math.round(Number(args.duration) * 60) };
  const from = Date.parse(state && state.slot_start);
  if (Number.isFinite(from)) query.to = new Date(from + Number(args.range) * 3600000).toISOString().replace('.000Z', 'Z');
  return query;
}

/* Between two clock times (Homey's "time" arguments, HH:MM): the bridge finds the range. */
function clockWindowQuery(args, highest) {
  const query = {
    duration_minutes: Math.round(Number(args.duration) * 60),
    from_time: String(args.from),
    to_time: String(args.to),
  };
  if (highest) query.highest = true;
  return query;
}

const cheapestWindowTokens = (answer, ctx) => ({
  start: str(convert.localTime(answer.start, ctx)),
  end: str(convert.localTime(answer.end, ctx)),
  average_price: num(pounds(answer.average_unit_rate)),
});

/* Actions: card id → the bridge action, its body, and the tokens the card returns (if any). */
const noBody = () => ({});
const ACTIONS = {
  boost_charge: { action: 'boost', body: noBody },
  cancel_boost: { action: 'cancel_boost', body: noBody },
  refresh_dispatches: { action: 'refresh_dispatches', body: noBody },
  plug_in_hint: { action: 'plug_in_hint', body: noBody },
  unplug_hint: { action: 'unplug_hint', body: noBody },
  set_charge_target: {
    action: 'set_charge_target',
    body: args => ({ target_percent: Math.round(Number(args.target_percent)), ready_by: String(args.ready_by) }),
  },
  suspend_smart_control: { action: 'suspend_smart_control', body: noBody },
  resume_smart_control: { action: 'resume_smart_control', body: noBody },
  find_cheapest_window: {
    action: 'find_cheapest_window',
    body: cheapestWindowQuery,
    tokens: cheapestWindowTokens,
  },
  join_saving_session: {
    action: 'join_saving_session',
    body: noBody,
    tokens: (answer, ctx) => ({ ...eventWindow(answer, ctx), reward: num(answer.reward_per_kwh) }),
  },
  spin_wheel: {
    action: 'spin_wheel',
    body: args => ({ fuel: String(args.fuel || 'electricity').toUpperCase() }),
    tokens: answer => ({ prize: num(answer.prize) }),
  },
};

/* Device settings ↔ bridge settings (GET/PUT /settings). */
const SETTINGS = [
  { setting: 'poll_interval', field: 'poll_interval_minutes', toBridge: Number, fromBridge: String },
  { setting: 'allowance_limit', field: 'allowance_limit_minutes', toBridge: Number, fromBridge: Number },
  { setting: 'allowance_day_start', field: 'allowance_day_start', toBridge: String, fromBridge: String },
  // Energy Account only (the devices without them are skipped)
  { setting: 'telemetry_stale_minutes', field: 'telemetry_stale_minutes', toBridge: Number, fromBridge: Number },
  { setting: 'auto_join_saving_sessions', field: 'auto_join_saving_sessions', toBridge: Boolean, fromBridge: Boolean },
];

module.exports = {
  TARIFF_KINDS,
  STATE_TRIGGERS,
  BRIDGE_TRIGGERS,
  TRIGGER_ARGUMENTS,
  CONDITIONS,
  ACTIONS,
  SETTINGS,
  cheapestWindowQuery,
  cheapestWindowTokens,
};
