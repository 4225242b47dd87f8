'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const path = require('path');
const { BridgeClient, normalizeBridgeUrl } = require('../../homey_shim/bridge_client');
const {
  BridgeAuthError, BridgeConnectionError, BridgeHttpError, BridgeConfigError, describeError,
} = require('../../homey_shim/errors');
const { createHomey } = require('./helpers/fake_homey');
const { FakeBridge } = require('./helpers/fake_bridge');

const homey = createHomey({ appDir: path.resolve(__dirname, '..', '..') });

test('bridge addresses are accepted the way people type them', () => {
  assert.equal(normalizeBridgeUrl('192.168.1.20:8765'), 'http://192.168.1.20:8765');
  assert.equal(normalizeBridgeUrl(' http://bridge.local:8765/ '), 'http://bridge.local:8765');
  assert.equal(normalizeBridgeUrl('https://host/prefix/api/v1/'), 'https://host/prefix');
  assert.throws(() => normalizeBridgeUrl(''), { code: 'not_configured' });
  assert.throws(() => normalizeBridgeUrl('http://'), { code: 'bad_url' });
  assert.throws(() => normalizeBridgeUrl('ftp://host'), { code: 'bad_url' });
  assert.throws(() => new BridgeClient({ url: 'host:1', token: ' ' }), BridgeConfigError);
});

test('requests carry the bearer token; health does not', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  bridge.addDevice({ id: 'import_tariff.1', kind: 'import_tariff', name: 'Import', state: { unit_rate: 24.5 } });
  const client = new BridgeClient({ url: bridge.url, token: bridge.token });

  assert.equal((await client.health()).status, 'ok');
  assert.deepEqual(await client.listDevices(), [{ id: 'import_tariff.1', kind: 'import_tariff', name: 'Import' }]);
  assert.equal((await client.getDevice('import_tariff.1')).state.unit_rate, 24.5);
  const [health, list] = bridge.requests;
  assert.equal(health.headers.authorization, undefined);
  assert.equal(list.headers.authorization, `Bearer ${bridge.token}`);
});

test('a refused token, an unknown device and a server error read well', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());

  const wrong = new BridgeClient({ url: bridge.url, token: 'wrong-token-000000000000' });
  const auth = await wrong.listDevices().catch(err => err);
  assert.ok(auth instanceof BridgeAuthError);
  assert.equal(auth.params.detail, 'Missing or wrong bridge token');
  assert.match(describeError(homey, auth), /refused the token/);

  const client = new BridgeClient({ url: bridge.url, token: bridge.token });
  const missing = await client.getDevice('import_tariff.404').catch(err => err);
  assert.ok(missing instanceof BridgeHttpError);
  assert.equal(missing.code, 'not_found');
  assert.equal(missing.status, 404);
});

test('FastAPI validation details, non-JSON answers and non-bridge servers', async t => {
  const server = http.createServer((req, res) => {
    if (req.url.endsWith('/actions/boost')) {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: [{ msg: 'field required' }, { msg: 'bad value' }] }));
    } else if (req.url.endsWith('/devices')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>a router login page</html>');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise(resolve => server.close(resolve)));
  const client = new BridgeClient({ url: `127.0.0.1:${server.address().port}`, token: 'x'.repeat(20) });

  const validation = await client.runAction('dev', 'boost', { target: 80 }).catch(err => err);
  assert.equal(validation.code, 'http_error');
  assert.equal(describeError(homey, validation),
    'The Kraken bridge answered with an error (HTTP 422): field required; bad value');
  const notJson = await client.listDevices().catch(err => err);
  assert.equal(notJson.code, 'bad_response');
  const events = await client.openEventStream().catch(err => err);
  assert.equal(events.code, 'bad_response', 'an /events answer that is not text/event-stream');
});

test('an address where nothing listens: connection refused, in words', async () => {
  const server = http.createServer();
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise(resolve => server.close(resolve));

  const client = new BridgeClient({ url: `http://127.0.0.1:${port}`, token: 'x'.repeat(20) });
  const err = await client.health().catch(e => e);
  assert.ok(err instanceof BridgeConnectionError);
  assert.equal(err.params.network, 'ECONNREFUSED');
  assert.equal(describeError(homey, err),
    `Cannot reach the Kraken bridge at http://127.0.0.1:${port} (connection refused). `
    + 'Check that it is running and that the address is right.');
  const dutch = createHomey({ appDir: path.resolve(__dirname, '..', '..'), language: 'nl' });
  assert.match(describeError(dutch, err), /niet bereikbaar \(verbinding geweigerd\)/);
});

test('a bridge that does not answer times out', async t => {
  const sockets = new Set();
  const server = http.createServer(() => {}); // never responds
  server.on('connection', socket => sockets.add(socket));
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise(resolve => server.close(resolve));
  });
  const client = new BridgeClient({ url: `127.0.0.1:${server.address().port}`, token: 'x'.repeat(20), timeoutMs: 150 });
  const err = await client.listDevices().catch(e => e);
  assert.equal(err.code, 'timeout');
  assert.match(describeError(homey, err), /did not answer in time/);
});

test('a caller\'s abort is passed through, not reported as an outage', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  const client = new BridgeClient({ url: bridge.url, token: bridge.token });
  const controller = new AbortController();
  controller.abort();
  const err = await client.openEventStream({ signal: controller.signal }).catch(e => e);
  assert.equal(err.name, 'AbortError');
});
