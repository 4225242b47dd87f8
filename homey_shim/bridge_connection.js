'use strict';

/*
 * The app's single connection to the bridge: one client, one event stream, and the
 * latest known view of every bridge device (a cache of the bridge's own state, so a
 * device that subscribes late is current at once). Devices subscribe to their own id
 * and get back the function that unsubscribes them.
 *
 * A listener receives plain objects:
 *   {type: 'state', state, updatedAt, full, previous}
 *        state: the fields sent (full: the whole state); previous: for each field whose
 *        value differs from the one cached before, that earlier value (a device's first
 *        state has none); current: when something changed, a copy of the whole cached
 *        state just after this event (what trigger tokens are built from)
 *   {type: 'availability', available, reason, error}  the bridge's view of the device
 *        (changed: true when the bridge had said otherwise before)
 *   {type: 'trigger', card, tokens}               a flow card the bridge fired
 *   {type: 'bridge', connected: true}             the bridge is reachable (again)
 *   {type: 'bridge', connected: false, error}     it is not, or its event stream failed (an
 *        empty or oversized stream); error: a BridgeError
 *
 * Two transports, the rest shared: a bridge on the LAN over HTTP (BridgeClient and the
 * SSE EventStream), or the Kraken Backend app on this Homey through Homey's app API
 * (AppApiClient and AppEventSource, which hands over the same events).
 *
 * No trigger lost or fired twice across a reconnect: the stream resumes with
 * Last-Event-ID (the app-API source reads GET /events?after=), so the bridge replays what
 * was missed; a trigger whose id is not above the highest one handled is dropped; a
 * resync (the bridge lost track, e.g. it restarted) starts the count again from its id,
 * and the states re-read after it are compared with the cached ones, so changes made
 * meanwhile still count as changes.
 */

const { BridgeClient } = require('./bridge_client');
const { EventStream } = require('./event_stream');
const { AppApiClient, BACKEND_APP_ID } = require('./app_api_client');
const { AppEventSource } = require('./app_event_source');
const { BridgeConfigError } = require('./errors');

/** The transports configure() takes: a bridge's address and token, or the Kraken Backend app. */
const TRANSPORT_HTTP = 'http';
const TRANSPORT_HOMEY_APP = 'homey-app';

const NOT_CONFIGURED = () => new BridgeConfigError('not_configured', 'No bridge configured yet');

class BridgeConnection {
  /**
   * @param {object} options
   * @param {object} options.homey  for timers (cleared by Homey on uninit)
   * @param {typeof fetch} [options.fetch]
   * @param {(...args: any[]) => void} [options.log]
   * @param {object} [options.stream]  EventStream tuning: initialDelayMs, maxDelayMs, idleTimeoutMs,
   *        stableAfterMs, jitter, random, limits (AppEventSource: initialDelayMs, maxDelayMs,
   *        jitter, random, pollIntervalMs)
   * @param {(client: BridgeClient|AppApiClient) => void} [options.onConnected]  each time the stream opens
   */
  constructor({ homey, fetch = globalThis.fetch, log = () => {}, stream = {}, onConnected = () => {} }) {
    this._homey = homey;
    this._onConnected = onConnected;
    this._fetch = fetch;
    this._log = log;
    this._streamOptions = stream;
    this._client = null;
    this._stream = null;
    this._status = 'idle'; // idle | connecting | up | down
    this._error = NOT_CONFIGURED();
    this._listeners = new Map(); // device id → Set<listener>
    this._watchers = new Set(); // listeners of every device's events (watch())
    this._snapshots = new Map(); // device id → {state, available, reason, updatedAt}
    this._lastTriggerId = null; // highest trigger event id handled
    this._streamSeq = 0; // counts state fields the stream brought (see refreshDevice)
    this.droppedTriggers = 0; // replayed triggers that were handled before
  }

  get configured() {
    return this._client !== null;
  }

  /** The shared client (BridgeClient or AppApiClient), or null before configure(). */
  get client() {
    return this._client;
  }

  /** 'http', 'homey-app', or null before configure(). */
  get transport() {
    if (!this._client) return null;
    return this._client instanceof AppApiClient ? TRANSPORT_HOMEY_APP : TRANSPORT_HTTP;
  }

  get connected() {
    return this._status === 'up';
  }

  /** Why the bridge is not reachable now, or null. */
  get lastError() {
    return this._status === 'up' ? null : this._error;
  }

  /**
   * (Re)connects; existing subscriptions carry over.
   * @param {{url: string, token: string} | {transport: 'homey-app'}} settings  a bridge's
   *        address and token (HTTP), or the Kraken Backend app on this Homey
   */
  async configure(settings) {
    const client = this._createClient(settings);
    await this._stopStream();
    this._client = client;
    this._snapshots.clear();
    this._lastTriggerId = null;
    this._status = 'connecting';
    const handlers = {
      ...this._streamOptions,
      timers: this._homey,
      onEvent: event => this._onStreamEvent(event),
      onOpen: info => this._onOpen(info),
      onDrop: err => this._log(`event stream dropped (${err.message}), reconnecting`),
      onFailure: (err, info) => this._onFailure(err, info),
    };
    this._stream = client instanceof AppApiClient
      ? new AppEventSource({ ...handlers, client })
      : new EventStream({ ...handlers, open: ({ lastEventId, signal }) => client.openEventStream({ lastEventId, signal }) });
    this._log(`connecting to bridge at ${client.label}`);
    this._stream.start();
  }

  async stop() {
    await this._stopStream();
    this._status = 'idle';
  }

  /**
   * @param {string} deviceId  bridge device id, e.g. "import_tariff.1900000000001"
   * @param {(event: object) => void} listener
   * @returns {() => void} unsubscribe
   */
  subscribe(deviceId, listener) {
    if (!this._listeners.has(deviceId)) this._listeners.set(deviceId, new Set());
    this._listeners.get(deviceId).add(listener);
    queueMicrotask(() => this._greet(deviceId, listener));
    return () => {
      const set = this._listeners.get(deviceId);
      if (!set) return;
      set.delete(listener);
      if (set.size === 0) this._listeners.delete(deviceId);
    };
  }

  /**
   * Every device's events, subscribed or not, as `{deviceId, ...event}` (state and
   * availability), and the bridge's own (`{deviceId: null, type: 'bridge', connected}`):
   * what the widgets are told about.
   * @param {(event: object) => void} listener
   * @returns {() => void} unwatch
   */
  watch(listener) {
    this._watchers.add(listener);
    return () => this._watchers.delete(listener);
  }

  /** The cached view of one device, or undefined. */
  snapshot(deviceId) {
    return this._snapshots.get(deviceId);
  }

  /**
   * Re-reads one device's full state from the bridge and hands it to its listeners. A
   * field the stream brought while the read was on its way keeps the stream's value: the
   * read may have been answered before that change.
   */
  async refreshDevice(deviceId) {
    if (!this._client) return;
    const client = this._client;
    const asked = this._streamSeq;
    try {
      const device = await client.getDevice(deviceId);
      if (client === this._client) this._applyDevice(deviceId, device, asked);
    } catch (err) {
      if (client !== this._client) return;
      if (err.code === 'not_found') {
        this._emit(deviceId, { type: 'availability', available: false, reason: null, error: err });
      } else {
        this._log(`refreshing ${deviceId} failed: ${err.message}`);
      }
    }
  }

  /** Re-reads every subscribed device (after a resync or an outage). */
  async refreshAll() {
    await Promise.all([...this._listeners.keys()].map(id => this.refreshDevice(id)));
  }

  // ------------------------------------------------------------------ internals

  _createClient({ transport = TRANSPORT_HTTP, url, token } = {}) {
    if (transport === TRANSPORT_HOMEY_APP) {
      return new AppApiClient({ apiApp: this._homey.api.getApiApp(BACKEND_APP_ID), timers: this._homey });
    }
    if (transport !== TRANSPORT_HTTP) throw new BridgeConfigError('not_configured', `Unknown bridge transport "${transport}"`);
    return new BridgeClient({ url, token, fetch: this._fetch, timers: this._homey });
  }

  async _stopStream() {
    const stream = this._stream;
    this._stream = null;
    if (stream) await stream.stop();
  }

  _greet(deviceId, listener) {
    const set = this._listeners.get(deviceId);
    if (!set || !set.has(listener)) return;
    if (!this._client || this._status === 'down') {
      safeCall(listener, { type: 'bridge', connected: false, error: this._error });
      return;
    }
    const snapshot = this._snapshots.get(deviceId);
    if (snapshot) {
      safeCall(listener, {
        type: 'state', state: { ...snapshot.state }, updatedAt: snapshot.updatedAt, full: true, previous: {},
      });
      safeCall(listener, { type: 'availability', available: snapshot.available, reason: snapshot.reason, error: null });
    } else if (this._status === 'up') {
      this.refreshDevice(deviceId);
    }
    // While connecting, the stream's opening burst (or the refresh after a resume) covers it.
  }

  _onOpen({ resumed }) {
    const wasDown = this._status === 'down';
    this._status = 'up';
    this._error = null;
    this._log(`event stream open${resumed ? ` (resuming after event ${this._stream && this._stream.lastEventId})` : ''}`);
    this._emitAll({ type: 'bridge', connected: true });
    safeCall(this._onConnected, this._client);
    if (resumed || wasDown) this.refreshAll();
  }

  _onFailure(err, { attempt, delayMs, opened = false }) {
    const changed = this._status !== 'down' || !this._error || this._error.message !== err.message;
    this._status = 'down';
    this._error = err;
    const what = opened ? 'event stream failed' : 'bridge unreachable';
    this._log(`${what} (attempt ${attempt}, next in ${delayMs} ms): ${err.message}`);
    if (changed) this._emitAll({ type: 'bridge', connected: false, error: err });
  }

  /** An event of either transport: `data` is the SSE text, or already parsed (app API). */
  _onStreamEvent({ event, data, id }) {
    let payload = data;
    if (typeof data === 'string') {
      try {
        payload = JSON.parse(data);
      } catch (err) {
        this._log(`ignoring ${event} event that is not JSON`);
        return;
      }
    }
    if (!payload || typeof payload !== 'object') {
      this._log(`ignoring ${event} event without an object`);
      return;
    }
    const deviceId = payload && payload.device_id;
    switch (event) {
      case 'state': {
        const state = payload.state && typeof payload.state === 'object' ? payload.state : {};
        const snapshot = this._snapshotFor(deviceId);
        const previous = changedFields(snapshot.state, state);
        Object.assign(snapshot.state, state);
        if (!snapshot.fieldSeq) snapshot.fieldSeq = {};
        for (const field of Object.keys(state)) snapshot.fieldSeq[field] = ++this._streamSeq;
        if (payload.updated_at) snapshot.updatedAt = payload.updated_at;
        this._emit(deviceId, {
          type: 'state', state, updatedAt: payload.updated_at || null, full: false, previous, current: withChanges(snapshot, previous),
        });
        break;
      }
      case 'availability': {
        const snapshot = this._snapshotFor(deviceId);
        const changed = snapshot.availabilityKnown === true && snapshot.available !== (payload.available !== false);
        snapshot.available = payload.available !== false;
        snapshot.reason = payload.reason || null;
        snapshot.availabilityKnown = true;
        this._emit(deviceId, {
          type: 'availability', available: snapshot.available, reason: snapshot.reason, error: null, changed,
        });
        break;
      }
      case 'trigger': {
        const eventId = toEventId(id);
        if (eventId !== null && this._lastTriggerId !== null && eventId <= this._lastTriggerId) {
          this.droppedTriggers++;
          this._log(`dropping trigger ${payload.card} (event ${eventId}): already handled`);
          break;
        }
        if (eventId !== null) this._lastTriggerId = eventId;
        this._emit(deviceId, { type: 'trigger', card: payload.card, tokens: payload.tokens || {}, eventId });
        break;
      }
      case 'resync':
        // The bridge's event ids may have started again (a restart): count from here.
        this._lastTriggerId = toEventId(id);
        this._log(`bridge asked for a resync: ${payload.reason || 'no reason given'}`);
        this.refreshAll();
        break;
      default:
        this._log(`ignoring unknown event "${event}"`);
    }
  }

  _snapshotFor(deviceId) {
    let snapshot = this._snapshots.get(deviceId);
    if (!snapshot) {
      snapshot = { state: {}, available: true, reason: null, updatedAt: null };
      this._snapshots.set(deviceId, snapshot);
    }
    return snapshot;
  }

  /**
   * A full GET answer; skipped when the stream already brought something newer, and
   * without the fields the stream brought after the read was asked (`asked`).
   */
  _applyDevice(deviceId, device, asked = Infinity) {
    const cached = this._snapshots.get(deviceId);
    if (cached && isOlder(device.updated_at, cached.updatedAt)) return;
    const state = { ...device.state };
    for (const [field, seq] of Object.entries((cached && cached.fieldSeq) || {})) {
      if (seq > asked) state[field] = cached.state[field];
    }
    const previous = cached ? changedFields(cached.state, state) : {};
    const snapshot = {
      state,
      available: device.available !== false,
      reason: device.unavailable_reason || null,
      updatedAt: device.updated_at || null,
      availabilityKnown: true,
      fieldSeq: cached ? cached.fieldSeq : undefined,
    };
    const changed = Boolean(cached && cached.availabilityKnown && cached.available !== snapshot.available);
    this._snapshots.set(deviceId, snapshot);
    this._emit(deviceId, {
      type: 'state', state: { ...snapshot.state }, updatedAt: snapshot.updatedAt, full: true, previous,
      current: withChanges(snapshot, previous),
    });
    this._emit(deviceId, {
      type: 'availability', available: snapshot.available, reason: snapshot.reason, error: null, changed,
    });
  }

  _emit(deviceId, event) {
    if (deviceId && (event.type === 'state' || event.type === 'availability')) {
      for (const watcher of [...this._watchers]) safeCall(watcher, { deviceId, ...event });
    }
    const set = deviceId && this._listeners.get(deviceId);
    if (!set) return;
    for (const listener of [...set]) safeCall(listener, event);
  }

  _emitAll(event) {
    for (const watcher of [...this._watchers]) safeCall(watcher, { deviceId: null, ...event });
    for (const set of this._listeners.values()) {
      for (const listener of [...set]) safeCall(listener, event);
    }
  }
}

/** For each field of `next` already known with a different value: that earlier value. */
function changedFields(current, next) {
  const previous = {};
  for (const [field, value] of Object.entries(next)) {
    if (!Object.prototype.hasOwnProperty.call(current, field)) continue;
    const before = current[field];
    if (before === value) continue;
    if (typeof value === 'object' && value !== null && JSON.stringify(before) === JSON.stringify(value)) continue;
    previous[field] = before;
  }
  return previous;
}

function withChanges(snapshot, previous) {
  return Object.keys(previous).length ? { ...snapshot.state } : null;
}

function toEventId(id) {
  const number = Number(id);
  return id != null && id !== '' && Number.isSafeInteger(number) ? number : null;
}

function isOlder(candidate, current) {
  const a = Date.parse(candidate);
  const b = Date.parse(current);
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

function safeCall(listener, event) {
  try {
    listener(event);
  } catch (err) {
    // Listeners handle their own errors; one device must not break the others.
  }
}

module.exports = { BridgeConnection, TRANSPORT_HTTP, TRANSPORT_HOMEY_APP };
