'use strict';

/*
 * A scripted stand-in for the Kraken Backend app's API (its api.py), for unit tests of
 * the app-API transport; the end-to-end tests use the real Python app (backend_app.js).
 * It answers envelopes {status, body, headers?} through a FakeApiApp: GET /health,
 * /devices, /devices/{id}, /events?after=, /settings, PUT /settings, POST
 * /devices/{id}/actions/{action}. publish() keeps an event and pushes it as a realtime
 * event ({id, data}), unless told the push is lost; a read of /events after an id the
 * app no longer keeps (or from another run) answers a resync and every device's state.
 */

const { FakeApiApp } = require('./fake_homey');
const { BACKEND_APP_ID } = require('../../../homey_shim/app_api_client');

class FakeBackendApp {
  constructor({ firstId = 1 } = {}) {
    this.devices = new Map();
    this.events = []; // {id, type, data}
    this.nextId = firstId;
    this.forgetBefore = 0; // events with ids below this are no longer kept
    this.actionAnswers = {}; // action → envelope
    this.settings = { poll_interval_minutes: 1, allowance_limit_minutes: 360, allowance_day_start: '12:00' };
    this.accountLinked = true;
    this.onEventsRead = null; // (after) => void, called while a read of /events is answered
    this.apiApp = new FakeApiApp(BACKEND_APP_ID, { handler: (method, uri, body) => this._answer(method, uri, body) });
  }

  /** Puts this app on `homey` (a fake homey) before the Homey app starts. */
  installOn(homey) {
    homey.__apiApps.set(BACKEND_APP_ID, this.apiApp);
    return this;
  }

  addDevice(device) {
    this.devices.set(device.id, {
      available: true, unavailable_reason: null, updated_at: '2026-03-10T12:00:00Z', state: {}, ...device,
    });
  }

  /** Keeps an event and pushes it (not when `lost`, or while the app is stopped); returns its id. */
  publish(type, data, { lost = false } = {}) {
    const event = { id: this.nextId++, type, data };
    this.events.push(event);
    if (!lost && this.apiApp.running && this.apiApp.installed) this.apiApp.realtime(type, { id: event.id, data });
    return event.id;
  }

  /** The app restarts: a new run whose ids start at `firstId`, the old events gone. */
  restart({ firstId }) {
    this.events = [];
    this.nextId = firstId;
    this.forgetBefore = firstId;
  }

  eventReads() {
    return this.apiApp.calls.filter(([method, uri]) => method === 'GET' && uri.startsWith('/events')).map(([, uri]) => uri);
  }

  _answer(method, uri, body) {
    const url = new URL(uri, 'http://backend');
    const path = url.pathname;
    const ok = answer => ({ status: 200, body: answer });
    if (path === '/health') return ok({ status: 'ok', version: 'fake', account_linked: this.accountLinked });
    if (path === '/devices') return ok([...this.devices.values()].map(({ id, kind, name }) => ({ id, kind, name })));
    if (path === '/settings') {
      if (method === 'PUT') {
        if (body.poll_interval_minutes !== undefined && ![1, 2, 3, 5].includes(body.poll_interval_minutes)) {
          return { status: 422, body: { detail: 'poll_interval_minutes: Input should be 1, 2, 3 or 5' } };
        }
        Object.assign(this.settings, body);
      }
      return ok(this.settings);
    }
    if (path === '/events') return ok({ events: this._eventsAfter(url.searchParams.get('after')) });
    const action = /^\/devices\/([^/]+)\/actions\/([^/]+)$/.exec(path);
    if (action && method === 'POST') {
      return this.actionAnswers[action[2]] || ok({ message: `${action[2]} done`, body });
    }
    const device = /^\/devices\/([^/]+)$/.exec(path);
    if (device) {
      const found = this.devices.get(decodeURIComponent(device[1]));
      return found ? ok(found) : { status: 404, body: { detail: `No device '${device[1]}' on this bridge` } };
    }
    return { status: 404, body: { detail: 'Not Found' } };
  }

  _eventsAfter(afterText) {
    if (this.onEventsRead) this.onEventsRead(afterText);
    const last = this.nextId - 1;
    if (afterText !== null) {
      const after = Number(afterText);
      if (after >= this.forgetBefore - 1 && after <= last) return this.events.filter(event => event.id > after);
    }
    const full = [];
    if (afterText !== null) full.push({ id: last, type: 'resync', data: { reason: 'events since the last one seen are no longer kept' } });
    for (const device of this.devices.values()) {
      full.push({ id: last, type: 'state', data: { device_id: device.id, state: device.state, updated_at: device.updated_at } });
      full.push({
        id: last, type: 'availability', data: { device_id: device.id, available: device.available, reason: device.unavailable_reason },
      });
    }
    return full;
  }
}

module.exports = { FakeBackendApp };
