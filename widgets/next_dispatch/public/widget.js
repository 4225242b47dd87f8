'use strict';

/*
 * Next-dispatch widget: for each of the bridge's smart energy devices (a car or a
 * charger), whether it is smart charging or boosting now, its next dispatch window in
 * the Homey's local time, and how many dispatches are planned. The bridge decides all
 * of it (dispatching, boosting, current_dispatch_end, next_dispatch_start/end,
 * planned_dispatch_count); this file
 * only formats times and draws.
 *
 * The app pushes WIDGET_EVENT when a car's dispatches or state change
 * (homey_shim/widget_events.js): the widget reads again then. A slow poll is only the
 * fallback; "in 25 min" is redrawn each minute from what was read.
 */
(function nextDispatchWidget() {
  const REFRESH_MS = 10 * 60 * 1000; // the fallback; pushes bring changes sooner
  const REDRAW_MS = 60 * 1000; // relative times ("in 25 min") move on without a read
  const PUSH_DELAY_MS = 250; // pushes that come together are read once
  const WIDGET_EVENT = 'kraken_state';
  const PUSHED_KINDS = [null, 'smart_energy_device'];

  let Homey = null;
  let answer = null;
  let receivedAt = 0;
  let readySent = false;
  let refreshTimer = null;
  let pushTimer = null;
  let loads = 0; // the latest load() wins

  const $ = id => document.getElementById(id);

  function t(key, tokens = {}) {
    const full = key.startsWith('device_states.') ? key : `widgets.${key}`;
    let text = Homey && typeof Homey.__ === 'function' ? Homey.__(full, tokens) : null;
    if (typeof text !== 'string' || text === full) return null;
    for (const [name, value] of Object.entries(tokens)) text = text.split(`__${name}__`).join(String(value));
    return text;
  }

  function element(tag, className, text, parent) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  // ------------------------------------------------------------------ time

  function formatter(options) {
    const language = (answer && answer.language) || 'en';
    const locale = language === 'en' ? 'en-GB' : language;
    const timeZone = (answer && answer.timezone) || undefined;
    try {
      return new Intl.DateTimeFormat(locale, { ...options, timeZone });
    } catch (err) {
      return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' });
    }
  }

  const time = iso => formatter({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  const localDate = ms => formatter({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));

  /** The app's clock (the Homey's), moved on by the time since the answer came. */
  function now() {
    const base = answer && Date.parse(answer.now);
    return Number.isFinite(base) ? base + (Date.now() - receivedAt) : Date.now();
  }

  function dayName(iso) {
    const at = Date.parse(iso);
    const today = now();
    if (localDate(at) === localDate(today)) return t('next_dispatch.today');
    // The next calendar day in the Homey's zone: 36 h on is always within it or the day after.
    for (const hours of [12, 24, 36]) {
      const later = today + hours * 3600 * 1000;
      if (localDate(later) !== localDate(today)) {
        if (localDate(at) === localDate(later)) return t('next_dispatch.tomorrow');
        break;
      }
    }
    return formatter({ weekday: 'short' }).format(new Date(at));
  }

  function duration(ms) {
    const minutes = Math.max(1, Math.round(ms / 60000));
    const hours = Math.floor(minutes / 60);
    if (!hours) return `${minutes} min`;
    return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  }

  // ------------------------------------------------------------------ drawing

  function drawDevice(list, device) {
    const state = device.state || {};
    const item = element('li', 'kb-device', null, list);
    item.dataset.deviceId = device.id;
    const top = element('div', 'kb-row', null, item);
    element('span', 'kb-name', device.name, top);

    let status = null;
    let statusClass = '';
    if (device.available === false) {
      status = t('next_dispatch.unavailable');
    } else if (state.boosting === true || state.dispatching === true) {
      statusClass = state.boosting === true ? 'boosting' : 'dispatching';
      status = t(`next_dispatch.${statusClass}`);
      if (state.current_dispatch_end) {
        status += ` · ${t('next_dispatch.until', { time: time(state.current_dispatch_end) })}`;
      }
    }
    if (status) {
      const now_ = element('span', `kb-now ${statusClass}`.trim(), status, top);
      now_.dataset.now = statusClass || 'unavailable';
    }

    const window_ = element('div', 'kb-window', null, item);
    if (state.next_dispatch_start && state.next_dispatch_end) {
      element('span', 'kb-day', dayName(state.next_dispatch_start), window_);
      window_.appendChild(document.createTextNode(' '));
      element('span', 'kb-times', `${time(state.next_dispatch_start)} – ${time(state.next_dispatch_end)}`, window_);
      window_.dataset.start = state.next_dispatch_start;
      window_.dataset.end = state.next_dispatch_end;
    } else {
      window_.classList.add('none');
      window_.textContent = t('next_dispatch.none');
    }

    const details = [];
    if (state.next_dispatch_start) {
      const wait = Date.parse(state.next_dispatch_start) - now();
      details.push(wait > 0 ? `${t('next_dispatch.next')} ${t('next_dispatch.in', { duration: duration(wait) })}` : t('next_dispatch.next'));
    }
    const planned = typeof state.planned_dispatch_count === 'number' ? state.planned_dispatch_count : null;
    if (planned) {
      details.push(planned === 1 ? t('next_dispatch.planned_one') : t('next_dispatch.planned', { count: planned }));
    }
    if (state.dispatches_honoured === false || (!details.length && state.device_state)) {
      details.push(t(`device_states.${state.device_state}`) || String(state.device_state || ''));
    }
    if (device.available === false && device.unavailable_reason) details.push(device.unavailable_reason);
    const detail = element('div', 'kb-detail', details.filter(Boolean).join(' · '), item);
    detail.dataset.planned = planned == null ? '' : String(planned);
  }

  function draw() {
    const list = $('devices');
    list.textContent = '';
    const devices = (answer && answer.devices) || [];
    for (const device of devices) drawDevice(list, device);
    showMessage(devices.length ? '' : t('next_dispatch.no_devices'), false);
    $('root').dataset.ready = '1';
    fitHeight();
  }

  function showMessage(text, isError) {
    const message = $('message');
    message.textContent = text || '';
    message.hidden = !text;
    message.classList.toggle('error', Boolean(isError));
  }

  function fitHeight() {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (!readySent) {
      readySent = true;
      Homey.ready({ height });
    } else if (typeof Homey.setHeight === 'function') {
      Homey.setHeight(height);
    }
  }

  async function load() {
    clearTimeout(refreshTimer);
    const mine = ++loads;
    try {
      const next = await Homey.api('GET', '/devices');
      if (mine !== loads) return; // a newer read (a push) is under way
      answer = next;
      receivedAt = Date.now();
      draw();
    } catch (err) {
      if (mine !== loads) return;
      showMessage(err && err.message ? err.message : String(err), true);
      $('root').dataset.ready = answer ? '1' : 'error';
      fitHeight();
    }
    refreshTimer = setTimeout(load, REFRESH_MS);
  }

  /** A push from the app: read again soon if it is about a car. */
  function onPush(data) {
    if (!data || !PUSHED_KINDS.includes(data.kind === undefined ? null : data.kind)) return;
    if (pushTimer) return;
    pushTimer = setTimeout(() => {
      pushTimer = null;
      load();
    }, PUSH_DELAY_MS);
  }

  window.onHomeyReady = function onHomeyReady(homey) {
    Homey = homey;
    showMessage(t('loading') || '…', false);
    if (typeof Homey.on === 'function') Homey.on(WIDGET_EVENT, onPush);
    setInterval(() => {
      if (answer) draw();
    }, REDRAW_MS);
    load();
  };
}());
