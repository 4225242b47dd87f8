'use strict';

/*
 * Keeps one Server-Sent Events connection to the bridge open: reads the fetch body
 * stream, parses it, hands out events, and reconnects with Last-Event-ID and a capped
 * exponential backoff. It knows nothing of devices.
 *
 * Reconnect policy: a stream that proved itself (it delivered an event, or stayed open
 * for stableAfterMs) and then dropped is reopened at once (a bridge restart or a proxy
 * timeout should not make devices flap). Anything else is a failure, reported through
 * onFailure and followed by a wait of 1 s, 2 s, 4 s … up to maxDelayMs, each shortened by
 * up to a fifth at random so that many apps do not come back in step: a refused or
 * unreachable bridge, a stream that opens and ends without an event (a server that
 * answers 200 and closes at once), a stream the parser refused (a line or an event past
 * its limit). The count of failures starts again once a stream proves itself, unless
 * streams keep being refused after their first events.
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
   * @param {(err: Error, info: {attempt: number, delayMs: number, opened: boolean}) => void} [options.onFailure]
   *        a connect attempt failed, or its stream ended before proving itself or was
   *        refused (opened: the stream had opened); the next attempt follows after delayMs
   * @param {(err: Error) => void} [options.onDrop]  a stream that proved itself ended or broke
   * @param {{setTimeout: Function, clearTimeout: Function}} options.timers  e.g. this.homey
   * @param {number} [options.initialDelayMs]
   * @param {number} [options.maxDelayMs]
   * @param {number} [options.idleTimeoutMs]
   * @param {number} [options.stableAfterMs]  an open stream this old counts as working
   * @param {number} [options.jitter]  each wait is shortened by up to this share of it
   * @param {() => number} [options.random]  0 ≤ x < 1, for the jitter
   * @param {{maxLineChars?: number, maxEventChars?: number}} [options.limits]  for the parser
   */
  constructor({
    open, onEvent, onOpen = () => {}, onFailure = () => {}, onDrop = () => {}, timers,
    initialDelayMs = 1000, maxDelayMs = 60000, idleTimeoutMs = 45000, stableAfterMs = 30000,
    jitter = 0.2, random = Math.random, limits = {},
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
    this._stableAfterMs = stableAfterMs;
    this._jitter = jitter;
    this._random = random;
    this._limits = limits;
    this._running = false;
    this._controller = null;
    this._reader = null;
    this._wake = null;
    this._failures = 0; // attempts in a row that failed; 0 once a stream proves itself …
    this._refusals = 0; // … unless streams keep being refused (see _proven)
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
    this._failures = 0;
    this._refusals = 0;
    while (this._running) {
      const controller = new AbortController();
      this._controller = controller;
      const attempt = { opened: false, proven: false, refused: false, events: 0 };
      let stableTimer = null;
      let error;
      try {
        const response = await this._open({ lastEventId: this.lastEventId, signal: controller.signal });
        if (!this._running) break;
        attempt.opened = true;
        this._onOpen({ resumed: this.lastEventId != null });
        stableTimer = this._timers.setTimeout(() => this._proven(attempt), this._stableAfterMs);
        await this._consume(response.body, controller, attempt);
        error = attempt.events
          ? new BridgeConnectionError('stream_closed', 'The bridge closed the event stream')
          : new BridgeConnectionError('stream_closed', 'The bridge closed the event stream without sending an event');
      } catch (err) {
        error = err;
      } finally {
        if (stableTimer !== null) this._timers.clearTimeout(stableTimer);
        controller.abort();
      }
      if (!this._running) break;

      if (attempt.proven && !attempt.refused) {
        this._failures = 0;
        this._refusals = 0;
        this._onDrop(error);
        continue;
      }
      if (attempt.refused) this._refusals++;
      this._failures++;
      const delayMs = this._delayMs(this._failures);
      this._onFailure(error, { attempt: this._failures, delayMs, opened: attempt.opened });
      await this._sleep(delayMs);
    }
    this._controller = null;
  }

  /**
   * The stream works: the next failure waits the shortest time again. Not so while
   * streams that deliver a few events keep being refused (a bridge that sends an
   * oversized event after every reconnect): those waits go on growing.
   */
  _proven(attempt) {
    if (attempt.proven) return;
    attempt.proven = true;
    this._failures = this._refusals;
  }

  _delayMs(failures) {
    return backoffDelayMs(failures, {
      initialDelayMs: this._initialDelayMs, maxDelayMs: this._maxDelayMs, jitter: this._jitter, random: this._random,
    });
  }

  async _consume(body, controller, attempt) {
    if (!body) throw new BridgeConnectionError('stream_closed', 'The event stream had no body');
    const reader = body.getReader();
    this._reader = reader;
    const parser = new SseParser(this._limits);
    try {
      for (;;) {
        const { done, value } = await this._readWithIdleTimeout(reader, controller);
        if (done) return;
        for (const event of parser.pushBytes(value)) {
          if (event.id != null) this.lastEventId = event.id;
          attempt.events++;
          this._proven(attempt);
          try {
            this._onEvent(event);
          } catch (err) {
            // A listener's bug must not tear down the shared stream.
          }
          if (!this._running) return;
        }
        if (parser.lastEventId != null) this.lastEventId = parser.lastEventId;
        if (parser.error) {
          attempt.refused = true;
          throw parser.error;
        }
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
    return wakeableSleep(this, ms);
  }
}

/**
 * The wait after `failures` failures in a row: 1x, 2x, 4x … the initial delay up to the
 * cap, less up to `jitter` of it (so that many apps do not come back in step).
 */
/** Sleeps `ms` on `owner._timers`; calling `owner._wake()` meanwhile ends it at once. */
function wakeableSleep(owner, ms) {
  return new Promise(resolve => {
    const timer = owner._timers.setTimeout(() => {
      owner._wake = null;
      resolve();
    }, ms);
    owner._wake = () => {
      owner._timers.clearTimeout(timer);
      owner._wake = null;
      resolve();
    };
  });
}

function backoffDelayMs(failures, { initialDelayMs, maxDelayMs, jitter, random }) {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base * (1 - jitter * random()));
}

module.exports = { EventStream, backoffDelayMs, wakeableSleep };
