'use strict';

/*
 * Shared steps of the end-to-end tests that run this app against the real kraken-bridge:
 * the skip rule (skip when .venv/bin/kraken-bridge is missing, fail under CI=true),
 * pairing devices the way a person does, and reading what a trigger card fired.
 */

const assert = require('node:assert/strict');
const { bridgeAvailable, BRIDGE_BIN } = require('./bridge_process');

const missing = !bridgeAvailable();
const skip = missing && process.env.CI !== 'true'
  ? `kraken-bridge not installed at ${BRIDGE_BIN}; run "make setup" (this test fails instead under CI=true)`
  : false;

function requireBridge() {
  assert.ok(!missing, `kraken-bridge is required under CI=true but ${BRIDGE_BIN} does not exist`);
}

/**
 * Logs in once (bridge address and token, on the first kind's pairing view), then adds
 * each kind's device as listed by its own driver.
 * @returns {Promise<Object<string, object>>} kind → the Homey device
 */
async function pairDevices(runtime, bridge, kinds) {
  const login = await runtime.pair(kinds[0]);
  assert.equal(await login.emit('login', { username: bridge.url, password: bridge.token }), true);
  const devices = {};
  for (const kind of kinds) {
    const session = kind === kinds[0] ? login : await runtime.pair(kind);
    const listed = await session.emit('list_devices');
    assert.equal(listed.length, 1, `${kind} lists one device: ${JSON.stringify(listed)}`);
    devices[kind] = await runtime.addDevice(kind, listed[0]);
  }
  return devices;
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
async function assertBridgeBefore(bridge, beforeIso, what) {
  const response = await fetch(`${bridge.url}/api/v1/timeline`, { headers: { Authorization: `Bearer ${bridge.token}` } });
  assert.equal(response.status, 200);
  const { now } = await response.json();
  assert.ok(Date.parse(now) < Date.parse(beforeIso),
    `the devices were paired at ${now}, after ${what} (${beforeIso}): the bridge started too slowly for this speed`);
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The real bridge on `scenario` at `speed`, the app running, and `kinds` paired; all
 * stopped when the test `t` ends.
 * @returns {Promise<{bridge: object, runtime: object, homey: object, devices: Object<string, object>}>}
 */
async function startPaired(t, { scenario, speed, kinds }) {
  requireBridge();
  // Required here, not at the top: bridge_process needs nothing of this module.
  const { HomeyRuntime } = require('./homey_runtime');
  const { startBridge } = require('./bridge_process');
  const bridge = await startBridge({ scenario, speed });
  const runtime = new HomeyRuntime();
  t.after(async () => {
    await runtime.stop();
    await bridge.stop();
  });
  await runtime.start();
  const devices = await pairDevices(runtime, bridge, kinds);
  return { bridge, runtime, homey: runtime.homey, devices };
}

module.exports = {
  skip, requireBridge, pairDevices, startPaired, firedTokens, londonTime, assertBridgeBefore, sleep,
};
