'use strict';

/*
 * One error tree for everything the bridge client can fail with.
 *   BridgeError                 base: `code` names a locale key under errors.*, `params` fill it
 *   ├─ BridgeConfigError        no or malformed address/token (code: not_configured, bad_url, missing_token)
 *   ├─ BridgeConnectionError    the bridge cannot be reached (code: unreachable, timeout,
 *   │                           stream_closed, stream_idle; over Homey's app API:
 *   │                           backend_not_installed, backend_not_running, backend_timeout)
 *   ├─ BridgeAuthError          401/403: the token was refused (code: unauthorized)
 *   └─ BridgeHttpError          any other non-2xx answer (code: not_found, http_error) and
 *                               answers that are not the JSON we expect (code: bad_response)
 * `message` is plain English for logs; what a person sees comes from locales/ via describeError.
 */

class BridgeError extends Error {
  constructor(code, message, { params = {}, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.params = params;
  }
}

class BridgeConfigError extends BridgeError {}
class BridgeConnectionError extends BridgeError {}
class BridgeAuthError extends BridgeError {}

class BridgeHttpError extends BridgeError {
  /** @param {{status?: number, retryAfter?: number|null}} options  retryAfter: seconds, from Retry-After */
  constructor(code, message, { status, retryAfter = null, ...rest } = {}) {
    super(code, message, rest);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * The error for a refused request, whichever transport carried the answer: the HTTP
 * client reads it from the response, the app-API client from the envelope, and both
 * build the same error from the same parts.
 * @param {object} answer
 * @param {number} answer.status        the HTTP status (or the one the envelope names)
 * @param {*} [answer.body]             the parsed JSON body, if it was JSON
 * @param {string} [answer.text]        the body as text
 * @param {string} [answer.statusText]  the fallback when the body says nothing
 * @param {string|null} [answer.retryAfter]  the Retry-After header
 * @param {string} path                 the API path, for the log message
 */
function refusalError({ status, body, text = '', statusText = '', retryAfter = null }, path) {
  let detail = body && typeof body === 'object' ? formatDetail(body.detail) : '';
  detail = String(detail || text || statusText || '').slice(0, 300);
  if (status === 401 || status === 403) {
    return new BridgeAuthError('unauthorized', `Bridge refused the token (HTTP ${status}): ${detail}`, {
      params: { status, detail },
    });
  }
  const code = status === 404 ? 'not_found' : 'http_error';
  return new BridgeHttpError(code, `Bridge answered HTTP ${status} for ${path}: ${detail}`, {
    status, retryAfter: retryAfterSeconds(retryAfter), params: { status, detail, path },
  });
}

/** FastAPI puts a string in `detail`, or a list of validation problems. */
function formatDetail(detail) {
  if (detail == null) return '';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map(item => (item && item.msg) || JSON.stringify(item)).join('; ');
  return JSON.stringify(detail);
}

/** The bridge sends Retry-After as whole seconds; anything else is ignored. */
function retryAfterSeconds(value) {
  if (value == null || !/^\s*\d+\s*$/.test(String(value))) return null;
  return Number(value);
}

/**
 * A sentence a person can act on, in the Homey's language, for any error.
 * @param {{ __: (key: string, tokens?: object) => string }} homey
 * @param {Error} err
 */
function describeError(homey, err) {
  if (err instanceof BridgeError) {
    const params = { ...err.params };
    if (params.network) params.detail = translate(homey, `network.${params.network}`, {}) || params.detail;
    const text = translate(homey, `errors.${err.code}`, params);
    if (text) return text;
  }
  return err && err.message ? err.message : String(err);
}

function translate(homey, key, tokens) {
  try {
    const text = homey.__(key, tokens);
    return typeof text === 'string' && text !== key ? text : null;
  } catch (err) {
    return null;
  }
}

module.exports = {
  BridgeError,
  BridgeConfigError,
  BridgeConnectionError,
  BridgeAuthError,
  BridgeHttpError,
  refusalError,
  describeError,
  translate,
};
