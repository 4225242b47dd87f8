'use strict';

/*
 * The one request path to the kraken-bridge REST API (v1) over HTTP: base URL, bearer
 * token, timeouts, and errors a person can read. Holds no state beyond its
 * configuration. The API's methods live in bridge_api.js.
 */

const {
  BridgeConfigError,
  BridgeConnectionError,
  BridgeAuthError,
  BridgeHttpError,
  refusalError,
} = require('./errors');
const { BridgeApi, badResponse } = require('./bridge_api');

const API_PREFIX = '/api/v1';
const DEFAULT_TIMEOUT_MS = 10000;
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Accepts what a person types ("192.168.1.20:8765", "http://host:8765/", ".../api/v1")
 * and returns the bridge's base URL without a trailing slash or API prefix.
 */
function normalizeBridgeUrl(input) {
  let text = String(input == null ? '' : input).trim();
  if (!text) throw new BridgeConfigError('not_configured', 'No bridge address given');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  let url;
  try {
    url = new URL(text);
  } catch (err) {
    throw new BridgeConfigError('bad_url', `Not a valid bridge address: ${input}`, { params: { url: String(input) } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BridgeConfigError('bad_url', `Not an http(s) address: ${input}`, { params: { url: String(input) } });
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${path}`;
}

class BridgeClient extends BridgeApi {
  /**
   * @param {object} options
   * @param {string} options.url     bridge base URL (normalised here)
   * @param {string} options.token   bearer token
   * @param {typeof fetch} [options.fetch]
   * @param {number} [options.timeoutMs]  per request, until the whole JSON body is read
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]  e.g. this.homey
   */
  constructor({ url, token, fetch = globalThis.fetch, timeoutMs = DEFAULT_TIMEOUT_MS, timers = globalThis }) {
    super();
    this.baseUrl = normalizeBridgeUrl(url);
    if (!token || !String(token).trim()) throw new BridgeConfigError('missing_token', 'No bridge token given');
    this._token = String(token).trim();
    this._fetch = fetch;
    this._timeoutMs = timeoutMs;
    this._timers = timers;
  }

  /** What the log calls this bridge. */
  get label() {
    return this.baseUrl;
  }

  /**
   * GET /events. Resolves with the open Response once headers arrive (the connect
   * timeout applies only until then); the caller reads `response.body` and aborts
   * `signal` to close it.
   */
  async openEventStream({ lastEventId = null, signal } = {}) {
    const headers = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
    if (lastEventId != null) headers['Last-Event-ID'] = String(lastEventId);
    const response = await this._send('GET', '/events', { headers, signal });
    const type = response.headers.get('content-type') || '';
    if (!type.includes('text/event-stream')) {
      response.body?.cancel().catch(() => {});
      throw badResponse('/events', `expected text/event-stream, got "${type}"`);
    }
    return response;
  }

  async _json(method, path, options = {}) {
    return this._send(method, path, { ...options, readJson: true });
  }

  /**
   * Sends one request. With readJson the timeout covers reading the body too and the
   * parsed JSON is returned; otherwise the Response is returned after a 2xx status.
   */
  async _send(method, path, { auth = true, body, headers = {}, signal, readJson = false } = {}) {
    const url = `${this.baseUrl}${API_PREFIX}${path}`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = this._timers.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this._timeoutMs);
    const onCallerAbort = () => controller.abort(signal.reason);
    if (signal) {
      if (signal.aborted) onCallerAbort();
      else signal.addEventListener('abort', onCallerAbort, { once: true });
    }

    const requestHeaders = { Accept: 'application/json', ...headers };
    if (auth) requestHeaders.Authorization = `Bearer ${this._token}`;
    if (body !== undefined) requestHeaders['Content-Type'] = 'application/json';

    let connected = false;
    try {
      const response = await this._fetch(url, {
        method,
        headers: requestHeaders,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      connected = true;
      if (!response.ok) throw await httpError(response, path);
      if (!readJson) return response;
      const text = await response.text();
      try {
        return text ? JSON.parse(text) : null;
      } catch (err) {
        throw badResponse(path, 'not JSON');
      }
    } catch (err) {
      if (signal && signal.aborted) throw err; // the caller stopped us: not a bridge failure
      if (timedOut) {
        throw new BridgeConnectionError('timeout', `No answer from ${this.baseUrl} within ${this._timeoutMs} ms`, {
          params: { url: this.baseUrl }, cause: err,
        });
      }
      if (err instanceof BridgeHttpError || err instanceof BridgeAuthError) throw err;
      throw networkError(err, this.baseUrl, connected);
    } finally {
      // For the event stream this runs once the headers are in: the timeout guards
      // connecting only, and the stream's own idle watchdog takes over from there.
      this._timers.clearTimeout(timer);
      // A streamed response stays tied to the caller's signal: aborting it closes the body.
      const streaming = connected && !readJson && !timedOut;
      if (signal && !streaming) signal.removeEventListener('abort', onCallerAbort);
    }
  }
}

async function httpError(response, path) {
  let text = '';
  try {
    text = await response.text();
  } catch (err) {
    text = '';
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch (err) {
    body = undefined;
  }
  return refusalError({
    status: response.status,
    body,
    text,
    statusText: response.statusText,
    retryAfter: response.headers.get('retry-after'),
  }, path);
}

function networkError(err, url, connected) {
  const cause = err && err.cause;
  const code = (cause && cause.code) || (err && err.code) || '';
  const network = NETWORK_CODES.has(code) ? code : 'other';
  const detail = (cause && cause.message) || (err && err.message) || 'network error';
  const what = connected ? 'Lost the connection to' : 'Cannot reach';
  return new BridgeConnectionError('unreachable', `${what} ${url}: ${code || detail}`, {
    params: { url, network, detail }, cause: err,
  });
}

module.exports = { BridgeClient, normalizeBridgeUrl, API_PREFIX };
