'use strict';

/*
 * The app on a fake bridge, as most shim tests start: the bridge serving `devices`, the
 * app started with its address and token (unless `configure` is false: a fresh
 * install), both stopped when the test ends. `add(device)` pairs a bridge device.
 */

const { FakeBridge } = require('./fake_bridge');
const { HomeyRuntime } = require('./homey_runtime');

async function appOnFakeBridge(t, devices, { configure = true, bridge: given } = {}) {
  const bridge = given || await new FakeBridge().start();
  for (const device of devices) bridge.addDevice(device);
  const runtime = new HomeyRuntime();
  if (configure) {
    runtime.homey.settings.set('bridge_url', bridge.url);
    runtime.homey.settings.set('bridge_token', bridge.token);
  }
  t.after(async () => {
    await runtime.stop();
    await bridge.close();
  });
  await runtime.start();
  const add = device => runtime.addDevice(device.kind, { name: device.name, data: { id: device.id } });
  return { bridge, runtime, add };
}

module.exports = { appOnFakeBridge };
