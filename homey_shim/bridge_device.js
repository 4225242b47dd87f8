'use strict';

/*
 * The one device class every driver extends. A driver's device says which state map
 * it uses (homey_shim/state_maps.js); this class subscribes to the device's bridge id,
 * turns state events into capability values, changes of state fields and the bridge's
 * own triggers into the manifest's device trigger cards (flow_maps.js), bridge or
 * device outages into setUnavailable(reason), and its settings into the bridge's.
 */

const Homey = require('homey');
const { capabilityValues, STATE_MAPS, WARNINGS, SETTABLE_CAPABILITIES } = require('./state_maps');
const {
  STATE_TRIGGERS, BRIDGE_TRIGGERS, TRIGGER_ARGUMENTS, TARIFF_KINDS,
} = require('./flow_maps');
const { describeError } = require('./errors');

class BridgeDevice extends Homey.Device {
  /** The bridge device kind, which is also the driver id. */
  get bridgeKind() {
    return this.driver.id;
  }

  /** Rows of state field → capability (state_maps.js). */
  get stateMap() {
    return STATE_MAPS[this.bridgeKind];
  }

  /** Rows of state field → trigger card (flow_maps.js). */
  get stateTriggers() {
    return STATE_TRIGGERS[this.bridgeKind] || [];
  }

  /** The bridge's id for this device, e.g. "import_tariff.1900000000001". */
  get bridgeDeviceId() {
    return this.getData().id;
  }

  async onInit() {
    this._bridgeUp = true;
    this._bridgeError = null;
    this._deviceAvailable = true;
    this._deviceReason = null;
    this._deviceError = null;
    this._shownReason = null; // what setUnavailable last showed; null while available
    this._warning = undefined; // what setWarning last showed; null once cleared
    this._queue = Promise.resolve();
    await this._addMissingCapabilities();
    this._listenToTile();
    this._unsubscribe = this.homey.app.bridge.subscribe(this.bridgeDeviceId, event => this._enqueue(event));
    if (this.homey.app.bridge.connected) this.homey.app.refreshBridgeSettings();
  }

  async onUninit() {
    this._stopListening();
  }

  async onDeleted() {
    this._stopListening();
    if (this.homey.app.flowCards) this.homey.app.flowCards.forget(this.bridgeDeviceId);
  }

  /** Device settings are the bridge's settings: the bridge checks and keeps them. */
  async onSettings({ newSettings, changedKeys }) {
    await this.homey.app.changeBridgeSettings(newSettings, changedKeys, this);
  }

  /** Resolves once every bridge event received so far has been applied. */
  whenIdle() {
    return this._queue;
  }

  async onBridgeEvent(event) {
    switch (event.type) {
      case 'state':
        await this.applyState(event.state);
        await this.showWarning(event.current || this._cachedState(), event.state);
        if (event.current) await this.fireStateTriggers(event.current, event.previous);
        break;
      case 'availability':
        this._deviceAvailable = event.available;
        this._deviceReason = event.reason;
        this._deviceError = event.error;
        await this._showAvailability();
        break;
      case 'bridge':
        this._bridgeUp = event.connected;
        this._bridgeError = event.connected ? null : event.error;
        await this._showAvailability();
        break;
      case 'trigger': {
        const present = BRIDGE_TRIGGERS[event.card];
        const argument = TRIGGER_ARGUMENTS[event.card];
        const tokens = present ? present(event.tokens, this._ctx()) : event.tokens;
        await this.fireTrigger(event.card, tokens, argument && argument.state ? argument.state(event.tokens) : {});
        break;
      }
      default:
        break;
    }
  }

  /** Sets the capabilities for the fields present in a (partial) bridge state. */
  async applyState(state) {
    for (const [capability, value] of capabilityValues(this.stateMap, state, this._ctx())) {
      if (!this.hasCapability(capability)) continue;
      if (this.getCapabilityValue(capability) === value) continue;
      await this.setCapabilityValue(capability, value)
        .catch(err => this.error(`setting ${capability} to ${value} failed: ${err.message}`));
    }
  }

  /**
   * Sets or clears the kind's device warning (state_maps.js WARNINGS) when a field it
   * follows is among the fields sent; `whole` is the whole state.
   */
  async showWarning(whole, sent) {
    const warning = WARNINGS[this.bridgeKind];
    if (!warning || !whole || !warning.fields.some(field => Object.prototype.hasOwnProperty.call(sent, field))) return;
    const message = warning.message(whole, this._ctx());
    if (message === this._warning) return;
    this._warning = message;
    const shown = message === null ? this.unsetWarning() : this.setWarning(message);
    await shown.catch(err => this.error(`${message === null ? 'clearing' : 'setting'} the warning failed: ${err.message}`));
  }

  /**
   * Fires the cards that follow a state field, for the fields that changed.
   * @param {object} state     the whole state just after the change
   * @param {object} previous  changed field → its earlier value
   */
  async fireStateTriggers(state, previous) {
    const ctx = this._ctx();
    for (const row of this.stateTriggers) {
      if (!Object.prototype.hasOwnProperty.call(previous, row.field)) continue;
      if (!row.when(state, previous)) continue;
      await this.fireTrigger(row.card, row.tokens(state, previous, ctx), row.state ? row.state(state, previous) : {});
    }
    const flowCards = this.homey.app.flowCards;
    if (flowCards && TARIFF_KINDS.includes(this.bridgeKind) && 'slot_start' in previous && state.slot_start) {
      await flowCards.onSlotStarted(this, state).catch(err => this.error(`cheapest window check failed: ${err.message}`));
    }
  }

  /**
   * Fires the manifest's device trigger card `cardId`; cards the app does not declare are
   * skipped. `state` is what the card's run listener compares with the flow's arguments.
   */
  async fireTrigger(cardId, tokens = {}, state = {}) {
    let card;
    try {
      card = this.homey.flow.getDeviceTriggerCard(cardId);
    } catch (err) {
      this.log(`bridge fired "${cardId}", which this app version has no card for`);
      return;
    }
    await card.trigger(this, tokens, state).catch(err => this.error(`trigger ${cardId} failed: ${err.message}`));
  }

  /** The connection's cached state of this device (a device's first event changes nothing). */
  _cachedState() {
    const snapshot = this.homey.app.bridge.snapshot(this.bridgeDeviceId);
    return snapshot ? snapshot.state : null;
  }

  _ctx() {
    return {
      timezone: this.homey.clock.getTimezone(),
      language: this.homey.i18n.getLanguage(),
      __: (key, tokens) => this.homey.__(key, tokens),
    };
  }

  _enqueue(event) {
    this._queue = this._queue
      .then(() => this.onBridgeEvent(event))
      .catch(err => this.error(`handling bridge ${event.type} event failed: ${err.message}`));
  }

  async _showAvailability() {
    let reason = null;
    if (!this._bridgeUp) {
      reason = describeError(this.homey, this._bridgeError);
    } else if (!this._deviceAvailable) {
      reason = this._deviceError
        ? describeError(this.homey, this._deviceError)
        : this._deviceReason || this.homey.__('errors.device_unavailable');
    }
    if (reason === this._shownReason) return;
    this._shownReason = reason;
    if (reason === null) {
      this.log('available');
      await this.setAvailable();
    } else {
      this.log(`unavailable: ${reason}`);
      await this.setUnavailable(reason);
    }
  }

  /**
   * A capability set from the tile (or by Homey for a flow) becomes its bridge action
   * (SETTABLE_CAPABILITIES). Homey shows the value once the bridge has it; a refusal is
   * thrown as the bridge's sentence, which Homey shows, and the tile keeps its value.
   */
  _listenToTile() {
    for (const [capability, row] of Object.entries(SETTABLE_CAPABILITIES[this.bridgeKind] || {})) {
      if (!this.hasCapability(capability)) continue;
      this.registerCapabilityListener(capability, async value => {
        const answer = await this.homey.app.flowCards.callAction(this, row.action(value), row.body(value));
        this.log(`${capability} set to ${value}: ${(answer && answer.message) || 'done'}`);
      });
    }
  }

  /** Brings a device paired by an earlier app version to this version's capabilities. */
  async _addMissingCapabilities() {
    const wanted = (this.driver.manifest && this.driver.manifest.capabilities) || [];
    if (!wanted.length) return;
    for (const capability of wanted) {
      if (!this.hasCapability(capability)) await this.addCapability(capability);
    }
    for (const capability of this.getCapabilities()) {
      if (!wanted.includes(capability)) await this.removeCapability(capability);
    }
  }

  _stopListening() {
    if (this._unsubscribe) this._unsubscribe();
    this._unsubscribe = null;
  }
}

module.exports = { BridgeDevice };
