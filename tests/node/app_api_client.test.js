'use strict';

/*
 * The app-API client: an envelope's refusal becomes exactly the error the HTTP client
 * makes of the same answer over HTTP (so describeError, flow cards and devices read
 * both alike); a call Homey cannot deliver becomes "the Kraken Backend app is not
 * installed / not running".
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const path = require('path');
const { AppApiClient, BACKEND_APP_ID } = require('../../homey_shim/app_api_client');
const { BridgeClient } = require('../../homey_shim/bridge_client');
const { BridgeConnectionError, BridgeHttpError, describeError } = require('../../homey_shim/errors');
const { createHomey, FakeApiApp } = require('./helpers/fake_homey');

const APP_DIR = path.resolve(__dirname, '..', '..');
const homey = createHomey({ appDir: APP_DIR });
const dutch = createHomey({ appDir: APP_DIR, language: 'nl' });

const appClient = (handler, options = {}) => new AppApiClient({ apiApp: new FakeApiApp(BACKEND_APP_ID, { handler, ...options }) });

/** Refusals as the REST routes give them: [method, path, body sent, status, JSON body, headers]. */
const REFUSALS = [
  ['POST', '/devices/smart_energy_device.ev-1/actions/boost', {}, 409,
    { detail: 'Octopus refused the boost: the car is not plugged in.' }, {}],
  ['POST', '/devices/smart_energy_device.ev-1/actions/refresh_dispatches', {}, 429,
    { detail: 'Dispatches were read a minute ago; ask again in 2 minutes.' }, { 'Retry-After': '120' }],
  ['GET', '/devices/import_tariff.404', undefined, 404,
    { detail: "No device 'import_tariff.404' on this bridge; GET /api/v1/devices lists them." }, {}],
  ['PUT', '/settings', { poll_interval_minutes: 7 }, 422,
    { detail: [{ msg: 'poll_interval_minutes: Input should be 1, 2, 3 or 5' }, { msg: 'bad value' }] }, {}],
  ['GET', '/devices', undefined, 401, { detail: 'Missing or wrong bridge token' }, {}],
  ['GET', '/settings', undefined, 500, { detail: 'The bridge hit an internal error; see its log for details.' }, {}],
  ['GET', '/settings', undefined, 503, { message: 'no detail here' }, {}],
  ['GET', '/settings', undefined, 502, null, {}],
];

const call = (client, method, uri, body) => {
  if (uri === '/devices') return client.listDevices();
  if (uri === '/settings') return method === 'PUT' ? client.putSettings(body) : client.getSettings();
  const action = /^\/devices\/([^/]+)\/actions\/([^/]+)$/.exec(uri);
  if (action) return client.runAction(action[1], action[2], body);
  return client.getDevice(uri.replace('/devices/', ''));
};

const shape = err => ({
  class: err.constructor.name,
  code: err.code,
  message: err.message,
  status: err.status,
  retryAfter: err.retryAfter,
  params: err.params,
  described: describeError(homey, err),
});

test('a refusal in an envelope is the very error the HTTP client makes of it', async t => {
  const server = http.createServer((req, res) => {
    const refusal = REFUSALS.find(([method, uri]) => req.method === method && `/api/v1${uri}` === req.url);
    const [, , , status, body, headers] = refusal;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === null ? '' : JSON.stringify(body));
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise(resolve => server.close(resolve)));
  const overHttp = new BridgeClient({ url: `127.0.0.1:${server.address().port}`, token: 'x'.repeat(20) });
  const overApp = appClient((method, uri) => {
    const [, , , status, body, headers] = REFUSALS.find(([m, u]) => m === method && u === uri);
    return { status, body, headers };
  });

  for (const [method, uri, body, status] of REFUSALS) {
    const viaHttp = await call(overHttp, method, uri, body).then(() => null, err => err);
    const viaApp = await call(overApp, method, uri, body).then(() => null, err => err);
    assert.ok(viaHttp && viaApp, `${method} ${uri} is refused both ways`);
    assert.deepEqual(shape(viaApp), shape(viaHttp), `${status} for ${method} ${uri}`);
  }
  const throttled = await overApp.runAction('smart_energy_device.ev-1', 'refresh_dispatches').catch(err => err);
  assert.ok(throttled instanceof BridgeHttpError);
  assert.equal(throttled.retryAfter, 120);
  assert.equal(throttled.params.detail, 'Dispatches were read a minute ago; ask again in 2 minutes.');
});

test('a 2xx envelope gives its body, and every call names the route and its body', async () => {
  const apiApp = new FakeApiApp(BACKEND_APP_ID, {
    handler: (method, uri) => {
      if (uri === '/devices') return { status: 200, body: [{ id: 'import_tariff.1', kind: 'import_tariff', name: 'Import' }] };
      if (uri.startsWith('/events')) return { status: 200, body: { events: [{ id: 7, type: 'state', data: {} }] } };
      if (/^\/devices\/[^/]+$/.test(uri)) return { status: 200, body: { id: 'import_tariff.1', state: { unit_rate: 24.5 } } };
      return { status: method === 'POST' ? 202 : 200, body: { ok: true } };
    },
  });
  const client = new AppApiClient({ apiApp });
  assert.deepEqual((await client.listDevices()).map(device => device.id), ['import_tariff.1']);
  assert.equal((await client.getDevice('import_tariff.1')).state.unit_rate, 24.5);
  assert.deepEqual(await client.runAction('ev 1', 'set_charge_target', { target_percent: 80 }), { ok: true });
  assert.deepEqual(await client.putSettings({ poll_interval_minutes: 2 }), { ok: true });
  assert.deepEqual(await client.getTimeline('2026-03-10'), { ok: true });
  assert.deepEqual(await client.getEvents(), [{ id: 7, type: 'state', data: {} }]);
  await client.getEvents(41);
  assert.deepEqual(apiApp.calls, [
    ['GET', '/devices', undefined],
    ['GET', '/devices/import_tariff.1', undefined],
    ['POST', '/devices/ev%201/actions/set_charge_target', { target_percent: 80 }],
    ['PUT', '/settings', { poll_interval_minutes: 2 }],
    ['GET', '/timeline?date=2026-03-10', undefined],
    ['GET', '/events', undefined],
    ['GET', '/events?after=41', undefined],
  ]);
  assert.equal(client.label, `the Kraken Backend app (${BACKEND_APP_ID})`);
});

test('answers that are not envelopes, or not the route\'s shape, are bad responses', async () => {
  for (const answer of [undefined, null, 'ok', { body: [] }, { status: '200', body: [] }, { status: 200, body: { devices: [] } }]) {
    const err = await appClient(() => answer).listDevices().catch(e => e);
    assert.equal(err.code, 'bad_response', JSON.stringify(answer));
    assert.ok(err instanceof BridgeHttpError);
  }
  const events = await appClient(() => ({ status: 200, body: [] })).getEvents().catch(e => e);
  assert.equal(events.code, 'bad_response');
});

test('a call Homey cannot deliver: the Kraken Backend app is not running, or not installed', async () => {
  const running = await appClient(() => { throw new Error('App Not Running'); }).listDevices().catch(e => e);
  assert.ok(running instanceof BridgeConnectionError, 'the class the HTTP client uses for an unreachable bridge');
  assert.equal(running.code, 'backend_not_running');
  assert.equal(describeError(homey, running),
    'The Kraken Backend app on this Homey is not running (App Not Running). Open it under Apps to start it again, '
    + 'or use Repair on this device to choose another bridge.');
  assert.match(describeError(dutch, running), /Kraken Backend-app op deze Homey draait niet/);

  const notInstalled = await appClient(null, { installed: false }).health().catch(e => e);
  assert.ok(notInstalled instanceof BridgeConnectionError);
  assert.equal(notInstalled.code, 'backend_not_installed');
  assert.match(describeError(homey, notInstalled),
    /Install the Kraken Backend app from the Homey App Store, enter your Octopus API key in its settings, then pair again/);

  // Homey cannot even say whether it is installed: "not running", with the reason.
  const apiApp = new FakeApiApp(BACKEND_APP_ID, { handler: () => Promise.reject(new Error('socket closed')) });
  apiApp.getInstalled = () => Promise.reject(new Error('socket closed'));
  const unknown = await new AppApiClient({ apiApp }).getSettings().catch(e => e);
  assert.equal(unknown.code, 'backend_not_running');
  assert.equal(unknown.params.detail, 'socket closed');
});

test('a call that gets no answer times out, and every undelivered call is reported', async () => {
  const reported = [];
  const client = new AppApiClient({
    apiApp: new FakeApiApp(BACKEND_APP_ID, { handler: () => new Promise(() => {}) }), timeoutMs: 50,
  });
  client.onUnreachable = err => reported.push(err.code);
  const err = await client.getSettings().catch(e => e);
  assert.ok(err instanceof BridgeConnectionError);
  assert.equal(err.code, 'backend_timeout');
  assert.equal(describeError(homey, err), 'The Kraken Backend app on this Homey did not answer in time.');
  client.apiApp.handler = () => ({ status: 409, body: { detail: 'no' } });
  await client.getSettings().catch(() => {});
  client.apiApp.running = false;
  await client.getSettings().catch(() => {});
  assert.deepEqual(reported, ['backend_timeout', 'backend_not_running'], 'a refusal is an answer, not an outage');
});
