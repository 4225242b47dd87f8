'use strict';

/*
 * A scripted stand-in for the bridge's HTTP API on 127.0.0.1, for unit tests of the
 * client, the event stream and the shared connection (the end-to-end test uses the
 * real bridge). Routes: GET /api/v1/health, /devices, /devices/{id}, /events.
 */

const http = require('http');

class FakeBridge {
  constructor({ token = 'fake-bridge-token-0123456789' } = {}) {
    this.token = token;
    this.devices = new Map(); // id → {id, kind, name, available, unavailable_reason, updated_at, state}
    this.requests = []; // {method, path, headers}
    this.streams = new Set();
    this.nextId = 1;
    this.eventsStatus = 200; // set to e.g. 503 to refuse the stream
    this.onStreamOpen = null; // (res, req) => void; default: the bridge's opening burst
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
    for (const res of this.streams) res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return id;
  }

  /** Ends every open stream (a clean close from the bridge's side). */
  dropStreams() {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  _handle(req, res) {
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
      req.on('close', () => this.streams.delete(res));
      if (this.onStreamOpen) return this.onStreamOpen(res, req);
      if (!req.headers['last-event-id']) this._openingBurst(res);
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
