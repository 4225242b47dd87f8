'use strict';

/*
 * Starts the real kraken-bridge in demo mode on a scenario, for end-to-end tests:
 *   .venv/bin/kraken-bridge serve --demo --scenario FILE --host 127.0.0.1 --port 0
 *     --speed N --data-dir TMP        (env KRAKEN_BRIDGE_TOKEN)
 * and reads the "Bridge: <url>" line it prints. KRAKEN_BRIDGE_BIN overrides the path.
 */

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const REPO = path.resolve(__dirname, '..', '..', '..');
// Test scenarios, shared with the Python tests (the bundled ones live in the package).
const SCENARIOS = path.join(REPO, 'tests', 'scenarios');
const BRIDGE_BIN = process.env.KRAKEN_BRIDGE_BIN || path.join(REPO, '.venv', 'bin', 'kraken-bridge');

function bridgeAvailable() {
  return fs.existsSync(BRIDGE_BIN);
}

/**
 * @param {object} options
 * @param {number} [options.port]     0 picks a free one; a restart passes the first run's
 * @param {string} [options.dataDir]  reuse (and keep) a data directory, as a restart does
 * @returns {Promise<{url: string, port: number, dataDir: string, token: string, stop: () => Promise<void>, output: () => string}>}
 */
async function startBridge({
  scenario, speed = 20, token = 'homey-e2e-token-0123456789', startTimeoutMs = 30000, port = 0, dataDir: givenDataDir,
}) {
  const dataDir = givenDataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'kraken-bridge-e2e-'));
  const child = spawn(BRIDGE_BIN, [
    'serve', '--demo', '--scenario', scenario, '--host', '127.0.0.1', '--port', String(port),
    '--speed', String(speed), '--data-dir', dataDir,
  ], {
    env: { ...process.env, KRAKEN_BRIDGE_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', chunk => { log += chunk; });
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (!givenDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`kraken-bridge printed no "Bridge:" line within ${startTimeoutMs} ms\n${log}`)), startTimeoutMs);
    lines.on('line', line => {
      log += `${line}\n`;
      const match = /^Bridge:\s+(\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`kraken-bridge exited (code ${code}, signal ${signal}) before it was ready\n${log}`));
    });
  }).catch(async err => {
    await stop();
    throw err;
  });

  return { url, port: Number(new URL(url).port), dataDir, token, stop, output: () => log, pid: child.pid };
}

module.exports = { startBridge, bridgeAvailable, BRIDGE_BIN, SCENARIOS };
