'use strict';

/*
 * Shared steps of the end-to-end tests that run this app against the real bridge, over
 * either transport:
 *   http       the real kraken-bridge (demo mode) over HTTP: .venv/bin/kraken-bridge
 *   homey-app  the real Kraken Backend app (homey_backend/) through Homey's app API,
 *              under tests/homey_app/harness.py with .venv-homey/bin/python
 * eachTransport() declares a test once for each; each skips when its bridge is missing
 * and fails instead under CI=true. Also: pairing devices the way a person does, the
 * bridge's own answers, and reading what a trigger card fired.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { bridgeAvailable, BRIDGE_BIN } = require('./bridge_process');
const { backendAppAvailable, HARNESS, HOMEY_PYTHON } = require('./backend_app');

const TRANSPORTS = ['http', 'homey-app'];

const MISSING = {
  http: () => (bridgeAvailable() ? null : `kraken-bridge not installed at ${BRIDGE_BIN}; run "make setup"`),
  'homey-app': () => (backendAppAvailable() ? null
    : `the Kraken Backend app harness needs ${HOMEY_PYTHON} and ${HARNESS}`),
};

/** The `skip` option of a test over `transport`: a reason, or false (never under CI=true). */
function skipFor(transport) {
  const missing = MISSING[transport]();
  return missing && process.env.CI !== 'true' ? `${missing} (this test fails instead under CI=true)` : false;
}

// The HTTP transport's rule, for the tests that only run over HTTP.
const skip = skipFor('http');

function requireTransport(transport) {
  const missing = MISSING[transport]();
  assert.ok(!missing, `required under CI=true: ${missing}`);
}

function requireBridge() {
  requireTransport('http');
}

/**
 * Declares `body(t, transport)` as one test per transport, named "<name> [<transport>]".
 * @param {string} name
 * @param {object} options  node:test options (timeout, …); skip is set per transport
 */
function eachTransport(name, options, body) {
  for (const transport of TRANSPORTS) {
    test(`${name} [${transport}]`, { ...options, skip: skipFor(transport) }, t => body(t, transport));
  }
}

/**
 * Starts the bridge of `transport` on `scenario`. The handle:
 *   install(runtime)   before runtime.start(): puts the Kraken Backend app on the fake Homey
 *   login(session)     what a person does on the pairing view to reach this bridge
 *   call(method, path, body) → {status, body}   the bridge's own answer, bypassing the app
 *   stop(), pause() (the bridge stops, its data kept), resume(), unreachable (the RegExp a
 *   device's message matches while it is stopped)
 */
async function startBackend(transport, { scenario, speed, dataDir }) {
  requireTransport(transport);
  if (transport === 'homey-app') {
    const { startBackendApp } = require('./backend_app');
    const { BACKEND_APP_ID } = require('../../../homey_shim/app_api_client');
    const app = await startBackendApp({ scenario, speed, dataDir });
    return {
      transport,
      app,
      install: runtime => runtime.homey.__apiApps.set(BACKEND_APP_ID, app.apiApp),
      async login(session) {
        const choices = await session.emit('bridge_choices');
        assert.equal(choices.backendInstalled, true, 'the pairing view offers the Kraken Backend app');
        assert.equal(await session.emit('use_backend'), true);
      },
      call: (method, path, body) => app.apiApp[method.toLowerCase()](path, body),
      stop: () => app.stop(),
      pause: () => app.stopApp(),
      resume: () => app.startApp(),
      unreachable: /^The Kraken Backend app on this Homey is not running/,
      output: () => app.output(),
    };
  }
  const { startBridge } = require('./bridge_process');
  const ownDataDir = dataDir ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'kraken-bridge-e2e-'));
  const bridgeDataDir = dataDir || ownDataDir;
  let bridge = await startBridge({ scenario, speed, dataDir: bridgeDataDir });
  return {
    transport,
    get bridge() {
      return bridge;
    },
    install: () => {},
    async login(session) {
      assert.equal(await session.emit('login', { username: bridge.url, password: bridge.token }), true);
    },
    async call(method, path, body) {
      const response = await fetch(`${bridge.url}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' },
        body: body == null ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      await bridge.stop();
      if (ownDataDir) fs.rmSync(ownDataDir, { recursive: true, force: true });
    },
    pause: () => bridge.stop(),
    async resume() {
      bridge = await startBridge({ scenario, speed, dataDir: bridgeDataDir, port: bridge.port });
    },
    unreachable: /^Cannot reach the Kraken bridge at http:\/\/127\.0\.0\.1:\d+ \((connection refused|connection lost)\)\./,
    output: () => bridge.output(),
  };
}

/**
 * Logs in once (on the first kind's pairing view), then adds each kind's device as
 * listed by its own driver.
 * @returns {Promise<Object<string, object>>} kind → the Homey device
 */
async function pairDevices(runtime, backend, kinds) {
  const login = await runtime.pair(kinds[0]);
  await backend.login(login);
  const devices = {};
  for (const kind of kinds) {
    const session = kind === kinds[0] ? login : await runtime.pair(kind);
    const listed = await session.emit('list_devices');
    assert.equal(listed.length, 1, `${kind} lists one device: ${JSON.stringify(listed)}`);
    devices[kind] = await runtime.addDevice(kind, listed[0]);
  }
  return devices;
}

/** The bridge's own answer to GET `path` (its JSON body), asserting a 200. */
async function bridgeGet(backend, path) {
  const { status, body } = await backend.call('GET', path);
  assert.equal(status, 200, `GET ${path}: ${JSON.stringify(body)}`);
  return body;
}

/** The tokens a device trigger card fired with on `device`, in order. */
function firedTokens(homey, cardId, device) {
  return homey.flow.getDeviceTriggerCard(cardId).triggered
    .filter(([target]) => target === device)
    .map(([, tokens]) => tokens);
}

/** "HH:MM" of an ISO instant in Europe/London, computed here independently of the app. */
function londonTime(iso) {
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/London',
  }).format(new Date(iso));
}

/**
 * Fails with a readable reason unless the bridge's simulated clock is still before
 * `beforeIso` (the moment the test is about): a bridge that started too slowly for its
 * --speed would otherwise show up as a trigger that never came.
 */
async function assertBridgeBefore(backend, beforeIso, what) {
  const { now } = await bridgeGet(backend, '/timeline');
  assert.ok(Date.parse(now) < Date.parse(beforeIso),
    `the devices were paired at ${now}, after ${what} (${beforeIso}): the bridge started too slowly for this speed`);
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The real bridge of `transport` on `scenario` at `speed`, the app running, and `kinds`
 * paired; all stopped when the test `t` ends.
 * @returns {Promise<{backend: object, runtime: object, homey: object, devices: Object<string, object>}>}
 */
async function startPaired(t, {
  transport = 'http', scenario, speed, kinds,
}) {
  // Required here, not at the top: bridge_process needs nothing of this module.
  const { HomeyRuntime } = require('./homey_runtime');
  const backend = await startBackend(transport, { scenario, speed });
  const runtime = new HomeyRuntime();
  t.after(async () => {
    await runtime.stop();
    await backend.stop();
  });
  backend.install(runtime);
  await runtime.start();
  const devices = await pairDevices(runtime, backend, kinds);
  return {
    backend, runtime, homey: runtime.homey, devices,
  };
}

module.exports = {
  TRANSPORTS,
  skip,
  skipFor,
  requireBridge,
  eachTransport,
  startBackend,
  pairDevices,
  startPaired,
  bridgeGet,
  firedTokens,
  londonTime,
  assertBridgeBefore,
  sleep,
};
