'use strict';

const Homey = require('homey');
const {
  AppApiClient, BACKEND_APP_ID, BridgeClient, BridgeConnection, BridgeConfigError, BridgeConnectionError,
  FlowCards, SETTINGS, TRANSPORT_HOMEY_APP, TRANSPORT_HTTP, WIDGET_EVENT, describeError, widgetNudge,
} = require('./homey_shim');

const SETTING_TRANSPORT = 'bridge_transport'; // 'http' (or unset, as before there was a choice) | 'homey-app'
const SETTING_URL = 'bridge_url';
const SETTING_TOKEN = 'bridge_token';
const DISCOVERY_STRATEGY = 'kraken_bridge';
const SMART_DEVICE_KIND = 'smart_energy_device';

/**
 * Owns the one connection to the kraken-bridge that every device shares, and the flow
 * cards' run listeners. The bridge is either a kraken-bridge on another machine (its
 * address and token) or the Kraken Backend app on this Homey; which one, and the address
 * and token, live in the app settings, set by pairing or repair. The bridge's own
 * settings show on every device and are kept in step with the bridge.
 */
class KrakenBridgeApp extends Homey.App {
  async onInit() {
    this.bridge = new BridgeConnection({
      homey: this.homey,
      log: (...args) => this.log(...args),
      onConnected: client => this._syncBridgeSettings(client),
    });
    this._unwatch = this.bridge.watch(event => this._nudgeWidgets(event));
    this.flowCards = new FlowCards({
      homey: this.homey,
      connection: this.bridge,
      log: (...args) => this.log(...args),
      error: (...args) => this.error(...args),
    }).register();
    const transport = this.homey.settings.get(SETTING_TRANSPORT) || TRANSPORT_HTTP;
    const url = this.homey.settings.get(SETTING_URL);
    const token = this.homey.settings.get(SETTING_TOKEN);
    if (transport === TRANSPORT_HOMEY_APP) {
      await this.bridge.configure({ transport }).catch(err => this.error(`Kraken Backend app unusable: ${err.message}`));
    } else if (url && token) {
      await this.bridge.configure({ url, token }).catch(err => this.error(`bridge settings unusable: ${err.message}`));
    } else {
      this.log('no bridge configured yet; add a device to connect');
    }
  }

  async onUninit() {
    if (this._unwatch) this._unwatch();
    if (this.bridge) await this.bridge.stop();
  }

  /**
   * Proves an address and token against the bridge (health, then an authorised
   * request), saves them and points the shared connection at them. An empty address
   * means "the bridge this Homey found on the network" (mDNS, _kraken-bridge._tcp).
   * Throws an Error whose message a person can act on.
   */
  async connectBridge(url, token) {
    const address = String(url == null ? '' : url).trim() || this.discoveredBridgeUrl();
    let client;
    try {
      client = new BridgeClient({ url: address, token, timers: this.homey });
      await client.health();
      await client.listDevices();
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
    const cleanToken = String(token).trim();
    const unchanged = this.homey.settings.get(SETTING_URL) === client.baseUrl
      && this.homey.settings.get(SETTING_TOKEN) === cleanToken
      && this.bridge.transport === TRANSPORT_HTTP;
    this.homey.settings.set(SETTING_URL, client.baseUrl);
    this.homey.settings.set(SETTING_TOKEN, cleanToken);
    this.homey.settings.set(SETTING_TRANSPORT, TRANSPORT_HTTP);
    if (!unchanged) await this.bridge.configure({ url: client.baseUrl, token: cleanToken });
    return client;
  }

  /**
   * Proves that the Kraken Backend app on this Homey answers (it is installed, then its
   * health and device list), saves that choice and points the shared connection at it.
   * The bridge address and token stay saved, for a switch back. Throws an Error whose
   * message a person can act on.
   */
  async connectBackend() {
    const client = new AppApiClient({ apiApp: this._backendApiApp(), timers: this.homey });
    try {
      if ((await client.installed()) === false) {
        throw new BridgeConnectionError('backend_not_installed', `${BACKEND_APP_ID} is not installed`, {
          params: { app: BACKEND_APP_ID, detail: 'not installed' },
        });
      }
      await client.health();
      await client.listDevices();
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
    const unchanged = this.bridge.transport === TRANSPORT_HOMEY_APP;
    this.homey.settings.set(SETTING_TRANSPORT, TRANSPORT_HOMEY_APP);
    if (!unchanged) await this.bridge.configure({ transport: TRANSPORT_HOMEY_APP });
    return client;
  }

  /**
   * What the pairing view offers: whether the Kraken Backend app is installed on this
   * Homey, and which way this app reaches its bridge now ('http', 'homey-app' or null).
   */
  async bridgeChoices() {
    let backendInstalled = false;
    try {
      backendInstalled = (await new AppApiClient({ apiApp: this._backendApiApp(), timers: this.homey }).installed()) === true;
    } catch (err) {
      this.log(`cannot ask Homey about the Kraken Backend app: ${err.message}`);
    }
    return { backendInstalled, current: this.bridge.transport };
  }

  _backendApiApp() {
    return this.homey.api.getApiApp(BACKEND_APP_ID);
  }

  /** The address of a bridge that advertises itself over mDNS; throws when none does. */
  discoveredBridgeUrl() {
    let results = {};
    try {
      results = this.homey.discovery.getStrategy(DISCOVERY_STRATEGY).getDiscoveryResults() || {};
    } catch (err) {
      this.log(`mDNS discovery unavailable: ${err.message}`);
    }
    const found = Object.values(results).find(result => result && result.address && result.port);
    if (!found) throw new Error(this.homey.__('errors.no_bridge_found'));
    const host = found.address.includes(':') ? `[${found.address}]` : found.address;
    return `http://${host}:${found.port}`;
  }

  /**
   * A device's settings changed: the bridge checks and keeps them (its 422 sentence
   * reaches the person), then every other device shows the bridge's answer.
   */
  async changeBridgeSettings(newSettings, changedKeys, fromDevice) {
    const { client } = this.bridge;
    if (!client) throw new Error(describeError(this.homey, new BridgeConfigError('not_configured', 'not configured')));
    const body = {};
    for (const row of SETTINGS) {
      if (changedKeys.includes(row.setting)) body[row.field] = row.toBridge(newSettings[row.setting]);
    }
    if (!Object.keys(body).length) return;
    let answer;
    try {
      answer = await client.putSettings(body);
    } catch (err) {
      throw new Error(err.params && err.params.detail ? err.params.detail : describeError(this.homey, err));
    }
    this.log(`bridge settings now ${JSON.stringify(answer)}`);
    await this._showBridgeSettings(answer, fromDevice);
  }

  // ------------------------------------------------------------ widgets' data

  /**
   * A London day's timeline as the bridge answers `GET /timeline?date=` (default: the
   * bridge's today): every half-hour's price and quadrant, the current slot, dispatch
   * windows. Passed through unchanged (pence per kWh): the price chart widget draws it.
   * Throws an Error whose message a person can act on.
   */
  async getTimeline(date) {
    const client = this._widgetClient();
    try {
      return await client.getTimeline(date == null || date === '' ? undefined : String(date));
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
  }

  /**
   * The bridge's smart energy devices (cars, chargers) as `GET /devices/{id}` answers
   * them, for the next-dispatch widget: `{now, timezone, devices: [{id, name, available,
   * unavailable_reason, updated_at, state}], language}`. `now` is this Homey's clock
   * and `timezone` its time zone, so the widget shows the bridge's times in local time.
   */
  async getSmartDevices() {
    const client = this._widgetClient();
    try {
      const listed = (await client.listDevices()).filter(device => device.kind === SMART_DEVICE_KIND);
      const devices = await Promise.all(listed.map(device => client.getDevice(device.id)));
      return {
        now: new Date().toISOString(),
        timezone: this.homey.clock.getTimezone(),
        language: this.homey.i18n.getLanguage(),
        devices,
      };
    } catch (err) {
      throw new Error(describeError(this.homey, err));
    }
  }

  /**
   * Tells the widgets (Homey.on(WIDGET_EVENT)) that something they draw changed, so they
   * read again now rather than at their next slow poll (homey_shim/widget_events.js).
   */
  _nudgeWidgets(event) {
    const nudge = widgetNudge(event);
    if (!nudge) return;
    Promise.resolve()
      .then(() => this.homey.api.realtime(WIDGET_EVENT, nudge))
      .catch(err => this.log(`telling the widgets failed: ${err.message}`));
  }

  _widgetClient() {
    const { client } = this.bridge || {};
    if (!client) throw new Error(describeError(this.homey, new BridgeConfigError('not_configured', 'not configured')));
    return client;
  }

  /** Shows the bridge's settings on every device again (a device was added). */
  refreshBridgeSettings() {
    if (this.bridge.client) this._syncBridgeSettings(this.bridge.client);
  }

  async _syncBridgeSettings(client) {
    try {
      await this._showBridgeSettings(await client.getSettings(), null);
    } catch (err) {
      this.log(`reading the bridge settings failed: ${err.message}`);
    }
  }

  /** Writes the bridge's settings into every device's settings (except the one being saved). */
  async _showBridgeSettings(bridgeSettings, exceptDevice) {
    if (!bridgeSettings || typeof bridgeSettings !== 'object') return;
    const values = {};
    for (const row of SETTINGS) {
      if (bridgeSettings[row.field] !== undefined && bridgeSettings[row.field] !== null) {
        values[row.setting] = row.fromBridge(bridgeSettings[row.field]);
      }
    }
    for (const driver of Object.values(this.homey.drivers.getDrivers())) {
      for (const device of driver.getDevices()) {
        if (device === exceptDevice) continue;
        const current = device.getSettings();
        // Only the settings this device has (auto_join_saving_sessions is the Energy Account's).
        const own = Object.fromEntries(Object.entries(values).filter(([key]) => key in current));
        const differs = Object.entries(own).some(([key, value]) => current[key] !== value);
        if (differs) await device.setSettings(own).catch(err => this.error(`settings of ${device.getName()}: ${err.message}`));
      }
    }
  }
}

module.exports = KrakenBridgeApp;
