'use strict';

const Homey = require('homey');
const { BridgeClient, BridgeConnection, describeError } = require('./homey_shim');

const SETTING_URL = 'bridge_url';
const SETTING_TOKEN = 'bridge_token';

/**
 * Owns the one connection to the kraken-bridge that every device shares. The bridge
 * address and token live in the app settings, set by pairing or repair.
 */
class KrakenBridgeApp extends Homey.App {
  async onInit() {
    this.bridge = new BridgeConnection({ homey: this.homey, log: (...args) => this.log(...args) });
    const url = this.homey.settings.get(SETTING_URL);
    const token = this.homey.settings.get(SETTING_TOKEN);
    if (url && token) {
      await this.bridge.configure({ url, token }).catch(err => this.error(`bridge settings unusable: ${err.message}`));
    } else {
      this.log('no bridge configured yet; add a device to connect');
    }
  }

  async onUninit() {
    if (this.bridge) await this.bridge.stop();
  }

  /**
   * Proves an address and token against the bridge (health, then an authorised
   * request), saves them and points the shared connection at them. Throws an Error
   * whose message a person can act on.
   */
  async connectBridge(url, token) {
    let client;
    try {
      client = new BridgeClient({ url, token, timers: this.homey });
      await client.health();
      await client.listDevices();
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
    const cleanToken = String(token).trim();
    const unchanged = this.homey.settings.get(SETTING_URL) === client.baseUrl
      && this.homey.settings.get(SETTING_TOKEN) === cleanToken
      && this.bridge.configured;
    this.homey.settings.set(SETTING_URL, client.baseUrl);
    this.homey.settings.set(SETTING_TOKEN, cleanToken);
    if (!unchanged) await this.bridge.configure({ url: client.baseUrl, token: cleanToken });
    return client;
  }
}

module.exports = KrakenBridgeApp;
