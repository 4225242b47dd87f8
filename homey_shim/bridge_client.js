'use strict';

/*
 * The one request path to the kraken-bridge REST API (v1): base URL, bearer token,
 * timeouts, and errors a person can read. Holds no state beyond its configuration.
 */

const {
  BridgeConfigError,
  BridgeConnectionError,
  BridgeAuthError,
  BridgeHttpError,
} = require('./errors');

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

class BridgeClient {
  /**
   * @param {object} options
   * @param {string} options.url     bridge base URL (normalised here)
   * @param {string} options.token   bearer token
   * @param {typeof fetch} [options.fetch]
   * @param {number} [options.timeoutMs]  per request, until the whole JSON body is read
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]  e.g. this.homey
   */
  constructor({ url, token, fetch = globalThis.fetch, timeoutMs = DEFAULT_TIMEOUT_MS, timers = globalThis }) {
    this.baseUrl = normalizeBridgeUrl(url);
    if (!token || !String(token).trim()) throw new BridgeConfigError('missing_token', 'No bridge token given');
    this._token = String(token).trim();
    this._fetch = fetch;
    this._timeoutMs = timeoutMs;
    this._timers = timers;
  }

  /** GET /health, no token needed. */
  health() {
    return this._json('GET', '/health', { auth: false });
  }

  /** GET /devices → [{id, kind, name}] */
  async listDevices() {
    const devices = await this._json('GET', '/devices');
    if (!Array.isArray(devices)) throw badResponse('/devices', 'expected a list');
    return devices;
  }

  /** GET /devices/{id} → {id, kind, name, available, unavailable_reason, updated_at, state} */
  async getDevice(deviceId) {
    const device = await this._json('GET', `/devices/${encodeURIComponent(deviceId)}`);
    if (!device || typeof device !== 'object' || typeof device.state !== 'object') {
      throw badResponse(`/devices/${deviceId}`, 'expected a device with a state');
    }
    return device;
  }

  /** POST /devices/{id}/actions/{action} with a JSON body. */
  runAction(deviceId, action, body = {}) {
    const path = `/devices/${encodeURIComponent(deviceId)}/actions/${encodeURIComponent(action)}`;
    return this._json('POST', path, { body });
  }

  /**
   * GET /timeline?date=YYYY-MM-DD → a London day's half-hours as the bridge prices them
   * ({date, now, current_slot, slots, dispatches, …}); no date: the bridge's today.
   */
  async getTimeline(date) {
    if (date != null && !/^\d{4}-\d{2}-\d{2}$/.test(String(date))) {
      throw new BridgeConfigError('bad_date', `Not a date (YYYY-MM-DD): ${date}`, { params: { date: String(date) } });
    }
    return this._json('GET', date == null ? '/timeline' : `/timeline?date=${encodeURIComponent(date)}`);
  }

  /** GET /settings → {poll_interval_minutes, allowance_limit_minutes, allowance_day_start} */
  getSettings() {
    return this._json('GET', '/settings');
  }

  /** PUT /settings with any of the fields; answers the whole set (422 names a bad field). */
  putSettings(settings) {
    return this._json('PUT', '/settings', { body: settings });
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

function badResponse(path, why) {
  return new BridgeHttpError('bad_response', `Unexpected answer from ${path}: ${why}`, { params: { path } });
}

async function httpError(response, path) {
  let detail = '';
  try {
    const text = await response.text();
    try {
      detail = formatDetail(JSON.parse(text).detail) || text;
    } catch (err) {
      detail = text;
    }
  } catch (err) {
    detail = '';
  }
  detail = String(detail || response.statusText || '').slice(0, 300);
  const status = response.status;
  if (status === 401 || status === 403) {
    return new BridgeAuthError('unauthorized', `Bridge refused the token (HTTP ${status}): ${detail}`, {
      params: { status, detail },
    });
  }
  const code = status === 404 ? 'not_found' : 'http_error';
  return new BridgeHttpError(code, `Bridge answered HTTP ${status} for ${path}: ${detail}`, {
    status, params: { status, detail, path },
  });
}

/** FastAPI puts a string in `detail`, or a list of validation problems. */
function formatDetail(detail) {
  if (detail == null) return '';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map(item => (item && item.msg) || JSON.stringify(item)).join('; ');
  return JSON.stringify(detail);
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
