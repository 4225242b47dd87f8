'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventStream } = require('../../homey_shim/event_stream');
const { BridgeClient } = require('../../homey_shim/bridge_client');
const { FakeBridge } = require('./helpers/fake_bridge');
const { waitFor } = require('./helpers/homey_runtime');

function streamFor(bridge, options = {}) {
  const client = new BridgeClient({ url: bridge.url, token: bridge.token });
  const seen = { events: [], opens: [], drops: [], failures: [] };
  const stream = new EventStream({
    timers: globalThis,
    initialDelayMs: 20,
    maxDelayMs: 80,
    random: () => 0, // no jitter: exact delays
    open: opts => client.openEventStream(opts),
    onEvent: event => seen.events.push(event),
    onOpen: info => seen.opens.push(info),
    onDrop: err => seen.drops.push(err),
    onFailure: (err, info) => seen.failures.push({ err, ...info }),
    ...options,
  });
  return { stream, seen };
}

test('reads events written in awkward pieces', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  bridge.onStreamOpen = res => {
    const text = ': keepalive\n\nid: 1\nevent: state\ndata: {"device_id": "a",\ndata: "state": {"unit_rate": 1.5}}\n\n'
      + 'id: 2\r\nevent: resync\r\ndata: {"reason": "£ and € survive splitting"}\r\n\r\n';
    const bytes = Buffer.from(text);
    let at = 0;
    const timer = setInterval(() => {
      res.write(bytes.subarray(at, at + 7)); // splits lines, CRLFs and multi-byte characters
      at += 7;
      if (at >= bytes.length) clearInterval(timer);
    }, 1);
  };
  const { stream, seen } = streamFor(bridge);
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => seen.events.length === 2, { what: 'two events' });
  assert.deepEqual(JSON.parse(seen.events[0].data), { device_id: 'a', state: { unit_rate: 1.5 } });
  assert.equal(seen.events[1].event, 'resync');
  assert.equal(JSON.parse(seen.events[1].data).reason, '£ and € survive splitting');
  assert.equal(stream.lastEventId, '2');
});

test('reconnects at once with Last-Event-ID after the bridge closes the stream', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  const { stream, seen } = streamFor(bridge);
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => bridge.streams.size === 1, { what: 'a stream' });
  bridge.send('state', { device_id: 'a', state: { unit_rate: 2 } });
  bridge.send('state', { device_id: 'a', state: { unit_rate: 3 } });
  await waitFor(() => seen.events.length === 2, { what: 'two events' });

  bridge.dropStreams();
  await waitFor(() => seen.opens.length === 2, { what: 'a reconnect' });
  assert.deepEqual(seen.opens, [{ resumed: false }, { resumed: true }]);
  assert.equal(seen.drops[0].code, 'stream_closed');
  assert.equal(seen.failures.length, 0, 'an immediate successful reconnect is not a failure');
  const streamRequests = bridge.requests.filter(r => r.path === '/api/v1/events');
  assert.equal(streamRequests[0].headers['last-event-id'], undefined);
  assert.equal(streamRequests[1].headers['last-event-id'], '2');
});

test('backs off 1x, 2x, 4x … up to the cap while the bridge refuses', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  bridge.eventsStatus = 503;
  const { stream, seen } = streamFor(bridge);
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => seen.failures.length >= 5, { what: 'five failures' });
  assert.deepEqual(seen.failures.slice(0, 5).map(f => f.delayMs), [20, 40, 80, 80, 80]);
  assert.equal(seen.failures[0].err.code, 'http_error');

  bridge.eventsStatus = 200;
  await waitFor(() => seen.opens.length === 1, { what: 'recovery' });
});

test('a stream that goes silent is dropped and reopened', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  bridge.onStreamOpen = () => {}; // headers, then nothing at all
  // open for longer than stableAfterMs: it worked once, so it is reopened at once
  const { stream, seen } = streamFor(bridge, { idleTimeoutMs: 100, stableAfterMs: 50 });
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => seen.opens.length >= 2, { what: 'a reopen after silence' });
  assert.equal(seen.drops[0].code, 'stream_idle');
});

test('stop() closes the stream and ends the loop', async t => {
  const bridge = await new FakeBridge().start();
  t.after(() => bridge.close());
  const { stream, seen } = streamFor(bridge);
  stream.start();
  await waitFor(() => bridge.streams.size === 1, { what: 'a stream' });
  await stream.stop();
  await waitFor(() => bridge.streams.size === 0, { what: 'the server to see the close' });
  assert.equal(stream.running, false);
  assert.equal(seen.drops.length + seen.failures.length, 0);
});
