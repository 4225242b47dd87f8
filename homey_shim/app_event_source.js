'use strict';

/*
 * The bridge's events from the Kraken Backend app on this Homey, handed to
 * BridgeConnection exactly as EventStream hands over the SSE stream's: the same
 * callbacks and the same {event, data, id} objects (data already parsed).
 *
 * The app pushes each bridge event with `homey.api.realtime(type, {id, data})`; they
 * arrive here as the ApiApp's 'realtime' events. A push is fire and forget, so the
 * source also reads GET /events?after=<last id seen>, which answers what came after
 * that id, or a resync and every device's whole state when the app no longer keeps
 * it (the rule of SSE's Last-Event-ID). It reads it:
 *   - at start (no id yet: every device's whole state, as a new SSE client gets),
 *   - when the app comes back: its 'install' event, a push while it was down, or the
 *     next attempt after a failure (waits of 1 s, 2 s, 4 s … as EventStream),
 *   - after any call that Homey could not deliver (AppApiClient.onUnreachable),
 *   - when a push skips an id (a push was lost) or is a resync (the app's way to say
 *     pushes were dropped), and every pollIntervalMs otherwise, which also notices an
 *     app that stopped without a word.
 * Pushes that arrive while a read is under way wait for it; then, and from then on,
 * a push whose id is not above the last one seen is dropped. So no event is lost or
 * handed over twice across an outage.
 */

const { backoffDelayMs, wakeableSleep } = require('./event_stream');

/** What the Kraken Backend pushes (docs/bridge-api.md, "The same API inside Homey"). */
const BRIDGE_EVENT_TYPES = new Set(['state', 'availability', 'trigger', 'resync']);

class AppEventSource {
  /**
   * @param {object} options
   * @param {import('./app_api_client').AppApiClient} options.client
   * @param {(event: {event: string, data: object, id: string|null}) => void} options.onEvent
   * @param {(info: {resumed: boolean}) => void} [options.onOpen]  the app answers (again)
   * @param {(err: Error, info: {attempt: number, delayMs: number, opened: boolean}) => void} [options.onFailure]
   * @param {(err: Error) => void} [options.onDrop]  the app was answering and a read failed; retried at once
   * @param {{setTimeout: Function, clearTimeout: Function}} options.timers  e.g. this.homey
   * @param {number} [options.initialDelayMs]
   * @param {number} [options.maxDelayMs]
   * @param {number} [options.jitter]
   * @param {() => number} [options.random]
   * @param {number} [options.pollIntervalMs]  how often to read GET /events while pushes come
   * @param {number} [options.maxBuffered]     pushes kept while a read is under way
   */
  constructor({
    client, onEvent, onOpen = () => {}, onFailure = () => {}, onDrop = () => {}, timers,
    initialDelayMs = 1000, maxDelayMs = 60000, jitter = 0.2, random = Math.random,
    pollIntervalMs = 30000, maxBuffered = 1000,
  }) {
    this._client = client;
    this._apiApp = client.apiApp;
    this._onEvent = onEvent;
    this._onOpen = onOpen;
    this._onFailure = onFailure;
    this._onDrop = onDrop;
    this._timers = timers;
    this._backoff = {
      initialDelayMs, maxDelayMs, jitter, random,
    };
    this._pollIntervalMs = pollIntervalMs;
    this._maxBuffered = maxBuffered;
    this._running = false;
    this._open = false; // the last read succeeded
    this._reading = false;
    this._buffered = []; // pushes that came while a read was under way
    this._wake = null;
    this._wakeSoon = false; // something asked for a read while one was under way
    this.lastEventId = null; // the highest event id handed over (a number)
    this.droppedEvents = 0; // pushes that had been handed over already
    this._listeners = {
      realtime: (first, second) => this._onRealtime(first, second),
      install: () => this._readNow(),
      uninstall: () => this._readNow(),
    };
  }

  get running() {
    return this._running;
  }

  start() {
    if (this._running) return;
    this._running = true;
    for (const [name, listener] of Object.entries(this._listeners)) this._apiApp.on(name, listener);
    // A read that fails tells the client too: that one is this loop's own to retry.
    this._client.onUnreachable = () => {
      if (!this._reading) this._readNow();
    };
    this._loop = this._run().catch(() => {}); // _run reports its own errors
  }

  /** Stops listening; resolves once the loop has ended. */
  async stop() {
    if (!this._running) return;
    this._running = false;
    for (const [name, listener] of Object.entries(this._listeners)) this._apiApp.removeListener(name, listener);
    this._client.onUnreachable = null;
    if (this._wake) this._wake();
    await this._loop;
  }

  async _run() {
    let failures = 0;
    while (this._running) {
      try {
        await this._read();
        failures = 0;
      } catch (err) {
        if (!this._running) break;
        const wasOpen = this._open;
        this._open = false;
        if (wasOpen) {
          this._onDrop(err);
          continue;
        }
        failures++;
        const delayMs = backoffDelayMs(failures, this._backoff);
        this._onFailure(err, { attempt: failures, delayMs, opened: false });
        await this._sleep(delayMs);
        continue;
      }
      if (this._running) await this._sleep(this._pollIntervalMs);
    }
  }

  /** GET /events after the last id seen, hand it over, then the pushes that came meanwhile. */
  async _read() {
    this._reading = true;
    this._wakeSoon = false;
    this._buffered = [];
    try {
      const events = await this._client.getEvents(this.lastEventId);
      if (!this._running) return;
      if (!this._open) {
        this._open = true;
        this._onOpen({ resumed: this.lastEventId != null });
      }
      // The app answered for exactly "after lastEventId": all of it is new, and after a
      // resync its ids may even start lower.
      for (const { type, id, data } of events) this._handOver(type, id, data);
      const buffered = this._buffered;
      this._buffered = [];
      for (const { type, id, data } of buffered) this._takePush(type, id, data);
    } finally {
      this._reading = false;
      this._buffered = [];
    }
  }

  _onRealtime(first, second) {
    if (!this._running) return;
    // Athom's ApiApp example shows the listener with one argument, the Python SDK emits
    // (event, data): take either. Homey pushes its own events on the same channel
    // (`settings.set` when the backend's settings change): only the bridge's count.
    const [type, payload] = first && typeof first === 'object' ? [first.event, first.data] : [first, second];
    if (!BRIDGE_EVENT_TYPES.has(type)) return;
    const { id = null, data } = payload && typeof payload === 'object' ? payload : {};
    if (this._reading || !this._open) {
      if (this._buffered.length < this._maxBuffered) this._buffered.push({ type, id, data });
      if (!this._reading) this._readNow(); // the app is back
      return;
    }
    this._takePush(type, id, data);
  }

  /** A push after the read: dropped when seen already, a read when one was missed. */
  _takePush(type, id, data) {
    if (type === 'resync') {
      // Pushed, a resync says "you fell behind: read what came after the last one
      // seen"; that read hands over what was missed (or the app's own resync).
      this._readNow();
      return;
    }
    const eventId = toEventId(id);
    if (eventId !== null && this.lastEventId !== null) {
      if (eventId <= this.lastEventId) {
        this.droppedEvents++;
        return;
      }
      if (eventId > this.lastEventId + 1) {
        // A push went missing: read what came after the last one instead.
        this._readNow();
        return;
      }
    }
    this._handOver(type, id, data);
  }

  _handOver(type, id, data) {
    const eventId = toEventId(id);
    if (eventId !== null) this.lastEventId = eventId;
    try {
      this._onEvent({ event: type, data, id: eventId === null ? null : String(eventId) });
    } catch (err) {
      // A listener's bug must not stop the events.
    }
  }

  /** Ends the current wait so that a read follows at once. */
  _readNow() {
    if (!this._running) return;
    if (this._wake) this._wake();
    else this._wakeSoon = true;
  }

  _sleep(ms) {
    if (this._wakeSoon) {
      this._wakeSoon = false;
      return Promise.resolve();
    }
    return wakeableSleep(this, ms);
  }
}

function toEventId(id) {
  const number = Number(id);
  return id != null && id !== '' && Number.isSafeInteger(number) ? number : null;
}

module.exports = { AppEventSource };
