'use strict';

/*
 * Runs the real Kraken Backend app (homey_backend/, the bridge as a Homey Python app)
 * for end-to-end tests of the app-API transport, under its test harness:
 *   .venv-homey/bin/python tests/homey_app/harness.py --scenario FILE --speed N --data-dir DIR
 * (KRAKEN_HOMEY_PYTHON overrides the interpreter). The harness starts the simulator,
 * runs the app in-process with a fake Homey socket, enters the simulator's credentials
 * through the app's own PUT /credentials, then prints `HARNESS {"port": N}` and serves
 * newline-delimited JSON on 127.0.0.1:N:
 *   → {"id": 1, "method": "GET", "path": "/devices", "body": null}
 *   ← {"id": 1, "result": <envelope>}  or  {"id": 1, "error": "<message>"}
 *   → {"id": 2, "control": "installed"}   ← {"id": 2, "result": true}
 *   ← {"realtime": {"event": "<type>", "data": {...}}}   (unsolicited: a push)
 * HarnessApiApp speaks that protocol with the face of the SDK's ApiApp (what
 * this.homey.api.getApiApp returns): get/post/put/delete, getInstalled, getVersion,
 * and 'realtime' (event, data) events. While the harness is stopped its calls reject,
 * as Homey's do for an app that is installed but not running.
 */

const { spawn } = require('child_process');
const { EventEmitter } = require('events');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { BACKEND_APP_ID } = require('../../../homey_shim/app_api_client');

const REPO = path.resolve(__dirname, '..', '..', '..');
const HARNESS = path.join(REPO, 'tests', 'homey_app', 'harness.py');
const HOMEY_PYTHON = process.env.KRAKEN_HOMEY_PYTHON || path.join(REPO, '.venv-homey', 'bin', 'python');

function backendAppAvailable() {
  return fs.existsSync(HOMEY_PYTHON) && fs.existsSync(HARNESS);
}

class HarnessApiApp extends EventEmitter {
  constructor() {
    super();
    this.id = BACKEND_APP_ID;
    this.type = 'app';
    this.installed = true; // a stopped app is still installed
    this._socket = null;
    this._pending = new Map(); // request id → {resolve, reject}
    this._nextId = 1;
  }

  get(uri) {
    return this._request({ method: 'GET', path: uri, body: null });
  }

  post(uri, body) {
    return this._request({ method: 'POST', path: uri, body: body === undefined ? null : body });
  }

  put(uri, body) {
    return this._request({ method: 'PUT', path: uri, body: body === undefined ? null : body });
  }

  delete(uri) {
    return this._request({ method: 'DELETE', path: uri, body: null });
  }

  async getInstalled() {
    if (!this._socket) return this.installed;
    return this._request({ control: 'installed' });
  }

  async getVersion() {
    const { body } = await this.get('/health');
    return body && body.version;
  }

  /** Connects to a harness listening on `port`; resolves once connected. */
  connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        this._socket = socket;
        resolve();
      });
      socket.once('error', reject);
      socket.on('error', () => {}); // 'close' follows and settles what is pending
      socket.on('close', () => this._closed(socket));
      readline.createInterface({ input: socket }).on('line', line => this._onLine(line));
    });
  }

  disconnect() {
    if (this._socket) this._socket.destroy();
  }

  _request(message) {
    if (!this._socket) return Promise.reject(new Error(`App Not Running: ${this.id}`));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._socket.write(`${JSON.stringify({ id, ...message })}\n`);
    });
  }

  _onLine(line) {
    let message;
    try {
      message = JSON.parse(line);
    } catch (err) {
      return;
    }
    if (message.realtime) {
      this.emit('realtime', message.realtime.event, message.realtime.data);
      return;
    }
    const pending = this._pending.get(message.id);
    if (!pending) return;
    this._pending.delete(message.id);
    if (message.error !== undefined) pending.reject(new Error(message.error));
    else pending.resolve(message.result);
  }

  _closed(socket) {
    if (this._socket === socket) this._socket = null;
    for (const { reject } of this._pending.values()) reject(new Error(`App Not Running: ${this.id}`));
    this._pending.clear();
  }
}

/**
 * Starts the harness on `scenario` and connects an ApiApp to it.
 * @param {object} options
 * @param {string} [options.dataDir]  reuse (and keep) a data directory, as a restart does
 * @returns {Promise<{apiApp: HarnessApiApp, dataDir: string, stop: () => Promise<void>,
 *          stopApp: () => Promise<void>, startApp: () => Promise<void>, output: () => string}>}
 */
async function startBackendApp({ scenario, speed = 20, dataDir: givenDataDir, startTimeoutMs = 60000 }) {
  const dataDir = givenDataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'kraken-backend-e2e-'));
  const apiApp = new HarnessApiApp();
  let log = '';
  let child = null;

  const stopProcess = async () => {
    apiApp.disconnect();
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise(resolve => running.once('exit', resolve));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const startProcess = async () => {
    child = spawn(HOMEY_PYTHON, [HARNESS, '--scenario', scenario, '--speed', String(speed), '--data-dir', dataDir], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'], // the harness stops when its stdin closes
    });
    const started = child;
    started.stderr.on('data', chunk => { log += chunk; });
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the harness printed no HARNESS line within ${startTimeoutMs} ms\n${log}`)), startTimeoutMs);
      readline.createInterface({ input: started.stdout }).on('line', line => {
        log += `${line}\n`;
        const match = /^HARNESS\s+(\{.*\})\s*$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(JSON.parse(match[1]).port);
        }
      });
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the harness exited (code ${code}, signal ${signal}) before it was ready\n${log}`));
      });
    });
    await apiApp.connect(port);
  };

  const stop = async () => {
    await stopProcess();
    if (!givenDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  await startProcess().catch(async err => {
    await stop();
    throw err;
  });

  return {
    apiApp,
    dataDir,
    stop,
    /** Stops the app, keeping its data (its calls reject meanwhile), as when it crashes. */
    stopApp: stopProcess,
    /** Starts it again on the same data after stopApp(). */
    startApp: startProcess,
    output: () => log,
  };
}

module.exports = {
  startBackendApp, backendAppAvailable, HarnessApiApp, HARNESS, HOMEY_PYTHON,
};
