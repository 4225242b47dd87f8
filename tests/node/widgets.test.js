'use strict';

/*
 * The dashboard widgets' API (widgets/<id>/api.js) as Homey calls it ({homey, query}),
 * through the app's shared bridge connection to the scripted fake bridge: what reaches
 * the bridge, that its answers pass through unchanged, and the sentences a person sees
 * when something is wrong. The widgets' pages are drawn in Chromium against the real
 * bridge by tests/test_homey_widgets.py.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { APP_DIR } = require('./helpers/homey_runtime');
const { appOnFakeBridge } = require('./helpers/app_on_fake_bridge');
const { FakeBridge } = require('./helpers/fake_bridge');

const priceChartApi = require('../../widgets/price_chart/api');
const nextDispatchApi = require('../../widgets/next_dispatch/api');

const EN = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'locales', 'en.json'), 'utf8'));

/** The fake bridge plus GET /timeline?date= (answers kept by date; "today" without one). */
class TimelineBridge extends FakeBridge {
  constructor(options) {
    super(options);
    this.timelines = {};
    this.timelineQueries = [];
  }

  _route(req, res) {
    const url = new URL(req.url, 'http://bridge');
    if (url.pathname !== '/api/v1/timeline' || req.headers.authorization !== `Bearer ${this.token}`) {
      return super._route(req, res);
    }
    this.requests.push({ method: req.method, path: url.pathname, headers: req.headers });
    this.timelineQueries.push(url.search);
    const body = this.timelines[url.searchParams.get('date') || 'today'];
    res.writeHead(body ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body || { detail: 'no such day' }));
    return undefined;
  }
}

function slots(date, rates, quadrants) {
  return rates.map((rate, i) => {
    const start = new Date(Date.parse(`${date}T00:00:00Z`) + i * 1800000);
    return {
      start: start.toISOString().replace('.000', ''),
      end: new Date(start.getTime() + 1800000).toISOString().replace('.000', ''),
      label: start.toISOString().slice(11, 16),
      tariff_rate: rate,
      unit_rate: rate,
      price_quadrant: quadrants[i],
      rate_source: 'tariff',
      export_rate: 15,
    };
  });
}

const TODAY = {
  date: '2026-03-10',
  now: '2026-03-10T00:40:00Z',
  current_slot: '2026-03-10T00:30:00Z',
  prices_published: true,
  min_unit_rate: 7.0,
  max_unit_rate: 24.5,
  slots: slots('2026-03-10', [7.0, 12.25, 24.5], [0, 2, 3]),
  dispatches: [],
};
const TOMORROW = {
  ...TODAY, date: '2026-03-11', current_slot: null, slots: slots('2026-03-11', [-1.5, 30.1], [0, 3]),
};
const IMPORT = { id: 'import_tariff.1900000000001', kind: 'import_tariff', name: 'Import tariff', state: { unit_rate: 7 } };
const TESLA = {
  id: 'smart_energy_device.dev-tesla',
  kind: 'smart_energy_device',
  name: 'Tesla Model 3',
  state: {
    device_state: 'BOOSTING',
    dispatching: false,
    boosting: true,
    planned_dispatches: [{ start: '2026-03-10T19:00:00Z', end: '2026-03-10T20:00:00Z', type: 'SMART', energy_kwh: 7.5 }],
    next_dispatch_start: '2026-03-10T19:00:00Z',
    next_dispatch_end: '2026-03-10T20:00:00Z',
  },
};
const MG4 = {
  id: 'smart_energy_device.dev-mg4',
  kind: 'smart_energy_device',
  name: 'MG MG4',
  available: false,
  unavailable_reason: 'Kraken does not answer for this device',
  state: { device_state: 'SMART_CONTROL_NOT_AVAILABLE', planned_dispatches: [], next_dispatch_start: null },
};

async function setup(t, { configure = true, devices = [IMPORT, TESLA, MG4] } = {}) {
  const bridge = await new TimelineBridge().start();
  bridge.timelines = { today: TODAY, '2026-03-10': TODAY, '2026-03-11': TOMORROW };
  const { runtime } = await appOnFakeBridge(t, devices, { configure, bridge });
  return { bridge, runtime, homey: runtime.homey };
}

test('the widgets declare, in app.json, exactly the API their api.js serves', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'app.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest.widgets).sort(), ['next_dispatch', 'price_chart']);
  const apis = { price_chart: priceChartApi, next_dispatch: nextDispatchApi };
  for (const [id, widget] of Object.entries(manifest.widgets)) {
    assert.equal(widget.id, id);
    assert.deepEqual(Object.keys(widget.api).sort(), Object.keys(apis[id]).sort(), id);
    for (const route of Object.values(widget.api)) assert.equal(route.method, 'GET');
    assert.ok(widget.name.en && widget.name.nl, `${id} has a name in every language`);
    const dir = path.join(APP_DIR, 'widgets', id);
    for (const theme of ['light', 'dark']) {
      const png = fs.readFileSync(path.join(dir, `preview-${theme}.png`));
      // 1024×1024, 8-bit RGBA (colour type 6): transparent, as Homey's picker wants.
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]], [1024, 1024, 8, 6]);
    }
    const html = fs.readFileSync(path.join(dir, 'public', 'index.html'), 'utf8');
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${id} loads nothing from elsewhere`);
    assert.match(html, /<body class="homey-widget">/);
  }
  assert.ok(Number(manifest.compatibility.replace(/[^0-9.]/g, '').split('.')[1]) >= 3, 'widgets need >=12.3.0');
});

test('the price chart asks the bridge for a day and gets its timeline unchanged', async t => {
  const { bridge, homey } = await setup(t);
  assert.deepEqual(await priceChartApi.getTimeline({ homey, query: {} }), TODAY);
  assert.deepEqual(await priceChartApi.getTimeline({ homey, query: { date: '2026-03-11' } }), TOMORROW);
  assert.deepEqual(bridge.timelineQueries, ['', '?date=2026-03-11']);
  const asked = bridge.requests.filter(request => request.path === '/api/v1/timeline');
  assert.equal(asked.length, 2);
  for (const request of asked) assert.equal(request.headers.authorization, `Bearer ${bridge.token}`);
});

test('a date that is not YYYY-MM-DD never reaches the bridge', async t => {
  const { bridge, homey } = await setup(t);
  await assert.rejects(
    priceChartApi.getTimeline({ homey, query: { date: '10/03/2026' } }),
    { message: EN.errors.bad_date.replace('__date__', '10/03/2026') },
  );
  assert.deepEqual(bridge.timelineQueries, []);
});

test('the bridge\'s refusal and an unreachable bridge reach the widget as sentences', async t => {
  const { bridge, homey } = await setup(t);
  await assert.rejects(priceChartApi.getTimeline({ homey, query: { date: '2030-01-01' } }), /HTTP 400.*no such day/);
  bridge.token = 'a-rotated-token-0123456789';
  await assert.rejects(nextDispatchApi.getDevices({ homey }), { message: EN.errors.unauthorized });
  await bridge.close();
  await assert.rejects(priceChartApi.getTimeline({ homey, query: {} }), /Cannot reach the Kraken bridge at http:\/\/127\.0\.0\.1:\d+/);
  bridge.close = async () => {}; // already closed
});

test('without a bridge configured both widgets say how to connect one', async t => {
  const { homey } = await setup(t, { configure: false });
  await assert.rejects(priceChartApi.getTimeline({ homey, query: {} }), { message: EN.errors.not_configured });
  await assert.rejects(nextDispatchApi.getDevices({ homey }), { message: EN.errors.not_configured });
});

test('the next-dispatch widget gets every smart device as the bridge has it, with the Homey\'s clock and zone', async t => {
  const { bridge, homey } = await setup(t);
  const before = Date.now();
  const answer = await nextDispatchApi.getDevices({ homey });
  assert.deepEqual(Object.keys(answer).sort(), ['devices', 'language', 'now', 'timezone']);
  assert.equal(answer.timezone, 'Europe/London');
  assert.equal(answer.language, 'en');
  assert.ok(Date.parse(answer.now) >= before - 1000 && Date.parse(answer.now) <= Date.now() + 1000);
  // The smart devices only, in the bridge's order, each exactly as GET /devices/{id}.
  assert.deepEqual(answer.devices.map(device => device.id), [TESLA.id, MG4.id]);
  assert.deepEqual(answer.devices[0], bridge.devices.get(TESLA.id));
  assert.deepEqual(answer.devices[1], bridge.devices.get(MG4.id));
  assert.equal(answer.devices[1].available, false);
  const asked = bridge.requests.filter(request => request.path.startsWith('/api/v1/devices/')).map(request => request.path);
  assert.ok(!asked.includes(`/api/v1/devices/${IMPORT.id}`), 'no tariff device is fetched for this widget');
});

test('a bridge without a smart device gives the widget an empty list', async t => {
  const { homey } = await setup(t, { devices: [IMPORT] });
  const answer = await nextDispatchApi.getDevices({ homey });
  assert.deepEqual(answer.devices, []);
});

// ------------------------------------------------------------------ pushed, not polled

const { waitFor } = require('./helpers/homey_runtime');
const { SCENARIOS } = require('./helpers/bridge_process');
const { eachTransport, startPaired, bridgeGet } = require('./helpers/bridge_e2e');
const { WIDGET_EVENT } = require('../../homey_shim/widget_events');

const pushed = homey => homey.__realtime.filter(([event]) => event === WIDGET_EVENT).map(([, data]) => data);

test('the app pushes the widgets what they draw that changed, and nothing else', async t => {
  const ENERGY = { id: 'energy_account.A-1234ABCD', kind: 'energy_account', name: 'Octopus account', state: { power_w: 400 } };
  const { bridge, runtime, homey } = await setup(t, { devices: [IMPORT, TESLA, MG4, ENERGY] });
  // Reaching the bridge: anything may have changed.
  await waitFor(() => runtime.app.bridge.connected && pushed(homey).length > 0, { what: 'the push on connecting' });
  assert.deepEqual(pushed(homey), [{ device_id: null, kind: null, fields: [] }]);
  await waitFor(() => runtime.app.bridge.snapshot(ENERGY.id), { what: 'the opening burst' });

  bridge.send('state', { device_id: ENERGY.id, state: { power_w: 1200 }, updated_at: '2026-03-10T12:01:00Z' });
  bridge.send('state', { device_id: IMPORT.id, state: { unit_rate: 24.5, slot_start: '2026-03-10T12:30:00Z' }, updated_at: '2026-03-10T12:30:00Z' });
  bridge.send('state', {
    device_id: TESLA.id,
    state: { boosting: false, device_state: 'SMART_CONTROL_CAPABLE', charge_target_percent: 90 },
    updated_at: '2026-03-10T12:30:00Z',
  });
  bridge.send('availability', { device_id: MG4.id, available: true, reason: null });
  await waitFor(() => pushed(homey).some(data => data.device_id === MG4.id && data.fields[0] === 'available'
    && runtime.app.bridge.snapshot(MG4.id).available), { what: 'the MG4 push' });
  const after = pushed(homey).slice(1);
  // The meter's power and the car's charge target are no widget's; a price and the car's
  // state are. (slot_start is new to the app, so not a change yet.)
  assert.ok(!after.some(data => data.device_id === ENERGY.id), JSON.stringify(after));
  assert.deepEqual(after.filter(data => data.device_id === IMPORT.id),
    [{ device_id: IMPORT.id, kind: 'import_tariff', fields: ['unit_rate'] }]);
  assert.deepEqual(after.filter(data => data.device_id === TESLA.id && data.fields[0] !== 'available'),
    [{ device_id: TESLA.id, kind: 'smart_energy_device', fields: ['boosting', 'device_state'] }]);
  assert.deepEqual(after[after.length - 1], { device_id: MG4.id, kind: 'smart_energy_device', fields: ['available'] });
});

const PAGE_SCENARIO = require('path').join(SCENARIOS, 'iog_page_boost_dispatch_unplugged.json');
const PAGE_TESLA = 'smart_energy_device.dev-tesla';

eachTransport('the price chart gets the bridge\'s dispatch bands, and a change on the bridge is pushed', { timeout: 120000 }, async (t, transport) => {
  const { backend, runtime, homey } = await startPaired(t, {
    transport, scenario: PAGE_SCENARIO, speed: 10, kinds: ['import_tariff'],
  });
  // The bands: the bridge's own dispatch windows of the day, passed through unchanged,
  // once the bridge has seen the MG4 unplugged at 18:01 (its plan then no longer counts).
  await waitFor(async () => (await bridgeGet(backend, '/timeline')).dispatches.some(band => !band.counted), {
    timeoutMs: 30000, what: 'the MG4\'s plan not counted',
  });
  const answered = await priceChartApi.getTimeline({ homey, query: {} });
  const own = await bridgeGet(backend, `/timeline?date=${answered.date}`);
  assert.deepEqual(answered.dispatches, own.dispatches);
  assert.deepEqual(answered.dispatches.map(band => [band.device_id, band.type, band.counted]).slice(0, 2),
    [['dev-tesla', 'BOOST', true], ['dev-tesla', 'SMART', true]]);
  assert.ok(answered.dispatches.some(band => !band.counted && band.reason), 'the unplugged MG4\'s plan, not counted, with why');

  // A change on the bridge (the Tesla's smart charging suspended, e.g. in the Octopus app
  // through the bridge): the app pushes it to the widgets. No Homey device shows the Tesla.
  await waitFor(() => runtime.app.bridge.connected, { what: 'the connection' });
  const before = pushed(homey).length;
  const { status } = await backend.call('POST', `/devices/${PAGE_TESLA}/actions/suspend_smart_control`, {});
  assert.equal(status, 200);
  await waitFor(() => pushed(homey).slice(before).some(data => data.device_id === PAGE_TESLA), { what: 'the push' });
  const push = pushed(homey).slice(before).find(data => data.device_id === PAGE_TESLA);
  assert.equal(push.kind, 'smart_energy_device');
  assert.ok(push.fields.includes('device_state'), JSON.stringify(push));
  // What a widget reads on that push is already the new state.
  const cars = await nextDispatchApi.getDevices({ homey });
  assert.equal(cars.devices.find(device => device.id === PAGE_TESLA).state.device_state, 'SMART_CONTROL_OFF');
});
