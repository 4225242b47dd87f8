'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { SseParser } = require('../../homey_shim/sse_parser');

const STREAM = [
  ': keepalive',
  'id: 7',
  'event: state',
  'data: {"device_id": "import_tariff.1", "state": {"unit_rate": 24.5}}',
  '',
  'event: availability',
  'id: 8',
  'data: {"device_id": "import_tariff.1", "available": false,',
  'data:  "reason": "no rates"}',
  '',
  '',
].join('\n');

function parseAll(chunks) {
  const parser = new SseParser();
  const events = chunks.flatMap(chunk => parser.push(chunk));
  return { parser, events };
}

test('parses events with ids, types and multi-line data', () => {
  const { events, parser } = parseAll([STREAM]);
  assert.deepEqual(events, [
    { event: 'state', id: '7', data: '{"device_id": "import_tariff.1", "state": {"unit_rate": 24.5}}' },
    { event: 'availability', id: '8', data: '{"device_id": "import_tariff.1", "available": false,\n "reason": "no rates"}' },
  ]);
  assert.equal(parser.lastEventId, '8');
  assert.equal(parser.comments, 1);
  assert.equal(JSON.parse(events[1].data).reason, 'no rates');
});

test('gives the same events whatever the chunk boundaries', () => {
  const whole = parseAll([STREAM]).events;
  for (let size = 1; size <= 13; size++) {
    const chunks = [];
    for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
    assert.deepEqual(parseAll(chunks).events, whole, `chunk size ${size}`);
  }
});

test('accepts CRLF and CR line endings, also split between chunks', () => {
  const crlf = STREAM.replaceAll('\n', '\r\n');
  const cr = STREAM.replaceAll('\n', '\r');
  const expected = parseAll([STREAM]).events;
  assert.deepEqual(parseAll([crlf]).events, expected);
  assert.deepEqual(parseAll([cr]).events, expected);
  // a CR at the end of one chunk and its LF at the start of the next is one line break
  const at = crlf.indexOf('\r\n') + 1;
  assert.deepEqual(parseAll([crlf.slice(0, at), crlf.slice(at)]).events, expected);
});

test('ignores comments, unknown fields, and events without data', () => {
  const { events, parser } = parseAll([
    ': hello\nfoo: bar\nid: 3\n\nevent: resync\n\n: keepalive\n\ndata\n\n',
  ]);
  // "data" with no colon is a data field with an empty value: one event, type message
  assert.deepEqual(events, [{ event: 'message', data: '', id: '3' }]);
  assert.equal(parser.lastEventId, '3', 'an id without data still counts as seen');
  assert.equal(parser.comments, 2);
});

test('keeps the id across events that do not set one, and honours retry', () => {
  const { events, parser } = parseAll(['id: 41\ndata: a\n\ndata: b\n\nretry: 2500\nid\ndata: c\n\n']);
  assert.deepEqual(events.map(e => e.id), ['41', '41', '']);
  assert.equal(parser.retryMs, 2500);
});

test('strips only one space after the colon, and a leading BOM', () => {
  const { events } = parseAll(['\uFEFFdata:  two spaces\ndata:none\n\n']);
  assert.deepEqual(events, [{ event: 'message', data: ' two spaces\nnone', id: null }]);
});

test('holds an unfinished event until its blank line arrives', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('event: state\ndata: {"a":'), []);
  assert.deepEqual(parser.push('1}\n'), []);
  assert.deepEqual(parser.push('\n'), [{ event: 'state', data: '{"a":1}', id: null }]);
});

test('ignores an id that contains NUL', () => {
  const { parser } = parseAll(['id: 5\ndata: x\n\nid: 6\0\ndata: y\n\n']);
  assert.equal(parser.lastEventId, '5');
});

// ------------------------------------------------------------------ limits and cost

const v8 = require('v8');
const vm = require('vm');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function heapUsed() {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** CPU time (user + system, ms) that fn takes. */
function cpuMs(fn) {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Feeds `total` bytes of `chunk`, repeated, after `head`; returns what came out. */
function feedRepeated(parser, head, chunk, total) {
  const events = parser.pushBytes(Buffer.from(head));
  for (let fed = 0; fed < total; fed += chunk.length) events.push(...parser.pushBytes(chunk));
  return events;
}

const FIFTY_MB = 50 * 1024 * 1024;

test('a 50 MB event in one endless data line is refused at the line limit, quickly, holding nothing', t => {
  const parser = new SseParser();
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const before = heapUsed();
  let events;
  const ms = cpuMs(() => {
    events = feedRepeated(parser, 'id: 1\nevent: state\ndata: {"device_id": "a", "blob": "', chunk, FIFTY_MB);
  });
  const held = heapUsed() - before;
  t.diagnostic(`50 MB line: ${ms.toFixed(0)} ms of CPU, ${(held / 1024).toFixed(0)} KB held after it`);
  assert.deepEqual(events, []);
  assert.equal(parser.error.code, 'stream_line_too_long');
  assert.equal(parser.error.message,
    'The bridge sent a line longer than 64 KB; the app dropped the connection and will reconnect.');
  assert.deepEqual(parser.error.params, { size: '64 KB' });
  assert.ok(ms < 1000, `refusing it took ${ms} ms of CPU`);
  assert.ok(held < 4 * 1024 * 1024, `the parser still holds ${held} bytes`);
});

test('a 50 MB event in many data lines is refused at the event limit, quickly, holding nothing', t => {
  const parser = new SseParser();
  const line = `data: ${'b'.repeat(1000)}\n`;
  const chunk = Buffer.from(line.repeat(64)); // 64 lines a chunk, ~64 KB
  const before = heapUsed();
  let events;
  const ms = cpuMs(() => {
    events = feedRepeated(parser, 'id: 1\nevent: state\n', chunk, FIFTY_MB);
  });
  const held = heapUsed() - before;
  t.diagnostic(`50 MB event: ${ms.toFixed(0)} ms of CPU, ${(held / 1024).toFixed(0)} KB held after it`);
  assert.deepEqual(events, []);
  assert.equal(parser.error.code, 'stream_event_too_large');
  assert.equal(parser.error.message,
    'The bridge sent an event larger than 256 KB; the app dropped the connection and will reconnect.');
  assert.ok(ms < 1000, `refusing it took ${ms} ms of CPU`);
  assert.ok(held < 4 * 1024 * 1024, `the parser still holds ${held} bytes`);
});

test('an endless line is cut at the limit even without a line end, and nothing after it is parsed', () => {
  const parser = new SseParser({ maxLineChars: 100 });
  assert.deepEqual(parser.push('data: ok\n\n'.concat('x'.repeat(60))), [{ event: 'message', data: 'ok', id: null }]);
  assert.equal(parser.error, null, '60 characters are within the limit');
  assert.deepEqual(parser.push('x'.repeat(40)), []);
  assert.equal(parser.error, null, 'exactly 100 are too');
  assert.deepEqual(parser.push('x'), []);
  assert.equal(parser.error.code, 'stream_line_too_long');
  assert.equal(parser.error.params.size, '100 characters');
  assert.deepEqual(parser.push('\n\ndata: late\n\n'), [], 'a stopped parser stays stopped');
});

test('events completed before the limit in the same chunk are still handed out', () => {
  const parser = new SseParser({ maxEventChars: 10 });
  const events = parser.push('id: 1\ndata: 0123456789\n\nid: 2\ndata: 01234\ndata: 56789\n\nid: 3\ndata: x\n\n');
  assert.deepEqual(events, [{ event: 'message', data: '0123456789', id: '1' }]);
  assert.equal(parser.error.code, 'stream_event_too_large');
  assert.equal(parser.lastEventId, '1', 'a reconnect resumes after the last event handed out');
});

test('the largest real event, a smart device\'s whole state with a day and a half of half-hour dispatches, is far inside the limits', () => {
  const planned = [];
  for (let i = 0; i < 72; i++) {
    const start = new Date(Date.UTC(2026, 2, 10, 12) + i * 1800000).toISOString().replace('.000Z', 'Z');
    const end = new Date(Date.UTC(2026, 2, 10, 12) + (i + 1) * 1800000).toISOString().replace('.000Z', 'Z');
    planned.push({ start, end, type: i % 9 === 0 ? 'BOOST' : 'SMART', energy_kwh: 3.456 });
  }
  const state = {
    kraken_device_id: '00000000-000a-4000-8020-0000000bcd12', device_state: 'SMART_CONTROL_CAPABLE',
    dispatches_honoured: true, dispatching: true, boosting: false, planned_dispatches: planned,
    next_dispatch_start: planned[1].start, next_dispatch_end: planned[1].end, planned_dispatch_count: planned.length,
    planned_energy_kwh: 248.832, current_dispatch_end: planned[0].end, ev_unit_rate: 7, ev_peak_rate: 24.5,
    ev_off_peak_rate: 7, allowance_used_minutes: 360, allowance_left_minutes: 0, allowance_reached: true,
  };
  const data = JSON.stringify({ device_id: 'smart_energy_device.00000000-000a-4000-8020-0000000bcd12', state, updated_at: planned[0].start });
  const parser = new SseParser();
  const events = parser.push(`id: 12\nevent: state\ndata: ${data}\n\n`);
  assert.equal(parser.error, null);
  assert.equal(events.length, 1);
  assert.ok(data.length < 64 * 1024 / 4, `${data.length} characters`);
});

test('bytes split inside a character, a CRLF or a BOM come out whole', () => {
  const bytes = Buffer.from('\uFEFFid: 1\r\ndata: £5 and €6 and 🔌\r\n\r\n');
  const expected = [{ event: 'message', data: '£5 and €6 and 🔌', id: '1' }];
  for (let size = 1; size <= 5; size++) {
    const parser = new SseParser();
    const events = [];
    for (let i = 0; i < bytes.length; i += size) events.push(...parser.pushBytes(bytes.subarray(i, i + size)));
    assert.deepEqual(events, expected, `chunk size ${size}`);
  }
});

/** CPU time to parse `count` small events fed one byte at a time. */
function timeOneByteChunks(count) {
  const text = Array.from({ length: count }, (_, i) => `id: ${i}\nevent: state\ndata: {"device_id": "a", "state": {"unit_rate": ${i}}}\n\n`).join('');
  const bytes = Buffer.from(text);
  const parser = new SseParser();
  let events = 0;
  const ms = cpuMs(() => {
    for (let i = 0; i < bytes.length; i++) events += parser.pushBytes(bytes.subarray(i, i + 1)).length;
  });
  assert.equal(events, count);
  return ms;
}

test('parsing time grows linearly with the number of events, even in one-byte chunks', t => {
  timeOneByteChunks(1000); // warm-up
  const small = Math.min(...[1, 2, 3].map(() => timeOneByteChunks(1000)));
  const large = timeOneByteChunks(10000);
  t.diagnostic(`1,000 events: ${small.toFixed(1)} ms; 10,000: ${large.toFixed(1)} ms (x${(large / small).toFixed(1)})`);
  assert.ok(large / small < 30, `10x the events took ${(large / small).toFixed(1)}x the time`);
});

/** CPU time to parse, 5 times over, `count` events of one `length`-character data line in 16-character chunks. */
function timeLongLines(length, count) {
  const text = `data: ${'c'.repeat(length)}\n\n`.repeat(count);
  let events = 0;
  const ms = cpuMs(() => {
    for (let round = 0; round < 5; round++) {
      const parser = new SseParser();
      for (let i = 0; i < text.length; i += 16) events += parser.push(text.slice(i, i + 16)).length;
    }
  });
  assert.equal(events, 5 * count);
  return ms;
}

test('a long line costs per character what a short one does (no rescanning of the unfinished line)', t => {
  timeLongLines(3000, 20); // warm-up
  const short = Math.min(...[1, 2, 3].map(() => timeLongLines(3000, 20)));
  const long = Math.min(...[1, 2, 3].map(() => timeLongLines(60000, 1)));
  t.diagnostic(`20 lines of 3,000 characters: ${short.toFixed(1)} ms; 1 line of 60,000: ${long.toFixed(1)} ms`);
  // rescanning the unfinished line at each chunk made this about 9x (8.5x measured before #16)
  assert.ok(long / short < 4, `the same text in one long line took ${(long / short).toFixed(1)}x the time`);
});
