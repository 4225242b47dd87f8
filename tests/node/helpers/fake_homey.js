'use strict';

/*
 * A small stand-in for the Homey Apps SDK v3 `homey` module: App, Driver and Device
 * base classes, and a `homey` object (settings, flow cards, timers, i18n, clock, other
 * apps' APIs) that the tests build with createHomey(). Only what this app uses, with the SDK's
 * semantics where they matter (unknown flow card ids throw, setCapabilityValue on a
 * missing capability rejects, timers are cleared when the app is stopped, a device's
 * store holds JSON copies and outlives an app restart: see HomeyRuntime.restart()).
 */

const fs = require('fs');
const path = require('path');
const { EventEmitter } = require('events');

class SimpleClass extends EventEmitter {
  log(...args) {
    if (process.env.FAKE_HOMEY_LOG) console.log(`[${this.constructor.name}]`, ...args);
  }

  error(...args) {
    if (process.env.FAKE_HOMEY_LOG) console.error(`[${this.constructor.name}]`, ...args);
    (this.homey && this.homey.__errors ? this.homey.__errors : []).push(args.join(' '));
  }
}

class App extends SimpleClass {
  async onInit() {}

  async onUninit() {}
}

class Driver extends SimpleClass {
  async onInit() {}

  getDevices() {
    return [...this.__devices];
  }

  getDevice(data) {
    return this.__devices.find(device => JSON.stringify(device.getData()) === JSON.stringify(data));
  }

  async onPair() {}

  async onRepair() {}
}

class Device extends SimpleClass {
  async onInit() {}

  async onAdded() {}

  async onUninit() {}

  async onDeleted() {}

  getName() {
    return this.__name;
  }

  getData() {
    return this.__data;
  }

  getStore() {
    return jsonCopy(this.__store);
  }

  /** Like Homey, the store holds JSON: what comes back is a copy of what was stored. */
  getStoreValue(key) {
    return jsonCopy(this.__store[key]);
  }

  async setStoreValue(key, value) {
    if (this.__storeWriteError) throw this.__storeWriteError;
    this.__store[key] = jsonCopy(value);
  }

  async unsetStoreValue(key) {
    if (this.__storeWriteError) throw this.__storeWriteError;
    delete this.__store[key];
  }

  /** Test helper: every later store write rejects with `error` (null: writes work again). */
  failStoreWrites(error) {
    this.__storeWriteError = error;
  }

  getSettings() {
    return { ...this.__settings };
  }

  getSetting(key) {
    return this.__settings[key];
  }

  async setSettings(settings) {
    Object.assign(this.__settings, settings);
  }

  getCapabilities() {
    return [...this.__capabilities.keys()];
  }

  hasCapability(id) {
    return this.__capabilities.has(id);
  }

  async addCapability(id) {
    if (!this.__capabilities.has(id)) this.__capabilities.set(id, null);
  }

  async removeCapability(id) {
    this.__capabilities.delete(id);
  }

  getCapabilityValue(id) {
    if (!this.__capabilities.has(id)) throw new Error(`Invalid Capability: ${id}`);
    return this.__capabilities.get(id);
  }

  async setCapabilityValue(id, value) {
    if (!this.__capabilities.has(id)) throw new Error(`Invalid Capability: ${id}`);
    this.__capabilities.set(id, value);
    this.emit('__capability', id, value);
  }

  registerCapabilityListener(id, listener) {
    if (!this.__capabilities.has(id)) throw new Error(`Invalid Capability: ${id}`);
    if (!this.__capabilityListeners) this.__capabilityListeners = new Map();
    this.__capabilityListeners.set(id, listener);
  }

  /**
   * Test helper: a person sets `id` to `value` on the device's tile. Like Homey, the
   * app's listener runs first; once it resolves the capability takes the value, and when
   * it rejects the error is what the person sees and the value stays as it was.
   */
  async setCapabilityFromTile(id, value) {
    const listener = this.__capabilityListeners && this.__capabilityListeners.get(id);
    if (!listener) throw new Error(`Missing Capability Listener: ${id}`);
    await listener(value, {});
    await this.setCapabilityValue(id, value);
  }

  getAvailable() {
    return this.__available;
  }

  async setAvailable() {
    this.__available = true;
    this.__unavailableMessage = null;
    this.emit('__availability', true, null);
  }

  async setUnavailable(message = null) {
    this.__available = false;
    this.__unavailableMessage = message;
    this.emit('__availability', false, message);
  }

  /** Test helper: the message of the last setUnavailable, null while available. */
  get unavailableMessage() {
    return this.__available ? null : this.__unavailableMessage;
  }

  async setWarning(message = null) {
    this.__warning = message == null ? null : String(message);
    this.emit('__warning', this.__warning);
  }

  async unsetWarning() {
    this.__warning = null;
    this.emit('__warning', null);
  }

  /** Test helper: the warning shown now (setWarning), null when there is none. */
  get warning() {
    return this.__warning == null ? null : this.__warning;
  }
}

class FlowCard {
  constructor(id, type) {
    this.id = id;
    this.type = type;
    this.triggered = [];
    this.runListener = null;
    this.argumentValues = []; // test helper: the argument sets of the flows that use this card
  }

  /**
   * Records [device, tokens, state]. Like Homey, a card with a run listener is checked
   * against each flow's arguments; `flowsRun` lists the argument sets that ran.
   */
  async trigger(device, tokens, state) {
    const entry = [device, tokens, state];
    entry.flowsRun = [];
    if (this.runListener) {
      for (const args of await this.getArgumentValues(device)) {
        if (await this.runListener(args, state)) entry.flowsRun.push(args);
      }
    }
    this.triggered.push(entry);
  }

  async getArgumentValues(device) {
    return this.argumentValues.filter(args => !device || !args.device || args.device === device);
  }

  registerRunListener(listener) {
    this.runListener = listener;
    return this;
  }

  registerArgumentAutocompleteListener() {
    return this;
  }
}

/**
 * Another app's API as this.homey.api.getApiApp(id) returns it: an EventEmitter with
 * get/post/put/delete, getInstalled and getVersion ('realtime', 'install' and
 * 'uninstall' events). Its answers come from `handler(method, path, body)`; while
 * `installed` is false, or `running` is false, calls reject as Homey's do when it
 * cannot reach the app.
 */
class FakeApiApp extends EventEmitter {
  constructor(id, { handler = null, installed = handler !== null, version = '1.0.0' } = {}) {
    super();
    this.id = id;
    this.type = 'app';
    this.handler = handler;
    this.installed = installed;
    this.running = true;
    this.version = version;
    this.calls = []; // [method, path, body]
  }

  get(uri) {
    return this._call('GET', uri);
  }

  post(uri, body) {
    return this._call('POST', uri, body);
  }

  put(uri, body) {
    return this._call('PUT', uri, body);
  }

  delete(uri) {
    return this._call('DELETE', uri);
  }

  async getInstalled() {
    return this.installed;
  }

  async getVersion() {
    return this.installed ? this.version : null;
  }

  /** Test helper: the app pushes an event, as `homey.api.realtime(event, data)` does. */
  realtime(event, data) {
    this.emit('realtime', event, data);
  }

  async _call(method, uri, body) {
    this.calls.push([method, uri, body]);
    if (!this.installed) throw new Error(`App Not Found: ${this.id}`);
    if (!this.running || !this.handler) throw new Error(`App Not Running: ${this.id}`);
    return this.handler(method, uri, body);
  }
}

function jsonCopy(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function lookup(object, key) {
  return key.split('.').reduce((node, part) => (node && typeof node === 'object' ? node[part] : undefined), object);
}

/**
 * Builds a `homey` object for an app in `appDir`, reading app.json for flow card ids
 * and locales/<language>.json for __().
 */
function createHomey({ appDir, language = 'en', timezone = 'Europe/London' }) {
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, 'app.json'), 'utf8'));
  const localeFile = path.join(appDir, 'locales', `${language}.json`);
  const strings = fs.existsSync(localeFile) ? JSON.parse(fs.readFileSync(localeFile, 'utf8')) : {};
  const timers = new Set();
  const settingsStore = new Map();
  const settings = new EventEmitter();
  Object.assign(settings, {
    get: key => (settingsStore.has(key) ? settingsStore.get(key) : null),
    set: (key, value) => {
      settingsStore.set(key, value);
      settings.emit('set', key);
    },
    unset: key => {
      settingsStore.delete(key);
      settings.emit('unset', key);
    },
    getKeys: () => [...settingsStore.keys()],
  });

  const flowCards = new Map();
  const declared = type => new Set(((manifest.flow && manifest.flow[type]) || []).map(card => card.id));
  const cardGetter = (type, kind) => id => {
    if (!declared(type).has(id)) throw new Error(`Invalid Flow Card ID: ${id}`);
    const key = `${kind}:${id}`;
    if (!flowCards.has(key)) flowCards.set(key, new FlowCard(id, kind));
    return flowCards.get(key);
  };

  const homey = {
    manifest,
    __errors: [],
    __timers: timers,
    __flowCards: flowCards,
    settings,
    flow: {
      getDeviceTriggerCard: cardGetter('triggers', 'deviceTrigger'),
      getTriggerCard: cardGetter('triggers', 'trigger'),
      getConditionCard: cardGetter('conditions', 'condition'),
      getActionCard: cardGetter('actions', 'action'),
    },
    clock: { getTimezone: () => timezone },
    // test helper: set homey.__discoveryResults to what mDNS found ({id: {address, port, ...}})
    __discoveryResults: {},
    discovery: {
      getStrategy: id => {
        const declared = manifest.discovery && manifest.discovery[id];
        if (!declared) throw new Error(`Invalid Discovery Strategy ID: ${id}`);
        return { type: declared.type, getDiscoveryResults: () => homey.__discoveryResults };
      },
    },
    i18n: { getLanguage: () => language },
    // test helper: homey.__apiApps.set(id, new FakeApiApp(id, …)) puts another app on this Homey
    __apiApps: new Map(),
    // test helper: [event, data] of every homey.api.realtime(event, data) the app sent, in
    // order (data as JSON, which is how Homey carries it to widgets)
    __realtime: [],
    api: {
      realtime: async (event, data) => {
        homey.__realtime.push([event, jsonCopy(data)]);
      },
      getApiApp: id => {
        if (!homey.__apiApps.has(id)) homey.__apiApps.set(id, new FakeApiApp(id, { installed: false }));
        return homey.__apiApps.get(id);
      },
    },
    __(key, tokens = {}) {
      let text = typeof key === 'object' ? key[language] || key.en : lookup(strings, key);
      if (typeof text !== 'string') return key;
      for (const [name, value] of Object.entries(tokens || {})) text = text.split(`__${name}__`).join(String(value));
      return text;
    },
    setTimeout(fn, ms, ...args) {
      const handle = setTimeout(() => {
        timers.delete(handle);
        fn(...args);
      }, ms);
      timers.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      timers.delete(handle);
      clearTimeout(handle);
    },
    setInterval(fn, ms, ...args) {
      const handle = setInterval(fn, ms, ...args);
      timers.add(handle);
      return handle;
    },
    clearInterval(handle) {
      timers.delete(handle);
      clearInterval(handle);
    },
    /** Test helper: clears every timer still pending, as Homey does on uninit. */
    __clearTimers() {
      for (const handle of timers) {
        clearTimeout(handle);
        clearInterval(handle);
      }
      timers.clear();
    },
  };
  return homey;
}

module.exports = {
  App, Driver, Device, SimpleClass, FlowCard, FakeApiApp, createHomey,
};
