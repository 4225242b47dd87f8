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

// ------------------------------------------------------------------ misbehaving servers

const http = require('http');

/** A bare server on loopback; `handle(req, res)` answers /api/v1/events. */
async function rawServer(t, handle) {
  const server = http.createServer(handle);
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise(resolve => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, token: 'raw-server-token-0123456789' };
}

const EVENT_STREAM = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

test('a server that answers 200 text/event-stream and closes at once gets a handful of attempts in 3 s, further and further apart', async t => {
  let requests = 0;
  const server = await rawServer(t, (req, res) => {
    requests++;
    res.writeHead(200, EVENT_STREAM);
    res.end();
  });
  // The app's own timing: 1 s, 2 s, 4 s … with jitter.
  const { stream, seen } = streamFor(server, { initialDelayMs: 1000, maxDelayMs: 60000, random: Math.random });
  t.after(() => stream.stop());
  stream.start();
  await new Promise(resolve => setTimeout(resolve, 3000));
  await stream.stop();
  t.diagnostic(`${requests} requests in 3 s; waits ${seen.failures.map(f => f.delayMs).join(', ')} ms`);
  assert.ok(requests >= 2 && requests <= 4, `${requests} requests in 3 s`);
  assert.equal(seen.drops.length, 0, 'an empty stream never counts as a working one');
  assert.ok(seen.failures.every(f => f.opened && f.err.code === 'stream_closed'));
  assert.match(seen.failures[0].err.message, /without sending an event/);
  const delays = seen.failures.map(f => f.delayMs);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i] > delays[i - 1], `waits grow: ${delays}`);
  assert.ok(delays[0] >= 800 && delays[0] <= 1000, `the first wait is 1 s less up to a fifth: ${delays[0]}`);
});

test('the back-off grows over empty streams and starts again after a stream that delivers an event', async t => {
  const plan = ['empty', 'empty', 'empty', 'event', 'empty', 'empty', 'open'];
  let request = 0;
  const server = await rawServer(t, (req, res) => {
    const what = plan[Math.min(request++, plan.length - 1)];
    res.writeHead(200, EVENT_STREAM);
    if (what === 'event') res.end(`id: ${request}\ndata: {"n": ${request}}\n\n`);
    else if (what === 'empty') res.end(': nothing but a comment\n\n');
    else res.write(': keepalive\n\n');
  });
  const { stream, seen } = streamFor(server);
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => request === plan.length, { what: 'every planned answer' });
  assert.deepEqual(seen.failures.map(f => f.delayMs), [20, 40, 80, 20, 40], 'back to the first wait after the event');
  assert.equal(seen.events.length, 1);
  assert.equal(seen.drops.length, 1, 'the stream with an event ended like a working one: reopened at once');
});

test('a stream that stays open long enough counts as working even without an event', async t => {
  let requests = 0;
  const server = await rawServer(t, (req, res) => {
    requests++;
    res.writeHead(200, EVENT_STREAM);
    res.write(': keepalive\n\n');
    setTimeout(() => res.end(), requests <= 2 ? 5 : 120); // two short-lived, then ones that last
  });
  const { stream, seen } = streamFor(server, { stableAfterMs: 60 });
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => seen.drops.length >= 2, { what: 'two streams that lasted' });
  assert.deepEqual(seen.failures.map(f => f.delayMs), [20, 40]);
  assert.ok(seen.drops.every(err => err.code === 'stream_closed'));
});

test('an event of 50 MB is refused at 256 KB: the connection is dropped with a reason and retried after a wait', async t => {
  let written = 0;
  let requests = 0;
  const server = await rawServer(t, (req, res) => {
    requests++;
    res.writeHead(200, EVENT_STREAM);
    res.write('id: 1\nevent: state\ndata: {"device_id": "a", "state": {}}\n\nid: 2\nevent: state\n');
    const line = Buffer.from(`data: ${'x'.repeat(1000)}\n`.repeat(64));
    let sent = 0;
    const more = () => {
      while (sent < 50 * 1024 * 1024 && !res.destroyed) {
        sent += line.length;
        written += line.length;
        if (!res.write(line)) return res.once('drain', more);
      }
      return undefined;
    };
    res.on('close', () => { res.destroyed = true; });
    more();
  });
  const { stream, seen } = streamFor(server);
  t.after(() => stream.stop());
  const cpu = process.cpuUsage();
  stream.start();
  await waitFor(() => seen.failures.length >= 2, { what: 'two refusals' });
  const used = process.cpuUsage(cpu);
  await stream.stop();
  const cpuMs = (used.user + used.system) / 1000;
  t.diagnostic(`${requests} streams, ${(written / 1048576).toFixed(1)} MB written by the server in all, `
    + `${cpuMs.toFixed(0)} ms of CPU (server and client)`);
  const [first, second] = seen.failures;
  assert.equal(first.err.code, 'stream_event_too_large');
  assert.equal(first.err.message, 'The bridge sent an event larger than 256 KB; the app dropped the connection and will reconnect.');
  assert.equal(first.opened, true);
  assert.deepEqual([first.delayMs, second.delayMs], [20, 40], 'retried after growing waits, though each stream delivered an event before the oversized one');
  assert.equal(seen.events.length, 2, 'the event before it got through, on each stream');
  assert.equal(stream.lastEventId, '1');
  // what sockets buffer before the drop is read, a few MB, not the 2 x 50 MB sent
  assert.ok(written < 25 * 1024 * 1024, `the server could write ${written} bytes before the drop`);
  assert.ok(cpuMs < 2000, `${cpuMs} ms of CPU`);
});

test('an endless line is cut at 64 KB instead of growing until the idle timeout', async t => {
  const server = await rawServer(t, (req, res) => {
    res.writeHead(200, EVENT_STREAM);
    res.write('data: ');
    const timer = setInterval(() => res.write('y'.repeat(16 * 1024)), 5);
    res.on('close', () => clearInterval(timer));
  });
  const { stream, seen } = streamFor(server, { idleTimeoutMs: 60000 });
  t.after(() => stream.stop());
  stream.start();
  await waitFor(() => seen.failures.length >= 1, { what: 'the refusal' });
  assert.equal(seen.failures[0].err.code, 'stream_line_too_long');
  assert.equal(seen.failures[0].err.message,
    'The bridge sent a line longer than 64 KB; the app dropped the connection and will reconnect.');
});
