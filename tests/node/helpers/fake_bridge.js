'use strict';

/*
 * A scripted stand-in for the bridge's HTTP API on 127.0.0.1, for unit tests of the
 * client, the event stream and the shared connection (the end-to-end test uses the
 * real bridge). Routes: GET /api/v1/health, /devices, /devices/{id}, /events,
 * POST /devices/{id}/actions/{action}, GET/PUT /settings. Events are kept, so a stream
 * opened with Last-Event-ID gets those after it (minus `replayOverlap`, to play a
 * bridge that replays too much), or a resync when `forgetBefore` says they are gone.
 */

const http = require('http');

class FakeBridge {
  constructor({ token = 'fake-bridge-token-0123456789' } = {}) {
    this.token = token;
    this.devices = new Map(); // id → {id, kind, name, available, unavailable_reason, updated_at, state}
    this.requests = []; // {method, path, headers}
    this.streams = new Set();
    this.streamsOpened = 0; // event streams opened so far (a reconnect adds one)
    this.nextId = 1;
    this.eventsStatus = 200; // set to e.g. 503 to refuse the stream
    this.onStreamOpen = null; // (res, req) => void; default: the bridge's opening burst
    this.sent = []; // {id, event, data}
    this.replayOverlap = 0;
    this.forgetBefore = 0; // events with ids below this are no longer kept
    this.actions = []; // {deviceId, action, body}
    this.actionAnswers = {}; // action → {status, body}; default 200 {message}
    this.settings = { poll_interval_minutes: 1, allowance_limit_minutes: 360, allowance_day_start: '12:00' };
    this.server = http.createServer((req, res) => this._handle(req, res));
  }

  async start() {
    await new Promise(resolve => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async close() {
    for (const res of this.streams) res.destroy();
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  addDevice(device) {
    this.devices.set(device.id, {
      available: true, unavailable_reason: null, updated_at: '2026-03-10T12:00:00Z', state: {}, ...device,
    });
  }

  /** Writes one event to every open stream; returns its id. */
  send(event, data) {
    const id = this.nextId++;
    this.sent.push({ id, event, data });
    for (const res of this.streams) res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return id;
  }

  /** Ends every open stream (a clean close from the bridge's side). */
  dropStreams() {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  _handle(req, res) {
    if (req.method === 'POST' || req.method === 'PUT') {
      let text = '';
      req.on('data', chunk => { text += chunk; });
      req.on('end', () => {
        try {
          req.body = text ? JSON.parse(text) : null;
        } catch (err) {
          req.body = undefined;
        }
        this._route(req, res);
      });
      return;
    }
    this._route(req, res);
  }

  _route(req, res) {
    const path = req.url.replace(/\?.*$/, '');
    this.requests.push({ method: req.method, path, headers: req.headers });
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/api/v1/health') return json(200, { status: 'ok', version: 'fake' });
    if (!path.startsWith('/api/v1/')) return json(404, { detail: 'Not Found' });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return json(401, { detail: 'Missing or wrong bridge token' });
    }
    if (path === '/api/v1/devices') {
      return json(200, [...this.devices.values()].map(({ id, kind, name }) => ({ id, kind, name })));
    }
    if (path === '/api/v1/settings') {
      if (req.method === 'PUT') {
        const body = req.body || {};
        if (body.poll_interval_minutes !== undefined && ![1, 2, 3, 5].includes(body.poll_interval_minutes)) {
          return json(422, { detail: 'poll_interval_minutes: Input should be 1, 2, 3 or 5' });
        }
        Object.assign(this.settings, body);
      }
      return json(200, this.settings);
    }
    const action = /^\/api\/v1\/devices\/([^/]+)\/actions\/([^/]+)$/.exec(path);
    if (action && req.method === 'POST') {
      const deviceId = decodeURIComponent(action[1]);
      this.actions.push({ deviceId, action: action[2], body: req.body });
      if (!this.devices.has(deviceId)) return json(404, { detail: `No device '${deviceId}' on this bridge` });
      let answer = this.actionAnswers[action[2]] || { status: 200, body: { message: `${action[2]} done` } };
      if (typeof answer === 'function') answer = answer(req.body, deviceId);
      return json(answer.status, answer.body);
    }
    const match = /^\/api\/v1\/devices\/([^/]+)$/.exec(path);
    if (match) {
      const device = this.devices.get(decodeURIComponent(match[1]));
      return device ? json(200, device) : json(404, { detail: `No device '${match[1]}' on this bridge` });
    }
    if (path === '/api/v1/events') {
      if (this.eventsStatus !== 200) return json(this.eventsStatus, { detail: 'not now' });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      this.streams.add(res);
      this.streamsOpened += 1;
      req.on('close', () => this.streams.delete(res));
      if (this.onStreamOpen) return this.onStreamOpen(res, req);
      const lastEventId = req.headers['last-event-id'];
      if (lastEventId === undefined) {
        this._openingBurst(res);
      } else if (Number(lastEventId) + 1 < this.forgetBefore || Number(lastEventId) >= this.nextId) {
        res.write(`id: ${this.nextId - 1}\nevent: resync\ndata: ${JSON.stringify({ reason: 'missed events are gone' })}\n\n`);
        this._openingBurst(res);
      } else {
        const from = Number(lastEventId) - this.replayOverlap;
        for (const { id, event, data } of this.sent.filter(item => item.id > from)) {
          res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        }
      }
      return undefined;
    }
    return json(404, { detail: 'Not Found' });
  }

  _openingBurst(res) {
    const id = this.nextId - 1;
    for (const device of this.devices.values()) {
      res.write(`id: ${id}\nevent: state\ndata: ${JSON.stringify({
        device_id: device.id, state: device.state, updated_at: device.updated_at,
      })}\n\n`);
      res.write(`id: ${id}\nevent: availability\ndata: ${JSON.stringify({
        device_id: device.id, available: device.available, reason: device.unavailable_reason,
      })}\n\n`);
    }
  }
}

module.exports = { FakeBridge };
