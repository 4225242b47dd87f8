'use strict';

/*
 * Incremental parser for a text/event-stream body, following the WHATWG
 * "event stream interpretation": lines end in CRLF, LF or CR (a CRLF may be split
 * between two chunks); `data` lines join with "\n"; `id` persists across
 * events; comment lines start with ":"; an event is dispatched at a blank line and
 * dropped when it has no data; a partial event at the end of the stream is discarded.
 * Feed it decoded text (TextDecoder with {stream: true} keeps UTF-8 whole).
 */

class SseParser {
  constructor() {
    this._buffer = '';
    this._started = false;
    this._afterCr = false;
    this._data = [];
    this._eventType = '';
    this._idBuffer = null;
    /** The id of the last dispatched event (what Last-Event-ID should carry). */
    this.lastEventId = null;
    /** The last `retry:` value in ms, or null. */
    this.retryMs = null;
    /** Comment lines seen (keepalives). */
    this.comments = 0;
  }

  /**
   * @param {string} text  the next decoded piece of the stream
   * @returns {{event: string, data: string, id: string|null}[]} events completed by it
   */
  push(text) {
    if (!this._started && text.length) {
      this._started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this._afterCr && text[0] === '\n') text = text.slice(1); // the LF of a CRLF split across chunks
    this._afterCr = false;
    this._buffer += text;
    const events = [];
    let start = 0;
    for (;;) {
      let end = start;
      while (end < this._buffer.length && this._buffer[end] !== '\n' && this._buffer[end] !== '\r') end++;
      if (end >= this._buffer.length) break;
      let next = end + 1;
      if (this._buffer[end] === '\r') {
        if (next === this._buffer.length) this._afterCr = true;
        else if (this._buffer[next] === '\n') next++;
      }
      const event = this._line(this._buffer.slice(start, end));
      if (event) events.push(event);
      start = next;
    }
    this._buffer = this._buffer.slice(start);
    return events;
  }

  _line(line) {
    if (line === '') return this._dispatch();
    if (line[0] === ':') {
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
    this._eventType = '';
    if (data.length === 0) return null;
    return { event: type || 'message', data: data.join('\n'), id: this.lastEventId };
  }
}

module.exports = { SseParser };
