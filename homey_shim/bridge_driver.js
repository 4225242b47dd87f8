'use strict';

/*
 * The one driver class every driver extends. Pairing asks for the bridge address and
 * token (the login_credentials view, relabelled in the manifest), proves them with a
 * real request through the app's shared connection, then lists the bridge devices of
 * this driver's kind. The driver id is the bridge device kind.
 */

const Homey = require('homey');
const { describeError, BridgeConfigError } = require('./errors');

class BridgeDriver extends Homey.Driver {
  /** The bridge device kind this driver pairs: its own id (import_tariff, …). */
  get bridgeKind() {
    return this.id;
  }

  async onPair(session) {
    session.setHandler('login', ({ username, password }) => this._login(username, password));
    session.setHandler('list_devices', () => this.listBridgeDevices());
  }

  async onRepair(session, device) {
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
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
    return devices
      .filter(device => device && device.kind === this.bridgeKind && device.id)
      .map(device => ({ name: device.name || device.id, data: { id: device.id } }));
  }

  async _login(url, token) {
    await this.homey.app.connectBridge(url, token);
    return true;
  }
}

module.exports = { BridgeDriver };
