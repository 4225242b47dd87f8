'use strict';

/*
 * Runs this app on the fake `homey` module the way Homey does: makes
 * require('homey') resolve to the fake, instantiates app.js and every driver in
 * app.json, and offers pairing sessions and device creation to the tests.
 */

const Module = require('module');
const path = require('path');

const FAKE_HOMEY = require.resolve('./fake_homey');
const APP_DIR = path.resolve(__dirname, '..', '..', '..');

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveHomey(request, ...rest) {
  if (request === 'homey') return FAKE_HOMEY;
  return originalResolve.call(this, request, ...rest);
};

const { createHomey } = require('./fake_homey');

/** A pairing (or repair) session: the app registers handlers, the test plays the views. */
class PairSession {
  constructor() {
    this.handlers = new Map();
    this.shownViews = [];
  }

  setHandler(event, handler) {
    this.handlers.set(event, handler);
    return this;
  }

  async emit(event, data) {
    const handler = this.handlers.get(event);
    if (!handler) throw new Error(`no handler for "${event}"`);
    return handler(data);
  }

  async showView(id) {
    this.shownViews.push(id);
  }

  async nextView() {}

  async prevView() {}

  async done() {}
}

class HomeyRuntime {
  constructor({ appDir = APP_DIR, language, timezone } = {}) {
    this.appDir = appDir;
    this.homey = createHomey({ appDir, language, timezone });
    this.drivers = new Map();
  }

  async start() {
    const AppClass = require(path.join(this.appDir, 'app.js'));
    this.app = new AppClass();
    this.app.homey = this.homey;
    this.homey.app = this.app;
    this.homey.drivers = {
      getDriver: id => {
        if (!this.drivers.has(id)) throw new Error(`Invalid Driver ID: ${id}`);
        return this.drivers.get(id);
      },
      getDrivers: () => Object.fromEntries(this.drivers),
    };
    await this.app.onInit();
    for (const manifest of this.homey.manifest.drivers) {
      const DriverClass = require(path.join(this.appDir, 'drivers', manifest.id, 'driver.js'));
      const driver = new DriverClass();
      Object.assign(driver, { homey: this.homey, id: manifest.id, manifest, __devices: [] });
      this.drivers.set(manifest.id, driver);
      await driver.onInit();
    }
    return this;
  }

  driver(id) {
    return this.homey.drivers.getDriver(id);
  }

  /** Opens a pairing session on a driver, as Homey does when a person starts "Add device". */
  async pair(driverId) {
    const session = new PairSession();
    await this.driver(driverId).onPair(session);
    return session;
  }

  async repair(driverId, device) {
    const session = new PairSession();
    await this.driver(driverId).onRepair(session, device);
    return session;
  }

  /**
   * Adds a device as Homey does after list_devices → add_devices: with the manifest's
   * capabilities, then onInit and onAdded.
   */
  async addDevice(driverId, { name, data, store = {}, settings = {}, capabilities }) {
    const driver = this.driver(driverId);
    const caps = capabilities || driver.manifest.capabilities;
    const device = this._createDevice(driver, {
      name,
      data,
      store,
      settings: { ...settingDefaults(driver.manifest.settings), ...settings },
      capabilities: new Map(caps.map(id => [id, null])),
    });
    await device.onInit();
    await device.onAdded();
    return device;
  }

  /**
   * Deletes a device as a person does in the Homey app: onDeleted, then onUninit. Its
   * store goes with it, and flows lose the cards that named it.
   */
  async deleteDevice(device) {
    await device.onDeleted();
    await device.onUninit();
    const devices = device.driver.__devices;
    devices.splice(devices.indexOf(device), 1);
    for (const card of this.homey.__flowCards.values()) {
      card.argumentValues = card.argumentValues.filter(args => args.device !== device);
    }
  }

  /**
   * Restarts the app as Homey does after an update, a crash or a Homey reboot: the app,
   * its drivers and devices are stopped and built again (onInit, not onAdded). What
   * Homey keeps survives: the app settings, and each device's name, data, store,
   * settings and capability values; flows keep their cards and arguments, now naming
   * the new device instances (each card's record of what it fired stays, so a test can
   * count across the restart). Returns the new devices, in the order they were added.
   */
  async restart() {
    const kept = [];
    for (const driver of this.drivers.values()) {
      for (const device of driver.__devices) kept.push({ driverId: driver.id, device });
    }
    kept.sort((a, b) => a.device.__addedOrder - b.device.__addedOrder);
    await this.stop();
    this.drivers = new Map();
    await this.start();
    const renewed = new Map();
    for (const { driverId, device } of kept) {
      const again = this._createDevice(this.driver(driverId), {
        name: device.__name,
        data: device.__data,
        store: device.__store,
        settings: device.__settings,
        capabilities: new Map(device.__capabilities),
      });
      renewed.set(device, again);
    }
    for (const card of this.homey.__flowCards.values()) {
      card.argumentValues = card.argumentValues.map(args => (renewed.has(args.device)
        ? { ...args, device: renewed.get(args.device) } : args));
    }
    for (const device of renewed.values()) await device.onInit();
    return [...renewed.values()];
  }

  async stop() {
    for (const driver of this.drivers.values()) {
      for (const device of driver.__devices) await device.onUninit();
    }
    if (this.app) await this.app.onUninit();
    this.homey.__clearTimers();
  }

  _createDevice(driver, { name, data, store, settings, capabilities }) {
    const DeviceClass = require(path.join(this.appDir, 'drivers', driver.id, 'device.js'));
    const device = new DeviceClass();
    Object.assign(device, {
      homey: this.homey,
      driver,
      __name: name,
      __data: data,
      __store: JSON.parse(JSON.stringify(store)),
      __settings: { ...settings },
      __capabilities: capabilities,
      __available: true,
      __unavailableMessage: null,
      __addedOrder: nextAddedOrder++,
    });
    driver.__devices.push(device);
    return device;
  }
}

let nextAddedOrder = 0;

/** Resolves when `predicate()` is truthy, polling every 25 ms; rejects after timeoutMs. */
async function waitFor(predicate, { timeoutMs = 10000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}

/** The values a driver's settings start with, as Homey sets them at pairing (groups flattened). */
function settingDefaults(settings = []) {
  const values = {};
  for (const setting of settings) {
    if (setting.type === 'group') Object.assign(values, settingDefaults(setting.children));
    else if (setting.id && setting.value !== undefined) values[setting.id] = setting.value;
  }
  return values;
}

module.exports = { HomeyRuntime, PairSession, waitFor, APP_DIR };
