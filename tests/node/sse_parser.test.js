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
