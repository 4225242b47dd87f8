'use strict';

/*
 * Price chart widget: today's (and, once published, tomorrow's) half-hour import prices
 * as bars coloured by the bridge's price quadrant, the current slot marked, and the
 * cars' dispatch windows behind them as the bridge page draws them (counted smart
 * charging, boosts, and faded what does not count). Everything shown comes from the
 * bridge through the app (GET /timeline?date=): the prices (pence per kWh), the
 * quadrants, which slot is current, the slot labels (London time) and the dispatches.
 * This file only draws.
 *
 * The app pushes WIDGET_EVENT when something drawn here changes (a new slot, a price,
 * a dispatch; homey_shim/widget_events.js): the chart reads again then. A slow poll is
 * only the fallback.
 */
(function priceChartWidget() {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const REFRESH_MS = 10 * 60 * 1000; // the fallback; pushes bring changes sooner
  const PUSH_DELAY_MS = 250; // pushes that come together are read once
  const WIDGET_EVENT = 'kraken_state';
  const PUSHED_KINDS = [null, 'import_tariff', 'smart_energy_device'];
  const PICK_MS = 4000; // a tapped bar's price stays this long in the header
  const CHART = { top: 9, height: 74, axis: 16 };
  const LONDON = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/London',
  });

  let Homey = null;
  let settings = {};
  let today = null;
  let tomorrow = null;
  let tomorrowAsked = false;
  let refreshTimer = null;
  let pushTimer = null;
  let loads = 0; // the latest load() wins
  let pickTimer = null;
  let readySent = false;
  let lastWidth = 0;

  const $ = id => document.getElementById(id);

  function t(key, tokens = {}) {
    const full = `widgets.${key}`;
    let text = Homey && typeof Homey.__ === 'function' ? Homey.__(full, tokens) : null;
    if (typeof text !== 'string' || text === full) text = key.split('.').pop();
    for (const [name, value] of Object.entries(tokens)) text = text.split(`__${name}__`).join(String(value));
    return text;
  }

  function pence(value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
    return `${value.toFixed(Math.abs(value) >= 100 ? 0 : 1)}${t('price_chart.unit')}`;
  }

  function nextDate(isoDate) {
    const [y, m, d] = isoDate.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  }

  function svg(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function priced(day) {
    return day ? day.slots.filter(slot => typeof slot.unit_rate === 'number') : [];
  }

  // ------------------------------------------------------------------ header

  function setStat(prefix, label, slot) {
    $(`${prefix}-label`).textContent = label;
    $(`${prefix}-price`).textContent = slot ? pence(slot.unit_rate) : '–';
    const dot = $(`${prefix}-dot`);
    dot.className = slot && slot.price_quadrant != null ? `kb-dot q${slot.price_quadrant}` : 'kb-dot';
    dot.title = slot && slot.price_quadrant != null ? t(`price_chart.quadrants.q${slot.price_quadrant}`) : '';
  }

  function drawHeader() {
    const slots = today ? today.slots : [];
    const index = today ? slots.findIndex(slot => slot.start === today.current_slot) : -1;
    const now = index >= 0 ? slots[index] : null;
    let next = index >= 0 ? slots[index + 1] : null;
    if (index === slots.length - 1 && tomorrow) [next] = tomorrow.slots;
    $('stat-now').classList.remove('picked');
    setStat('now', t('price_chart.now'), now);
    setStat('next', t('price_chart.next'), next || null);
    $('range-label').textContent = t('price_chart.today');
    $('range').textContent = today.min_unit_rate != null && today.max_unit_rate != null
      ? t('price_chart.range', { min: pence(today.min_unit_rate), max: pence(today.max_unit_rate) })
      : '–';
  }

  function pick(day, slot) {
    clearTimeout(pickTimer);
    $('stat-now').classList.add('picked');
    const prefix = day === tomorrow ? `${t('price_chart.tomorrow')} ` : '';
    setStat('now', `${prefix}${slot.label}`, slot);
    document.querySelectorAll('rect.bar.picked').forEach(bar => bar.classList.remove('picked'));
    const bar = document.querySelector(`rect.bar[data-start="${slot.start}"]`);
    if (bar) bar.classList.add('picked');
    pickTimer = setTimeout(() => {
      document.querySelectorAll('rect.bar.picked').forEach(node => node.classList.remove('picked'));
      drawHeader();
    }, PICK_MS);
  }

  // ------------------------------------------------------------------ charts

  /** The bridge page's band kinds: counted SMART, BOOST or TEST, or not counted. */
  function bandKind(band) {
    if (!band.counted) return 'ignored';
    return { SMART: 'smart', BOOST: 'boost' }[band.type] || 'test';
  }

  /** Each dispatch window touching the day, behind the bars, from its start to its end. */
  function drawBands(chart, day, width) {
    const dayStart = Date.parse(day.start);
    const dayEnd = Date.parse(day.end);
    if (!(dayEnd > dayStart)) return;
    const x = iso => {
      const at = Math.min(Math.max(Date.parse(iso), dayStart), dayEnd);
      return (width * (at - dayStart)) / (dayEnd - dayStart);
    };
    const group = svg('g', { class: 'bands' }, chart);
    for (const band of day.dispatches || []) {
      const kind = bandKind(band);
      const left = x(band.start);
      const rect = svg('rect', {
        class: `band ${kind}`,
        x: left,
        y: CHART.top,
        width: Math.max(x(band.end) - left, 1),
        height: CHART.height,
        'data-start': band.start,
        'data-end': band.end,
        'data-type': band.type,
        'data-counted': band.counted ? 'true' : 'false',
        'data-device': band.device_id,
      }, group);
      const what = t(`price_chart.bands.${kind}`, {
        start: LONDON.format(new Date(band.start)),
        end: LONDON.format(new Date(band.end)),
        device: band.device_name,
        reason: band.reason || '',
      });
      svg('title', {}, rect).textContent = what;
    }
  }

  function drawDay(parent, day, title, scale, width) {
    const section = document.createElement('section');
    section.className = 'kb-day';
    section.dataset.date = day.date;
    const heading = document.createElement('div');
    heading.className = 'kb-day-title';
    heading.textContent = title;
    section.appendChild(heading);
    parent.appendChild(section);

    const height = CHART.top + CHART.height + CHART.axis;
    const chart = svg('svg', { width, height, 'data-date': day.date, role: 'img', 'aria-label': title }, section);
    const { slots } = day;
    const slotW = width / Math.max(slots.length, 1);
    const gap = slotW > 6 ? 1 : 0.5;
    const y = value => CHART.top + (CHART.height * (scale.hi - value)) / (scale.hi - scale.lo || 1);
    const current = slots.findIndex(slot => slot.start === day.current_slot);

    drawBands(chart, day, width);
    const bars = svg('g', { class: 'bars' }, chart);
    slots.forEach((slot, i) => {
      if (typeof slot.unit_rate !== 'number') return;
      const top = y(Math.max(slot.unit_rate, 0));
      const bottom = y(Math.min(slot.unit_rate, 0));
      const past = current >= 0 && i < current;
      const bar = svg('rect', {
        class: `bar q${slot.price_quadrant}${past ? ' past' : ''}`,
        x: i * slotW + gap,
        y: top,
        width: Math.max(slotW - 2 * gap, 0.5),
        height: Math.max(bottom - top, 1),
        rx: slotW > 6 ? 1.5 : 0,
        'data-start': slot.start,
        'data-label': slot.label,
        'data-rate': slot.unit_rate,
        'data-quadrant': slot.price_quadrant,
        'data-source': slot.rate_source,
      }, bars);
      svg('title', {}, bar).textContent = t('price_chart.slot', { time: slot.label, price: pence(slot.unit_rate) });
    });

    const base = y(0);
    svg('line', { class: scale.lo < 0 ? 'zero' : 'baseline', x1: 0, x2: width, y1: base, y2: base }, chart);

    if (current >= 0) {
      const x = current * slotW;
      svg('rect', {
        class: 'now-slot',
        x: x - 0.75,
        y: CHART.top - 2,
        width: slotW + 1.5,
        height: CHART.height + 4,
        rx: 2,
        'data-slot': slots[current].start,
      }, chart);
      const mid = x + slotW / 2;
      svg('path', { class: 'now-mark', d: `M${mid - 4},${CHART.top - 8}h8l-4,5z` }, chart);
    }

    const every = width / Math.max(slots.length, 1) * 2 >= 14 ? 3 : 6; // hours between labels
    slots.forEach((slot, i) => {
      const [hour, minute] = String(slot.label).split(':').map(Number);
      if (minute !== 0 || hour % every !== 0) return;
      const x = i * slotW;
      svg('line', { class: 'tick', x1: x, x2: x, y1: CHART.top + CHART.height, y2: CHART.top + CHART.height + 3 }, chart);
      const anchor = i === 0 ? 'start' : 'middle';
      svg('text', { x, y: CHART.top + CHART.height + CHART.axis - 2, 'text-anchor': anchor }, chart).textContent = slot.label;
    });

    // A tap (or a pointer moving over the bars) shows that half-hour's price.
    const pickAt = event => {
      const box = chart.getBoundingClientRect();
      const index = Math.floor((event.clientX - box.left) / slotW);
      const slot = slots[index];
      if (slot && typeof slot.unit_rate === 'number') pick(day, slot);
    };
    chart.addEventListener('pointerdown', pickAt);
    chart.addEventListener('pointermove', pickAt);
  }

  function draw() {
    const root = $('root');
    const days = $('days');
    const width = Math.max(Math.floor(days.getBoundingClientRect().width), 120);
    lastWidth = width;
    days.textContent = '';
    drawHeader();
    const shown = [today, tomorrow].filter(Boolean);
    const rates = shown.flatMap(priced).map(slot => slot.unit_rate);
    const scale = { lo: Math.min(0, ...rates), hi: Math.max(0, ...rates) };
    if (priced(today).length) drawDay(days, today, t('price_chart.today'), scale, width);
    if (tomorrow) drawDay(days, tomorrow, t('price_chart.tomorrow'), scale, width);
    let note = '';
    if (!priced(today).length) note = t('price_chart.no_prices');
    else if (settings.show_tomorrow !== false && tomorrowAsked && !tomorrow) note = t('price_chart.not_published');
    showMessage(note, false);
    root.dataset.ready = '1';
    root.dataset.date = today.date;
    fitHeight();
  }

  function showMessage(text, isError) {
    const message = $('message');
    message.textContent = text;
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

  // ------------------------------------------------------------------ data

  async function load() {
    clearTimeout(refreshTimer);
    const mine = ++loads;
    let delay = REFRESH_MS;
    try {
      const day = await Homey.api('GET', '/timeline');
      let next = null;
      let asked = false;
      if (settings.show_tomorrow !== false) {
        asked = true;
        next = await Homey.api('GET', `/timeline?date=${nextDate(day.date)}`).catch(() => null);
      }
      if (mine !== loads) return; // a newer read (a push) is under way
      today = day;
      tomorrowAsked = asked;
      tomorrow = next && next.prices_published && priced(next).length ? next : null;
      draw();
    } catch (err) {
      if (mine !== loads) return;
      showMessage(err && err.message ? err.message : String(err), true);
      $('root').dataset.ready = today ? '1' : 'error';
      fitHeight();
      delay = 60 * 1000;
    }
    refreshTimer = setTimeout(load, delay);
  }

  /** A push from the app: read again soon if it is about something drawn here. */
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
    settings = (typeof Homey.getSettings === 'function' && Homey.getSettings()) || {};
    $('now-label').textContent = t('price_chart.now');
    $('next-label').textContent = t('price_chart.next');
    $('range-label').textContent = t('price_chart.today');
    showMessage(t('loading'), false);
    if (typeof Homey.on === 'function') {
      Homey.on('settings', next => {
        settings = next || {};
        load();
      });
      Homey.on(WIDGET_EVENT, onPush);
    }
    window.addEventListener('resize', () => {
      const width = Math.floor($('days').getBoundingClientRect().width);
      if (today && width !== lastWidth) draw();
    });
    load();
  };
}());
