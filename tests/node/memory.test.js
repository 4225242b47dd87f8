'use strict';

/*
 * Replays 10,000 bridge events (state changes that set capabilities and fire cards,
 * and the bridge's own triggers) through one device over the real event stream code,
 * and checks that the heap after them is no larger than after a 1,000-event warm-up:
 * nothing per event is kept (snapshots, queues, dedupe, fired-window memory).
 * The figure is printed as a test diagnostic.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('v8');
const vm = require('vm');
const { waitFor } = require('./helpers/homey_runtime');
const { appOnFakeBridge } = require('./helpers/app_on_fake_bridge');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const DEVICE = {
  id: 'import_tariff.1900000000001',
  kind: 'import_tariff',
  name: 'Import tariff',
  state: { unit_rate: 20, price_quadrant: 1, slot_start: '2026-03-10T00:00:00Z', rate_source: 'tariff' },
};
const WARM_UP = 5000; // lazy structures and compiled code settle in the first few thousand
const EVENTS = 10000;
const BATCH = 500;
const ALLOWED_GROWTH_BYTES = 512 * 1024;

function heapUsed() {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

test('10,000 events through one device do not grow the heap', { timeout: 60000 }, async t => {
  const { bridge, runtime, add } = await appOnFakeBridge(t, [DEVICE]);
  const device = await add(DEVICE);
  await waitFor(() => device.getCapabilityValue('measure_monetary') === 0.2, { what: 'the opening burst' });
  // Every trigger card the events fire (price thresholds too), whose fake records the harness clears.
  const cards = () => [...runtime.homey.__flowCards.values()];

  let sent = 0;
  async function replay(count) {
    for (let end = sent + count; sent < end;) {
      for (let i = 0; i < BATCH; i++, sent++) {
        if (sent % 10 === 9) {
          bridge.send('trigger', {
            device_id: DEVICE.id,
            card: 'tomorrow_prices_published',
            tokens: { day: '2026-03-11', min_unit_rate: 5, max_unit_rate: 30, average_unit_rate: 15 + (sent % 7) },
          });
        } else {
          const slot = new Date(Date.UTC(2026, 2, 10) + sent * 1800000).toISOString().replace('.000Z', 'Z');
          bridge.send('state', {
            device_id: DEVICE.id,
            state: { unit_rate: 10 + (sent % 50) / 2, price_quadrant: sent % 4, slot_start: slot, next_unit_rate: sent },
            updated_at: slot,
          });
        }
      }
      await waitFor(() => device.getCapabilityValue('measure_monetary.next') !== null
        && device.getCapabilityValue('measure_monetary.next') >= (sent - 2) / 100, { what: `event ${sent}` });
      await device.whenIdle();
      // What the test harness itself keeps (not the app): the fake bridge's log, the fake
      // cards' records, the fake Homey's record of the pushes to the widgets.
      bridge.sent.length = 0;
      bridge.requests.length = 0;
      for (const card of cards()) card.triggered.length = 0;
      runtime.homey.__realtime.length = 0;
    }
  }

  // One reading against another proves little: the heap swings with the collector's
  // timing. A leak raises every reading: compare the middle of the first three readings
  // (one per thousand events) with the middle of the last three (a leak of 100 bytes an
  // event would show as +700 KB).
  await replay(WARM_UP);
  const readings = [];
  for (let done = 0; done < EVENTS; done += 1000) {
    await replay(1000);
    readings.push(heapUsed());
  }
  const middle = part => [...part].sort((a, b) => a - b)[1];
  const before = middle(readings.slice(0, 3));
  const after = middle(readings.slice(-3));
  const growth = after - before;
  const mb = bytes => (bytes / 1048576).toFixed(2);
  t.diagnostic(`heap over the first 3,000 measured events (median): ${mb(before)} MB; over the last 3,000 of ${EVENTS}: `
    + `${mb(after)} MB (${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(0)} KB); `
    + `readings ${readings.map(mb).join(', ')} MB`);
  assert.equal(runtime.app.bridge.droppedTriggers, 0);
  assert.deepEqual(runtime.homey.__errors, []);
  assert.ok(growth < ALLOWED_GROWTH_BYTES, `the heap grew by ${mb(growth)} MB over ${EVENTS} events`);
});
