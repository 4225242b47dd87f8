'use strict';

/*
 * Registers the run listeners of the app's conditions and actions once (app.onInit),
 * from the tables in flow_maps.js, and answers the "cheapest window starts" trigger
 * at each new slot by asking the bridge. Conditions read the shared connection's cached
 * state; actions go to the bridge through its one client. A refusal from the bridge
 * (a 4xx with a `detail` sentence, e.g. Octopus's reason for refusing a boost) is
 * thrown as that sentence, which Homey shows to the person running the flow.
 *
 * The trigger remembers the windows it announced in each tariff device's store
 * (FIRED_WINDOWS_STORE_KEY: argument key "2h/12h" → the window's end as the bridge sent
 * it), so that an app restart inside a window does not announce it again. An entry
 * leaves the store once its window has ended. The store is the device's own
 * (Device#setStoreValue), so a device paired again starts without it.
 */

const {
  CONDITIONS, ACTIONS, TRIGGER_ARGUMENTS, cheapestWindowQuery, cheapestWindowTokens,
} = require('./flow_maps');
const { describeError, BridgeConfigError, BridgeHttpError } = require('./errors');

const CHEAPEST_WINDOW_CARD = 'cheapest_window_starts';
const FIRED_WINDOWS_STORE_KEY = 'cheapest_windows_fired';

class FlowCards {
  /**
   * @param {object} options
   * @param {object} options.homey
   * @param {import('./bridge_connection').BridgeConnection} options.connection
   * @param {(...args: any[]) => void} [options.log]
   * @param {(...args: any[]) => void} [options.error]  for failures a person may need to see
   */
  constructor({ homey, connection, log = () => {}, error = log }) {
    this._homey = homey;
    this._connection = connection;
    this._log = log;
    this._error = error;
    // bridge device id → Map(argument key → end of the window last fired for), so a
    // window fires once even when the next slot also starts "the cheapest window".
    // Read from the device's store the first time, written back on every change; it
    // still serves until a restart when the store cannot be written.
    this._firedWindows = new Map();
  }

  register() {
    const { flow } = this._homey;
    for (const [cardId, condition] of Object.entries(CONDITIONS)) {
      flow.getConditionCard(cardId).registerRunListener(args => this.testCondition(cardId, condition, args));
    }
    for (const [cardId, action] of Object.entries(ACTIONS)) {
      flow.getActionCard(cardId).registerRunListener(args => this.runAction(cardId, action, args));
    }
    flow.getDeviceTriggerCard(CHEAPEST_WINDOW_CARD)
      .registerRunListener((args, state) => windowKey(args) === (state && state.key));
    for (const [cardId, argument] of Object.entries(TRIGGER_ARGUMENTS)) {
      flow.getDeviceTriggerCard(cardId).registerRunListener((args, state) => argument.matches(args, state));
    }
    return this;
  }

  /**
   * A condition's answer: from the cached state, or for a condition the bridge answers
   * (`ask`), from its action's answer; throws a readable reason when neither says.
   */
  testCondition(cardId, condition, args) {
    if (condition.ask) return this._askCondition(cardId, condition, args);
    const device = args.device;
    const state = this._cachedState(device);
    if (condition.fields.some(field => state[field] === null || state[field] === undefined)) {
      throw new Error(this._homey.__('flow.state_unknown', { device: device.getName() }));
    }
    return condition.test(state, args);
  }

  async _askCondition(cardId, condition, args) {
    const answer = await this._call(args.device, condition.ask.action, condition.ask.body(args));
    return condition.test(answer || {});
  }

  /** Calls the card's bridge action; returns the card's tokens, or true. */
  async runAction(cardId, action, args) {
    const device = args.device;
    const state = this._connection.snapshot(device.bridgeDeviceId);
    const answer = await this._call(device, action.action, action.body(args, state ? state.state : {}));
    this._log(`${cardId} on ${device.bridgeDeviceId}: ${(answer && answer.message) || 'done'}`);
    return action.tokens ? action.tokens(answer || {}, this._ctx()) : true;
  }

  /**
   * At a new slot on a tariff device: for each argument set of the cheapest-window
   * trigger on this device, asks the bridge for the window and fires when it starts
   * with this slot, unless that argument set announced a window that has not ended
   * yet. `state` is the device's whole state after the change.
   */
  async onSlotStarted(device, state) {
    const slotStart = Date.parse(state.slot_start);
    const fired = this._firedFor(device);
    let unsaved = dropEnded(fired, slotStart);
    const card = this._homey.flow.getDeviceTriggerCard(CHEAPEST_WINDOW_CARD);
    const argumentSets = await card.getArgumentValues(device);
    const keys = new Map();
    for (const args of argumentSets || []) keys.set(windowKey(args), args);
    for (const [key, args] of keys) {
      if (fired.has(key)) continue; // inside a window already announced
      let answer;
      try {
        answer = await this._call(device, 'find_cheapest_window', cheapestWindowQuery(args, state));
      } catch (err) {
        this._log(`cheapest window (${key}) for ${device.bridgeDeviceId}: ${err.message}`);
        continue;
      }
      if (!answer || Date.parse(answer.start) !== slotStart) continue;
      fired.set(key, answer.end);
      await this._saveFired(device, fired); // before the trigger: a restart just after it must not fire it again
      unsaved = false;
      await card.trigger(device, cheapestWindowTokens(answer, this._ctx()), { key })
        .catch(err => this._log(`trigger ${CHEAPEST_WINDOW_CARD} failed: ${err.message}`));
    }
    if (unsaved) await this._saveFired(device, fired);
  }

  /**
   * Runs a bridge action for `device` (a flow card's or a capability set from the tile);
   * a refusal is thrown as the bridge's own sentence.
   */
  callAction(device, action, body) {
    return this._call(device, action, body);
  }

  /** Forgets a device (deleted): the memory in front of its store. */
  forget(bridgeDeviceId) {
    this._firedWindows.delete(bridgeDeviceId);
  }

  /** The device's announced windows: from memory, or its store after an app restart. */
  _firedFor(device) {
    let fired = this._firedWindows.get(device.bridgeDeviceId);
    if (!fired) {
      fired = new Map();
      const stored = device.getStoreValue(FIRED_WINDOWS_STORE_KEY);
      if (stored && typeof stored === 'object' && !Array.isArray(stored)) {
        for (const [key, end] of Object.entries(stored)) if (typeof end === 'string') fired.set(key, end);
      }
      this._firedWindows.set(device.bridgeDeviceId, fired);
    }
    return fired;
  }

  /** Writes the announced windows to the device's store; a failure is logged, never thrown. */
  async _saveFired(device, fired) {
    try {
      await device.setStoreValue(FIRED_WINDOWS_STORE_KEY, Object.fromEntries(fired));
    } catch (err) {
      this._error(`remembering the cheapest windows of ${device.bridgeDeviceId} failed: ${err.message}`);
    }
  }

  _cachedState(device) {
    const snapshot = this._connection.snapshot(device.bridgeDeviceId);
    if (!this._connection.connected || !snapshot) {
      const why = this._connection.lastError || new BridgeConfigError('not_configured', 'not configured');
      throw new Error(describeError(this._homey, why));
    }
    return snapshot.state;
  }

  async _call(device, action, body) {
    const { client } = this._connection;
    if (!client) throw new Error(describeError(this._homey, new BridgeConfigError('not_configured', 'not configured')));
    try {
      return await client.runAction(device.bridgeDeviceId, action, body);
    } catch (err) {
      throw new Error(refusal(this._homey, err));
    }
  }

  _ctx() {
    return {
      timezone: this._homey.clock.getTimezone(),
      language: this._homey.i18n.getLanguage(),
      __: (key, tokens) => this._homey.__(key, tokens),
    };
  }
}

/** The bridge's own sentence for a refused action; the usual readable error otherwise. */
function refusal(homey, err) {
  if (err instanceof BridgeHttpError && err.code !== 'bad_response' && err.params && err.params.detail) {
    return err.params.detail;
  }
  return describeError(homey, err);
}

function windowKey(args) {
  return `${Number(args.duration)}h/${Number(args.range)}h`;
}

/**
 * Removes the windows that have ended by `slotStart` (ms), and any end that is not a
 * time; returns whether it removed any.
 */
function dropEnded(fired, slotStart) {
  let dropped = false;
  for (const [key, end] of fired) {
    const ends = Date.parse(end);
    if (Number.isNaN(ends) || ends <= slotStart) {
      fired.delete(key);
      dropped = true;
    }
  }
  return dropped;
}

module.exports = { FlowCards, CHEAPEST_WINDOW_CARD, FIRED_WINDOWS_STORE_KEY, windowKey };
