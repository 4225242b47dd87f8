'use strict';

/*
 * The one driver class every driver extends. Pairing first asks which bridge to use
 * (the choose_bridge view): the Kraken Backend app on this Homey, or a kraken-bridge on
 * another machine, whose address and token the login_credentials view (relabelled in
 * the manifest) asks for. Either is proved with a real request through the app's
 * shared connection; then the bridge devices of this driver's kind are listed. Repair
 * offers the same choice. The driver id is the bridge device kind.
 */

const Homey = require('homey');
const { describeError, BridgeConfigError } = require('./errors');
const { TRANSPORT_HOMEY_APP } = require('./bridge_connection');

class BridgeDriver extends Homey.Driver {
  /** The bridge device kind this driver pairs: its own id (import_tariff, …). */
  get bridgeKind() {
    return this.id;
  }

  async onPair(session) {
    this._offerBridges(session, null);
    session.setHandler('login', ({ username, password }) => this._login(username, password));
    session.setHandler('list_devices', () => this.listBridgeDevices());
  }

  async onRepair(session, device) {
    this._offerBridges(session, device);
    session.setHandler('login', async ({ username, password }) => {
      await this._login(username, password);
      await this.homey.app.bridge.refreshDevice(device.bridgeDeviceId);
      return true;
    });
  }

  /** Devices of this driver's kind on the bridge, as Homey's list_devices view wants them. */
  async listBridgeDevices() {
    const { client } = this.homey.app.bridge;
    if (!client) throw new Error(describeError(this.homey, new BridgeConfigError('not_configured', 'not configured')));
    let devices;
    try {
      devices = await client.listDevices();
      if (!devices.length && this.homey.app.bridge.transport === TRANSPORT_HOMEY_APP) await this._checkLinked(client);
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
    return devices
      .filter(device => device && device.kind === this.bridgeKind && device.id)
      .map(device => ({ name: device.name || device.id, data: { id: device.id } }));
  }

  /**
   * The choose_bridge view's two questions: what to offer (`bridge_choices`: is the
   * Kraken Backend app installed, which bridge is in use, pairing or repair) and "use
   * the Kraken Backend app" (`use_backend`; the other choice goes on to login_credentials).
   */
  _offerBridges(session, device) {
    session.setHandler('bridge_choices', async () => ({
      ...(await this.homey.app.bridgeChoices()),
      repair: device !== null,
    }));
    session.setHandler('use_backend', async () => {
      await this.homey.app.connectBackend();
      if (device) await this.homey.app.bridge.refreshDevice(device.bridgeDeviceId);
      return true;
    });
  }

  /** An empty device list from the Kraken Backend app: has it read an Octopus account yet? */
  async _checkLinked(client) {
    const health = await client.health();
    if (health && health.account_linked === false) {
      throw new BridgeConfigError('backend_not_linked', 'The Kraken Backend app has not read an Octopus account yet');
    }
  }

  async _login(url, token) {
    await this.homey.app.connectBridge(url, token);
    return true;
  }
}

module.exports = { BridgeDriver };
