'use strict';

/*
 * Incremental parser for a text/event-stream body, following the WHATWG
 * "event stream interpretation": lines end in CRLF, LF or CR (a CRLF may be split
 * between two chunks); `data` lines join with "\n"; `id` persists across
 * events; comment lines start with ":"; an event is dispatched at a blank line and
 * dropped when it has no data; a partial event at the end of the stream is discarded.
 *
 * Linear time: each chunk is scanned once; the unfinished line is kept as a list of
 * pieces, never rescanned or re-joined until its line end arrives.
 * Bounded memory: a line longer than maxLineChars or an event whose data passes
 * maxEventChars stops the parser; `error` then says why (a BridgeConnectionError a
 * person can read) and every later push returns nothing. The bridge's events are JSON
 * in one data line, ASCII, so characters are bytes; its largest, a smart device's
 * whole state with its planned dispatches, is a few KB.
 *
 * Feed it bytes with pushBytes (UTF-8, decoded with {stream: true}, so a character
 * split between chunks stays whole) or decoded text with push.
 */

const { BridgeConnectionError } = require('./errors');

const KB = 1024;
const LINE_END = /[\r\n]/g;

class SseParser {
  /**
   * @param {object} [limits]
   * @param {number} [limits.maxLineChars]   longest line accepted (64 K)
   * @param {number} [limits.maxEventChars]  most data one event may carry (256 K)
   */
  constructor({ maxLineChars = 64 * KB, maxEventChars = 256 * KB } = {}) {
    this._maxLineChars = maxLineChars;
    this._maxEventChars = maxEventChars;
    this._decoder = null;
    this._pieces = []; // the unfinished line
    this._piecesLength = 0;
    this._started = false;
    this._afterCr = false;
    this._data = [];
    this._dataLength = 0; // characters the event's data holds, "\n" joins included
    this._eventType = '';
    this._idBuffer = null;
    /** The id of the last dispatched event (what Last-Event-ID should carry). */
    this.lastEventId = null;
    /** The last `retry:` value in ms, or null. */
    this.retryMs = null;
    /** Comment lines seen (keepalives). */
    this.comments = 0;
    /** Why the parser stopped (a line or an event too large), or null. */
    this.error = null;
  }

  /**
   * @param {Uint8Array} bytes  the next piece of the body, as it came
   * @returns {{event: string, data: string, id: string|null}[]} events completed by it
   */
  pushBytes(bytes) {
    if (!this._decoder) this._decoder = new TextDecoder('utf-8');
    return this.push(this._decoder.decode(bytes, { stream: true }));
  }

  /**
   * @param {string} text  the next decoded piece of the stream
   * @returns {{event: string, data: string, id: string|null}[]} events completed by it;
   *          after a limit is passed, those completed before it (see `error`)
   */
  push(text) {
    const events = [];
    if (this.error || !text.length) return events;
    let start = 0;
    if (!this._started) {
      this._started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this._afterCr) {
      this._afterCr = false;
      if (text.charCodeAt(start) === 0x0a) start++; // the LF of a CRLF split across chunks
    }
    while (start < text.length) {
      LINE_END.lastIndex = start;
      const match = LINE_END.exec(text);
      if (!match) {
        this._keep(text, start);
        break;
      }
      const end = match.index;
      if (this._piecesLength + (end - start) > this._maxLineChars) {
        this._stop('line');
        break;
      }
      let line = text.slice(start, end);
      if (this._pieces.length) {
        this._pieces.push(line);
        line = this._pieces.join('');
        this._pieces = [];
        this._piecesLength = 0;
      }
      start = end + 1;
      if (text.charCodeAt(end) === 0x0d) {
        if (start === text.length) this._afterCr = true;
        else if (text.charCodeAt(start) === 0x0a) start++;
      }
      const event = this._line(line);
      if (this.error) break;
      if (event) events.push(event);
    }
    return events;
  }

  /** Keeps the rest of a chunk that holds no line end, within the line limit. */
  _keep(text, start) {
    const length = text.length - start;
    if (this._piecesLength + length > this._maxLineChars) {
      this._stop('line');
      return;
    }
    this._pieces.push(start ? text.slice(start) : text);
    this._piecesLength += length;
  }

  _stop(what) {
    const limit = what === 'line' ? this._maxLineChars : this._maxEventChars;
    const size = formatSize(limit);
    this.error = what === 'line'
      ? new BridgeConnectionError('stream_line_too_long',
        `The bridge sent a line longer than ${size}; the app dropped the connection and will reconnect.`,
        { params: { size } })
      : new BridgeConnectionError('stream_event_too_large',
        `The bridge sent an event larger than ${size}; the app dropped the connection and will reconnect.`,
        { params: { size } });
    // Let go of what was held: the stream is finished.
    this._pieces = [];
    this._piecesLength = 0;
    this._data = [];
    this._dataLength = 0;
  }

  _line(line) {
    if (line === '') return this._dispatch();
    if (line.charCodeAt(0) === 0x3a) { // ":"
      this.comments++;
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event':
        this._eventType = value;
        break;
      case 'data':
        this._dataLength += value.length + (this._data.length ? 1 : 0);
        if (this._dataLength > this._maxEventChars) {
          this._stop('event');
          break;
        }
        this._data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this._idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  _dispatch() {
    this.lastEventId = this._idBuffer;
    const data = this._data;
    const type = this._eventType;
    this._data = [];
    this._dataLength = 0;
    this._eventType = '';
    if (data.length === 0) return null;
    return { event: type || 'message', data: data.join('\n'), id: this.lastEventId };
  }
}

function formatSize(chars) {
  return chars >= KB && chars % KB === 0 ? `${chars / KB} KB` : `${chars} characters`;
}

module.exports = { SseParser };
