'use strict';

/*
 * The bridge's API (v1) as methods, whichever way the requests travel: BridgeClient
 * sends them over HTTP to a bridge on the LAN, AppApiClient through Homey's app API to
 * the Kraken Backend app on this Homey. A subclass supplies `_json(method, path,
 * {auth, body})`, which resolves with the answer's JSON body or throws a BridgeError;
 * the checks on what comes back live here, once.
 */

const { BridgeConfigError, BridgeHttpError } = require('./errors');

class BridgeApi {
  /** GET /health (no token needed over HTTP). */
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

  /** Sends one request; resolves with the answer's JSON body. */
  async _json(method, path) {
    throw new Error(`${this.constructor.name} cannot send ${method} ${path}: a subclass sends the requests`);
  }
}

function badResponse(path, why) {
  return new BridgeHttpError('bad_response', `Unexpected answer from ${path}: ${why}`, { params: { path } });
}

module.exports = { BridgeApi, badResponse };
