// The bridge page: today's and tomorrow's prices, dispatch and efficiency as inline SVG.
// Reads /api/v1/timeline, /api/v1/stats/series and /api/v1/budget with the login cookie,
// and follows /api/v1/events to redraw when prices, slots or dispatches change.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const CLOCK = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", hour: "2-digit", minute: "2-digit",
  });
  const DAY = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", weekday: "short", day: "numeric", month: "short",
  });
  const REDRAW_ON = {
    import_tariff: ["slot_start", "unit_rate", "rate_source", "tomorrow_prices_published"],
    export_tariff: ["slot_start", "unit_rate", "tomorrow_prices_published"],
    smart_energy_device: ["device_state", "planned_dispatches", "dispatching", "boosting"],
  };
  const seen = { today: null, tomorrow: null, budget: null, series: {}, renders: 0 };

  // --- small helpers ---------------------------------------------------------------------

  async function api(path) {
    const answer = await fetch(path, { headers: { Accept: "application/json" } });
    if (answer.status === 401) {
      window.location.replace("/"); // token rotated or logged out: back to the form
      throw new Error("not logged in");
    }
    if (!answer.ok) throw new Error(`${path} answered ${answer.status}`);
    return answer.json();
  }

  function svgNode(name, attrs, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, String(value));
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function svgText(parent, x, y, text, attrs) {
    const node = svgNode("text", { x, y, ...attrs }, parent);
    node.textContent = text;
    return node;
  }

  function tooltip(node, text) {
    svgNode("title", {}, node).textContent = text;
  }

  function htmlNode(tag, className, text, parent) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceStep(span, ticks) {
    const raw = span / ticks;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
    return step || 10 * power;
  }

  const time = (iso) => CLOCK.format(new Date(iso));
  const pence = (value) => `${Number(value).toFixed(value >= 100 ? 0 : 1)}p`;
  const pounds = (p) => `£${(Math.abs(p) / 100).toFixed(2)}`;

  function nextDate(isoDate) {
    const [y, m, d] = isoDate.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  }

  function sizeOf(container) {
    const width = Math.max(280, Math.round(container.clientWidth || 640));
    return { width, narrow: width < 520 };
  }

  function emptyChart(container, message) {
    container.replaceChildren();
    htmlNode("p", "empty", message, container);
  }

  function bandKind(band) {
    if (!band.counted) return "ignored";
    return band.type === "BOOST" ? "boost" : band.type === "SMART" ? "smart" : "test";
  }

  // --- the day chart -----------------------------------------------------------------------

  function drawDay(container, day) {
    const slots = day.slots;
    if (!slots.some((slot) => slot.unit_rate !== null)) {
      emptyChart(container, day === seen.tomorrow
        ? "Tomorrow's prices are not published yet (Octopus publishes them between 16:00 and 20:00)."
        : "No prices known for this day yet.");
      return;
    }
    const { width, narrow } = sizeOf(container);
    const height = narrow ? 210 : 250;
    // Top to bottom: the "now" row, the dispatch lane, the plot, the hour labels.
    const NOW_ROW = 12;
    const LANE = { y: 15, height: 13 };
    const m = { left: 34, right: 6, top: 32, bottom: 20 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const count = slots.length;
    const slotW = plotW / count;
    const values = slots.flatMap((s) => [s.unit_rate, s.tariff_rate, s.export_rate])
      .filter((v) => v !== null);
    const step = niceStep(Math.max(...values, 1) - Math.min(0, ...values), 4);
    const hi = Math.ceil(Math.max(...values, 1) / step) * step;
    const lo = Math.min(0, Math.floor(Math.min(...values) / step) * step);
    const y = (v) => m.top + (plotH * (hi - v)) / (hi - lo);
    const xSlot = (i) => m.left + i * slotW;
    const dayStart = Date.parse(day.start);
    const dayEnd = Date.parse(day.end);
    const xTime = (iso) => {
      const t = Math.min(Math.max(Date.parse(iso), dayStart), dayEnd);
      return m.left + (plotW * (t - dayStart)) / (dayEnd - dayStart);
    };

    const svg = svgNode("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `Import prices on ${day.date}`, "data-date": day.date,
      "data-now": day.now, "data-slots": count,
    });
    for (let v = lo; v <= hi + 1e-9; v += step) {
      svgNode("line", { class: "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, svg);
      svgText(svg, m.left - 4, y(v) + 4, `${Math.round(v * 10) / 10}p`, { "text-anchor": "end" });
    }

    // Dispatch bands behind the bars (uncounted under counted), each with a strip in
    // the lane above the plot that carries its label.
    const bands = svgNode("g", { class: "bands" }, svg);
    for (const band of day.dispatches) {
      const kind = bandKind(band);
      const x0 = xTime(band.start);
      const width = Math.max(1, xTime(band.end) - x0);
      const group = svgNode("g", {
        class: `band-group ${kind}`, "data-start": band.start, "data-end": band.end,
        "data-type": band.type, "data-counted": band.counted,
      }, bands);
      svgNode("rect", {
        class: `band ${kind}${band.counted ? " counted" : ""}`, x: x0, y: m.top, width,
        height: plotH,
      }, group);
      svgNode("rect", { class: `lane ${kind}`, x: x0, y: LANE.y, width, height: LANE.height }, group);
      const long = kind === "ignored" ? "not counted" : kind;
      const label = width >= long.length * 5.6 + 5 ? long : width >= 12 ? long[0] : "";
      if (label) svgText(group, x0 + 3, LANE.y + LANE.height - 3, label, { class: `band-label ${kind}` });
      const what = `${time(band.start)}–${time(band.end)} ${band.type} dispatch, ${band.device_name}`;
      tooltip(group, band.counted ? `${what}: counted` : `${what}: not counted, ${band.reason}`);
    }

    const currentIndex = slots.findIndex((slot) => slot.start === day.current_slot);
    const gap = slotW > 6 ? 1 : 0.5;
    const bars = svgNode("g", { class: "bars" }, svg);
    slots.forEach((slot, i) => {
      if (slot.unit_rate === null) return;
      const top = y(Math.max(slot.unit_rate, 0));
      const bottom = y(Math.min(slot.unit_rate, 0));
      const past = currentIndex >= 0 && i < currentIndex;
      const bar = svgNode("rect", {
        class: `bar q${slot.price_quadrant}${past ? " past" : ""}`,
        x: xSlot(i) + gap, y: top, width: slotW - 2 * gap, height: Math.max(bottom - top, 0.5),
        "data-start": slot.start, "data-quadrant": slot.price_quadrant,
        "data-rate": slot.unit_rate, "data-source": slot.rate_source,
      }, bars);
      const source = { smart_dispatch: ", smart dispatch: off-peak", boost: ", boost" };
      tooltip(bar, `${slot.label} ${pence(slot.unit_rate)} (quarter ${slot.price_quadrant + 1})`
        + `${source[slot.rate_source] || ""}${slot.export_rate !== null
          ? `; export ${pence(slot.export_rate)}` : ""}`);
      if (slot.tariff_rate !== null && slot.tariff_rate !== slot.unit_rate) {
        const ghostTop = y(Math.max(slot.tariff_rate, 0));
        svgNode("rect", {
          class: "bar-scheduled", x: xSlot(i) + gap, y: ghostTop,
          width: slotW - 2 * gap, height: Math.max(y(0) - ghostTop, 0.5),
        }, bars);
      }
    });
    if (lo < 0) svgNode("line", { class: "zero", x1: m.left, x2: width - m.right, y1: y(0), y2: y(0) }, svg);

    // The export price as a step line.
    let path = "";
    slots.forEach((slot, i) => {
      if (slot.export_rate === null) return;
      const previous = i > 0 ? slots[i - 1].export_rate : null;
      path += `${previous === null ? "M" : "L"}${xSlot(i)},${y(slot.export_rate)}H${xSlot(i + 1)}`;
    });
    if (path) tooltip(svgNode("path", { class: "export-line", d: path }, svg), "Export price");

    const everyHours = narrow ? 6 : 3;
    slots.forEach((slot, i) => {
      const [hour, minute] = slot.label.split(":").map(Number);
      if (minute === 0 && hour % everyHours === 0) {
        svgNode("line", { class: "axis", x1: xSlot(i), x2: xSlot(i), y1: m.top + plotH, y2: m.top + plotH + 3 }, svg);
        svgText(svg, xSlot(i), height - 5, slot.label, { "text-anchor": "middle" });
      }
    });

    if (currentIndex >= 0) {
      const x = xSlot(currentIndex);
      const marker = svgNode("g", { class: "now", "data-slot": day.current_slot }, svg);
      svgNode("rect", {
        class: "now-slot", x, y: NOW_ROW, width: slotW, height: m.top + plotH + 1 - NOW_ROW,
        "data-slot": day.current_slot,
      }, marker);
      const mid = x + slotW / 2;
      svgNode("path", { class: "now-marker", d: `M${mid - 5},${NOW_ROW - 9}h10l-5,8z` }, marker);
      const label = `now ${time(day.now)}`;
      const right = mid + 7 + label.length * 6.2 < width;
      svgText(marker, right ? mid + 7 : mid - 7, NOW_ROW - 1, label, {
        class: "now-label", "text-anchor": right ? "start" : "end",
      });
      tooltip(marker, `Now: ${time(day.now)}`);
    }
    container.replaceChildren(svg);
  }

  // --- the efficiency charts ----------------------------------------------------------------

  function drawSeries(container, series) {
    const rows = series.rows;
    const totals = rows.map((row) => row.kwh_by_quadrant.reduce((a, b) => a + b, 0));
    if (!totals.some((kwh) => kwh > 0)) {
      emptyChart(container, "No history yet: the bridge records every half-hour of use from the Home Mini.");
      return;
    }
    const { width, narrow } = sizeOf(container);
    const height = narrow ? 200 : 230;
    const m = { left: 38, right: 30, top: 22, bottom: 22 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const step = niceStep(Math.max(...totals), 4);
    const hi = Math.ceil(Math.max(...totals) / step) * step;
    const y = (kwh) => m.top + plotH * (1 - kwh / hi);
    const yScore = (score) => m.top + (plotH * (3 - score)) / 6;
    const colW = plotW / rows.length;
    const svg = svgNode("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `Tariff efficiency by ${series.by}`, "data-by": series.by,
    });
    for (let v = 0; v <= hi + 1e-9; v += step) {
      svgNode("line", { class: "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, svg);
      svgText(svg, m.left - 4, y(v) + 4, `${Math.round(v * 10) / 10}`, { "text-anchor": "end" });
    }
    svgText(svg, m.left - 4, 10, "kWh", { "text-anchor": "end" });
    svgText(svg, width - 2, 10, "score", { "text-anchor": "end" });
    for (const score of [-3, 0, 3]) {
      svgText(svg, width - m.right + 4, yScore(score) + 4, score > 0 ? `+${score}` : `${score}`, {});
    }
    const gap = colW > 10 ? 2 : 1;
    const points = [];
    rows.forEach((row, i) => {
      const x = m.left + i * colW;
      const column = svgNode("g", { class: "column", "data-from": row.from }, svg);
      let base = 0;
      row.kwh_by_quadrant.forEach((kwh, quadrant) => {
        if (kwh <= 0) return;
        svgNode("rect", {
          class: `stack q${quadrant}`, x: x + gap, width: colW - 2 * gap,
          y: y(base + kwh), height: y(base) - y(base + kwh), "data-kwh": kwh,
        }, column);
        base += kwh;
      });
      const saved = row.saving_p === null ? "" : `, ${row.saving_p >= 0 ? "saved" : "cost"} ${pounds(row.saving_p)}`;
      const score = row.score === null ? "" : `, score ${row.score.toFixed(2)} (${row.score_percent}%)`;
      tooltip(column, `${row.label}: ${totals[i].toFixed(1)} kWh${score}${saved}`);
      points.push(row.score === null ? null : [x + colW / 2, yScore(row.score)]);
      const labelEvery = series.by === "day" ? (narrow ? 10 : 5) : narrow ? 2 : 1;
      if ((rows.length - 1 - i) % labelEvery === 0) {
        const label = series.by === "month" && narrow ? row.label.slice(0, 3) : row.label;
        svgText(svg, x + colW / 2, height - 6, label, { "text-anchor": "middle" });
      }
    });
    svgNode("line", { class: "zero", x1: m.left, x2: width - m.right, y1: yScore(0), y2: yScore(0), "stroke-dasharray": "3 3" }, svg);
    // The score line breaks where a day or month has no use to score.
    const d = points.map((p, i) => (p ? `${points[i - 1] ? "L" : "M"}${p[0]},${p[1]}` : "")).join("");
    if (d) svgNode("path", { class: "score-line", d }, svg);
    for (const p of points.filter(Boolean)) {
      svgNode("circle", { class: "score-dot", cx: p[0], cy: p[1], r: 2.5 }, svg);
    }
    container.replaceChildren(svg);
  }

  // --- lists ------------------------------------------------------------------------------

  function drawDispatches() {
    const list = document.getElementById("dispatch-list");
    const bands = new Map();
    for (const day of [seen.today, seen.tomorrow]) {
      for (const band of day ? day.dispatches : []) {
        bands.set(`${band.device_id}|${band.start}|${band.end}|${band.counted}`, band);
      }
    }
    list.replaceChildren();
    if (!bands.size) {
      htmlNode("li", "none", "No dispatches planned or run today.", list);
      return;
    }
    for (const band of bands.values()) {
      const kind = bandKind(band);
      const item = htmlNode("li", kind, undefined, list);
      item.dataset.start = band.start;
      htmlNode("span", "when", `${DAY.format(new Date(band.start))} ${time(band.start)}–${time(band.end)}`, item);
      htmlNode("span", `kind ${kind}`, band.counted ? band.type : `${band.type}, not counted`, item);
      htmlNode("span", "device", band.device_name, item);
      if (band.reason) htmlNode("span", "reason", band.reason, item);
    }
  }

  function drawBudget(budget) {
    const table = document.getElementById("budget");
    table.replaceChildren();
    const head = htmlNode("tr", "", undefined, table);
    for (const title of ["Operation", "Used", "", "Left"]) htmlNode("th", "", title, head);
    for (const op of budget.operations) {
      const row = htmlNode("tr", "", undefined, table);
      htmlNode("td", "", op.operation, row);
      const window = op.window_s >= 3600 ? `${op.window_s / 3600} h` : `${op.window_s / 60} min`;
      const used = htmlNode("td", "num", `${op.used}/${op.limit} `, row);
      htmlNode("small", "", `per ${window}`, used);
      const meter = htmlNode("div", "meter", undefined, htmlNode("td", "", undefined, row));
      const share = op.limit ? op.used / op.limit : 0;
      const fill = htmlNode("span", share >= 1 ? "full" : share >= 0.75 ? "high" : "", undefined, meter);
      fill.style.width = `${Math.min(100, Math.round(share * 100))}%`;
      htmlNode("td", "num", op.next_free_at && op.remaining === 0
        ? `free at ${time(op.next_free_at)}` : `${op.remaining}`, row);
    }
    const next = Object.entries(budget.next_refresh).filter(([, when]) => when)
      .map(([kind, when]) => `${kind} ${time(when)}`).join(" · ");
    if (next) {
      const row = htmlNode("tr", "", undefined, table);
      const cell = htmlNode("td", "", `Next reads: ${next}`, row);
      cell.colSpan = 4;
    }
  }

  // --- loading ----------------------------------------------------------------------------

  function renderDay() {
    if (!seen.today) return;
    drawDay(document.getElementById("chart-today"), seen.today);
    document.getElementById("today-date").textContent = DAY.format(new Date(seen.today.start));
    document.getElementById("asof").textContent = `as of ${time(seen.today.now)}`;
    if (seen.tomorrow) {
      drawDay(document.getElementById("chart-tomorrow"), seen.tomorrow);
      document.getElementById("tomorrow-date").textContent = DAY.format(new Date(seen.tomorrow.start));
    }
    drawDispatches();
    seen.renders += 1;
    document.body.dataset.renders = String(seen.renders);
  }

  async function loadDay() {
    const today = await api("/api/v1/timeline");
    const tomorrow = await api(`/api/v1/timeline?date=${nextDate(today.date)}`);
    const dayChanged = seen.today && seen.today.date !== today.date;
    Object.assign(seen, { today, tomorrow });
    renderDay();
    if (dayChanged) seen.series = {};
    if (!document.getElementById("view-efficiency").hidden) loadSeries();
  }

  async function loadBudget() {
    seen.budget = await api("/api/v1/budget");
    drawBudget(seen.budget);
  }

  async function loadSeries() {
    for (const by of ["day", "month"]) {
      if (!seen.series[by]) seen.series[by] = await api(`/api/v1/stats/series?by=${by}`);
      drawSeries(document.getElementById(`chart-eff-${by}`), seen.series[by]);
      const saving = seen.series[by].saving_p;
      document.getElementById(`saving-${by}`).textContent = saving === null ? ""
        : saving >= 0 ? `saved ${pounds(saving)} against the average rate`
          : `${pounds(saving)} more than the average rate`;
    }
    document.body.dataset.series = "1";
  }

  let pending = null;
  function reloadSoon() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      Promise.all([loadDay(), loadBudget()]).catch(showError);
    }, 250);
  }

  function showError(error) {
    const dot = document.getElementById("stream");
    dot.className = "dot error";
    dot.title = String(error);
  }

  // --- live updates -------------------------------------------------------------------------

  function showLive(deviceId, state) {
    if (deviceId.startsWith("energy_account.") && "power_w" in state) {
      const watts = state.power_w;
      const text = watts === null ? "– W" : Math.abs(watts) >= 1000
        ? `${(watts / 1000).toFixed(2)} kW` : `${Math.round(watts)} W`;
      document.getElementById("power").textContent = watts !== null && watts < 0
        ? `exporting ${text.replace("-", "")}` : text;
    }
    if (deviceId.startsWith("import_tariff.") && "unit_rate" in state) {
      const pill = document.getElementById("price-now");
      pill.textContent = state.unit_rate === null ? "– p" : `${pence(state.unit_rate)} now`;
      if ("price_quadrant" in state) pill.className = `pill q${state.price_quadrant}`;
    }
  }

  // A (re)connected stream first sends every device's whole state: redraw only for
  // values that differ from what the page has seen.
  const known = new Map();
  function redrawNeeded(deviceId, state) {
    const before = known.get(deviceId);
    known.set(deviceId, { ...before, ...state });
    const fields = REDRAW_ON[deviceId.split(".", 1)[0]] || [];
    return before !== undefined && fields.some(
      (field) => field in state && JSON.stringify(state[field]) !== JSON.stringify(before[field]),
    );
  }

  function follow() {
    const dot = document.getElementById("stream");
    const stream = new EventSource("/api/v1/events");
    stream.onopen = () => { dot.className = "dot open"; dot.title = "Live updates: connected"; };
    stream.onerror = () => {
      dot.className = "dot error";
      dot.title = "Live updates: reconnecting";
      if (stream.readyState === EventSource.CLOSED) api("/api/v1/devices").then(() => setTimeout(follow, 5000));
    };
    stream.addEventListener("state", (event) => {
      const data = JSON.parse(event.data);
      showLive(data.device_id, data.state);
      if (redrawNeeded(data.device_id, data.state)) reloadSoon();
    });
    stream.addEventListener("resync", reloadSoon);
    stream.addEventListener("trigger", (event) => {
      const data = JSON.parse(event.data);
      if (data.card === "tomorrow_prices_published") reloadSoon();
    });
  }

  // --- tabs and start ---------------------------------------------------------------------

  function showView(name) {
    for (const view of ["day", "efficiency"]) {
      document.getElementById(`view-${view}`).hidden = view !== name;
      document.getElementById(`tab-${view}`).setAttribute("aria-selected", String(view === name));
    }
    if (name === "efficiency") loadSeries().catch(showError);
    else renderDay();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("tab-day").addEventListener("click", () => { window.location.hash = ""; showView("day"); });
    document.getElementById("tab-efficiency").addEventListener("click", () => { window.location.hash = "efficiency"; showView("efficiency"); });
    let resized = null;
    window.addEventListener("resize", () => {
      clearTimeout(resized);
      resized = setTimeout(() => showView(document.getElementById("view-day").hidden ? "efficiency" : "day"), 150);
    });
    Promise.all([loadDay(), loadBudget()]).then(() => {
      document.body.dataset.ready = "1";
      if (window.location.hash === "#efficiency") showView("efficiency");
    }).catch(showError);
    follow();
    setInterval(() => loadBudget().catch(showError), 60000);
  });
})();
