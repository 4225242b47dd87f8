'use strict';

/*
 * The bridge's API through Homey's app API: the Kraken Backend app (the bridge as a
 * Python app on this Homey) answers the same routes as the REST API, reached with
 * `this.homey.api.getApiApp(BACKEND_APP_ID)`. Every call resolves to an envelope
 *   {status, body, headers?}
 * holding the HTTP status and the JSON body the REST route would give. A 2xx gives the
 * body; any other status becomes the very error the HTTP client makes of that answer
 * (errors.js refusalError), so everything above the client reads them alike. A call
 * that rejects means Homey could not reach the app: it is not installed or not
 * running (BridgeConnectionError, as for a bridge that cannot be reached).
 */

const { STATUS_CODES } = require('http');
const { BridgeApi, badResponse } = require('./bridge_api');
const { BridgeConnectionError, refusalError } = require('./errors');

const BACKEND_APP_ID = 'uk.co.krakenbridge.backend';
const DEFAULT_TIMEOUT_MS = 10000;
const SEND = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'delete' };

class AppApiClient extends BridgeApi {
  /**
   * @param {object} options
   * @param {import('events').EventEmitter & {get: Function, post: Function, put: Function,
   *        delete: Function, getInstalled: () => Promise<boolean>}} options.apiApp
   *        what this.homey.api.getApiApp(BACKEND_APP_ID) returns
   * @param {string} [options.appId]
   * @param {number} [options.timeoutMs]  per call
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]  e.g. this.homey
   */
  constructor({ apiApp, appId = BACKEND_APP_ID, timeoutMs = DEFAULT_TIMEOUT_MS, timers = globalThis }) {
    super();
    this.apiApp = apiApp;
    this.appId = appId;
    this._timeoutMs = timeoutMs;
    this._timers = timers;
    /** (err) => void, told of every call Homey could not deliver (the event source listens). */
    this.onUnreachable = null;
  }

  /** What the log calls this bridge. */
  get label() {
    return `the Kraken Backend app (${this.appId})`;
  }

  /**
   * GET /events?after=<id> → [{id, type, data}]: the events after that id while the app
   * still keeps them, else a resync event and every device's whole state; without an
   * id, every device's whole state (what a new SSE client gets first).
   */
  async getEvents(after = null) {
    const path = after == null ? '/events' : `/events?after=${encodeURIComponent(after)}`;
    const answer = await this._json('GET', path);
    if (!answer || !Array.isArray(answer.events)) throw badResponse('/events', 'expected {events: [...]}');
    return answer.events;
  }

  /** Whether Homey has the Kraken Backend app installed; null when Homey cannot say. */
  async installed() {
    try {
      return (await this._withTimeout(this.apiApp.getInstalled(), 'getInstalled')) === true;
    } catch (err) {
      return null;
    }
  }

  async _json(method, path, { body } = {}) {
    let envelope;
    try {
      const send = this.apiApp[SEND[method]].bind(this.apiApp);
      envelope = await this._withTimeout(method === 'POST' || method === 'PUT' ? send(path, body) : send(path), path);
    } catch (err) {
      const error = err instanceof BridgeConnectionError ? err : await this._unreachable(err);
      if (this.onUnreachable) this.onUnreachable(error);
      throw error;
    }
    return unwrap(envelope, path);
  }

  _withTimeout(promise, what) {
    let timer;
    const timeout = new Promise((resolve, reject) => {
      timer = this._timers.setTimeout(() => reject(new BridgeConnectionError(
        'backend_timeout', `No answer from ${this.label} to ${what} within ${this._timeoutMs} ms`, { params: { app: this.appId } },
      )), this._timeoutMs);
    });
    return Promise.race([Promise.resolve(promise), timeout]).finally(() => this._timers.clearTimeout(timer));
  }

  /** A call Homey could not deliver: the app is not installed, or installed and not running. */
  async _unreachable(cause) {
    const detail = String((cause && cause.message) || cause || 'no answer').slice(0, 300);
    const params = { app: this.appId, detail };
    if ((await this.installed()) === false) {
      return new BridgeConnectionError('backend_not_installed',
        `The Kraken Backend app (${this.appId}) is not installed on this Homey: ${detail}`, { params, cause });
    }
    return new BridgeConnectionError('backend_not_running',
      `The Kraken Backend app (${this.appId}) is not running: ${detail}`, { params, cause });
  }
}

/** The body of a 2xx envelope; the HTTP client's error for any other status. */
function unwrap(envelope, path) {
  if (!envelope || typeof envelope !== 'object' || !Number.isInteger(envelope.status)) {
    throw badResponse(path, 'not an answer of the Kraken Backend app ({status, body})');
  }
  const { status, body = null, headers } = envelope;
  if (status >= 200 && status < 300) return body;
  throw refusalError({
    status,
    body,
    text: body == null ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    statusText: STATUS_CODES[status] || '',
    retryAfter: header(headers, 'retry-after'),
  }, path);
}

/** A header of the envelope, whatever its case. */
function header(headers, name) {
  if (!headers || typeof headers !== 'object') return null;
  const key = Object.keys(headers).find(candidate => candidate.toLowerCase() === name);
  return key === undefined ? null : headers[key];
}

module.exports = { AppApiClient, BACKEND_APP_ID };
