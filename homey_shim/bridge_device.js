'use strict';

/*
 * The one device class every driver extends. A driver's device says which state map
 * it uses (homey_shim/state_maps.js); this class subscribes to the device's bridge id,
 * turns state events into capability values, bridge triggers into the manifest's
 * device trigger cards, and bridge or device outages into setUnavailable(reason).
 */

const Homey = require('homey');
const { capabilityValues } = require('./state_maps');
const { describeError } = require('./errors');

class BridgeDevice extends Homey.Device {
  /** Rows of state field → capability; subclasses return theirs from state_maps.js. */
  get stateMap() {
    throw new Error(`${this.constructor.name} must define get stateMap()`);
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
    this._queue = Promise.resolve();
    await this._addMissingCapabilities();
    this._unsubscribe = this.homey.app.bridge.subscribe(this.bridgeDeviceId, event => this._enqueue(event));
  }

  async onUninit() {
    this._stopListening();
  }

  async onDeleted() {
    this._stopListening();
  }

  /** Resolves once every bridge event received so far has been applied. */
  whenIdle() {
    return this._queue;
  }

  async onBridgeEvent(event) {
    switch (event.type) {
      case 'state':
        await this.applyState(event.state);
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
      case 'trigger':
        await this.fireTrigger(event.card, event.tokens);
        break;
      default:
        break;
    }
  }

  /** Sets the capabilities for the fields present in a (partial) bridge state. */
  async applyState(state) {
    const ctx = {
      timezone: this.homey.clock.getTimezone(),
      language: this.homey.i18n.getLanguage(),
    };
    for (const [capability, value] of capabilityValues(this.stateMap, state, ctx)) {
      if (!this.hasCapability(capability)) continue;
      if (this.getCapabilityValue(capability) === value) continue;
      await this.setCapabilityValue(capability, value)
        .catch(err => this.error(`setting ${capability} to ${value} failed: ${err.message}`));
    }
  }

  /** Fires the manifest's device trigger card `cardId`; cards the app does not declare are skipped. */
  async fireTrigger(cardId, tokens = {}) {
    let card;
    try {
      card = this.homey.flow.getDeviceTriggerCard(cardId);
    } catch (err) {
      this.log(`bridge fired "${cardId}", which this app version has no card for`);
      return;
    }
    await card.trigger(this, tokens, {}).catch(err => this.error(`trigger ${cardId} failed: ${err.message}`));
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

  async _addMissingCapabilities() {
    const wanted = (this.driver.manifest && this.driver.manifest.capabilities) || [];
    for (const capability of wanted) {
      if (!this.hasCapability(capability)) await this.addCapability(capability);
    }
  }

  _stopListening() {
    if (this._unsubscribe) this._unsubscribe();
    this._unsubscribe = null;
  }
}

module.exports = { BridgeDevice };
