'use strict';

/*
 * Keeps one Server-Sent Events connection to the bridge open: reads the fetch body
 * stream, parses it, hands out events, and reconnects with Last-Event-ID and a capped
 * exponential backoff. It knows nothing of devices.
 *
 * Reconnect policy: when an open stream drops, the first reconnect is immediate (a
 * bridge restart or a proxy timeout should not make devices flap); each failed attempt
 * is reported through onFailure and waits 1 s, 2 s, 4 s … up to maxMs before the next.
 * A stream that sends nothing, not even its 15 s keepalive comment, for idleTimeoutMs
 * is treated as dead.
 */

const { SseParser } = require('./sse_parser');
const { BridgeConnectionError } = require('./errors');

class EventStream {
  /**
   * @param {object} options
   * @param {(opts: {lastEventId: string|null, signal: AbortSignal}) => Promise<Response>} options.open
   * @param {(event: {event: string, data: string, id: string|null}) => void} options.onEvent
   * @param {(info: {resumed: boolean}) => void} [options.onOpen]   connected (again)
   * @param {(err: Error, info: {attempt: number, delayMs: number}) => void} [options.onFailure]
   *        a connect attempt failed; the next one follows after delayMs
   * @param {(err: Error) => void} [options.onDrop]  an open stream ended or broke
   * @param {{setTimeout: Function, clearTimeout: Function}} options.timers  e.g. this.homey
   * @param {number} [options.initialDelayMs]
   * @param {number} [options.maxDelayMs]
   * @param {number} [options.idleTimeoutMs]
   */
  constructor({
    open, onEvent, onOpen = () => {}, onFailure = () => {}, onDrop = () => {}, timers,
    initialDelayMs = 1000, maxDelayMs = 60000, idleTimeoutMs = 45000,
  }) {
    this._open = open;
    this._onEvent = onEvent;
    this._onOpen = onOpen;
    this._onFailure = onFailure;
    this._onDrop = onDrop;
    this._timers = timers;
    this._initialDelayMs = initialDelayMs;
    this._maxDelayMs = maxDelayMs;
    this._idleTimeoutMs = idleTimeoutMs;
    this._running = false;
    this._controller = null;
    this._reader = null;
    this._wake = null;
    this.lastEventId = null;
  }

  get running() {
    return this._running;
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._loop = this._run().catch(() => {}); // _run reports its own errors
  }

  /** Closes the stream; resolves once the loop has ended. */
  async stop() {
    if (!this._running) return;
    this._running = false;
    if (this._controller) this._controller.abort();
    if (this._reader) this._reader.cancel().catch(() => {});
    if (this._wake) this._wake();
    await this._loop;
  }

  async _run() {
    let failures = 0;
    while (this._running) {
      const controller = new AbortController();
      this._controller = controller;
      let opened = false;
      let error;
      try {
        const response = await this._open({ lastEventId: this.lastEventId, signal: controller.signal });
        if (!this._running) break;
        opened = true;
        failures = 0;
        this._onOpen({ resumed: this.lastEventId != null });
        await this._consume(response.body, controller);
        error = new BridgeConnectionError('stream_closed', 'The bridge closed the event stream');
      } catch (err) {
        error = err;
      } finally {
        controller.abort();
      }
      if (!this._running) break;

      let delayMs = 0;
      if (opened) {
        this._onDrop(error);
      } else {
        failures++;
        delayMs = Math.min(this._maxDelayMs, this._initialDelayMs * 2 ** (failures - 1));
        this._onFailure(error, { attempt: failures, delayMs });
      }
      if (delayMs > 0) await this._sleep(delayMs);
    }
    this._controller = null;
  }

  async _consume(body, controller) {
    if (!body) throw new BridgeConnectionError('stream_closed', 'The event stream had no body');
    const reader = body.getReader();
    this._reader = reader;
    const decoder = new TextDecoder('utf-8');
    const parser = new SseParser();
    try {
      for (;;) {
        const { done, value } = await this._readWithIdleTimeout(reader, controller);
        if (done) return;
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (event.id != null) this.lastEventId = event.id;
          try {
            this._onEvent(event);
          } catch (err) {
            // A listener's bug must not tear down the shared stream.
          }
        }
        if (parser.lastEventId != null) this.lastEventId = parser.lastEventId;
      }
    } finally {
      this._reader = null;
      reader.cancel().catch(() => {});
    }
  }

  _readWithIdleTimeout(reader, controller) {
    let timer;
    const idle = new Promise((resolve, reject) => {
      timer = this._timers.setTimeout(() => {
        reject(new BridgeConnectionError(
          'stream_idle', `No data from the bridge for ${Math.round(this._idleTimeoutMs / 1000)} s`,
        ));
        controller.abort();
        reader.cancel().catch(() => {});
      }, this._idleTimeoutMs);
    });
    return Promise.race([reader.read(), idle]).finally(() => this._timers.clearTimeout(timer));
  }

  _sleep(ms) {
    return new Promise(resolve => {
      const timer = this._timers.setTimeout(() => {
        this._wake = null;
        resolve();
      }, ms);
      this._wake = () => {
        this._timers.clearTimeout(timer);
        this._wake = null;
        resolve();
      };
    });
  }
}

module.exports = { EventStream };
