'use strict';

/*
 * One error tree for everything the bridge client can fail with.
 *   BridgeError                 base: `code` names a locale key under errors.*, `params` fill it
 *   ├─ BridgeConfigError        no or malformed address/token (code: not_configured, bad_url, missing_token)
 *   ├─ BridgeConnectionError    the bridge cannot be reached (code: unreachable, timeout,
 *   │                           stream_closed, stream_idle)
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
  constructor(code, message, { status, ...rest } = {}) {
    super(code, message, rest);
    this.status = status;
  }
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
  describeError,
  translate,
};
