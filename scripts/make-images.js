#!/usr/bin/env node
'use strict';

/*
 * Draws the app's and drivers' images, SVG icons and the widgets' preview images
 * (transparent, light and dark) from one set of glyphs.
 *
 * A glyph is an ordered list of shapes in a 100×100 box. A shape either adds
 * ink or (with `hole: true`) removes it from the shape just before it. The same
 * list becomes an antialiased PNG (signed-distance coverage, written with zlib)
 * and an SVG icon (a path per shape, holes cut with fill-rule evenodd), so the
 * images and icons never drift apart.
 *
 * Usage: node scripts/make-images.js [--check]
 *   --check  exit 1 if any committed image or icon differs from what this draws
 */

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROOT = path.resolve(__dirname, '..');
const BRAND = [0x2b, 0x3a, 0x67]; // #2b3a67, also app.json brandColor
const ACCENT = [0xe0, 0x6c, 0x9f]; // muted pink for the app image's bolt
const WHITE = [0xff, 0xff, 0xff];

// ---------------------------------------------------------------- glyphs

const bolt = (dx = 0, dy = 0, s = 1) => ({
  type: 'polygon',
  points: [[58, 8], [24, 56], [47, 56], [40, 92], [76, 42], [53, 42], [62, 8]]
    .map(([x, y]) => [50 + (x - 50) * s + dx, 50 + (y - 50) * s + dy]),
});

const bars = [
  { type: 'rect', x: 10, y: 58, w: 14, h: 32, r: 3 },
  { type: 'rect', x: 29, y: 40, w: 14, h: 50, r: 3 },
  { type: 'rect', x: 48, y: 66, w: 14, h: 24, r: 3 },
  { type: 'rect', x: 67, y: 50, w: 14, h: 40, r: 3 },
];

// A gas flame: an outer flame with a side lick, the inner flame cut out of it.
const flame = (dx = 0, dy = 0, s = 1) => {
  const place = points => points.map(([x, y]) => [50 + (x - 50) * s + dx, 50 + (y - 50) * s + dy]);
  return [
    {
      type: 'polygon',
      points: place([[50, 4], [63, 20], [75, 36], [83, 52], [85, 66], [81, 79], [72, 89], [61, 95], [50, 96],
        [39, 95], [28, 89], [19, 79], [15, 66], [17, 52], [25, 39], [33, 50], [37, 37], [44, 22]]),
    },
    {
      type: 'polygon',
      hole: true,
      points: place([[50, 50], [58, 61], [63, 72], [60, 82], [50, 87], [40, 82], [37, 72], [42, 61]]),
    },
  ];
};

function arrow({ cx, tipY, tailY }) {
  const down = tipY > tailY;
  const head = down ? tipY - 14 : tipY + 14;
  return [
    // the shaft runs into the head, so its rounded end is hidden there
    { type: 'rect', x: cx - 4, y: down ? tailY : head - 4, w: 8, h: Math.abs(head - tailY) + 4, r: 2 },
    { type: 'polygon', points: [[cx - 13, head], [cx + 13, head], [cx, tipY]] },
  ];
}

const GLYPHS = {
  app: [
    { type: 'circle', cx: 50, cy: 50, r: 46 },
    { type: 'circle', cx: 50, cy: 50, r: 38, hole: true },
    bolt(0, 0, 0.72),
  ],
  import_tariff: [...bars, ...arrow({ cx: 86, tipY: 36, tailY: 6 })]
    .map(shiftX(-4)),
  export_tariff: [...bars, ...arrow({ cx: 86, tipY: 6, tailY: 36 })].map(shiftX(-4)),
  energy_account: [
    { type: 'polygon', points: [[50, 6], [94, 44], [84, 44], [84, 92], [16, 92], [16, 44], [6, 44]] },
    { ...bolt(0, 10, 0.5), hole: true },
  ],
  // the tariff's price bars with a flame where the electricity tariffs have an arrow
  gas_tariff: [...bars, ...flame(36, -29, 0.4)].map(shiftX(-4)),
  // a meter: its case with the register window cut out, and a flame below the window
  gas_meter: [
    { type: 'rect', x: 10, y: 6, w: 80, h: 88, r: 10 },
    { type: 'rect', x: 20, y: 16, w: 60, h: 22, r: 3, hole: true },
    ...flame(0, 16, 0.5).map(shape => ({ ...shape, hole: !shape.hole })),
  ],
  smart_energy_device: [
    { type: 'rect', x: 32, y: 6, w: 8, h: 22, r: 3 },
    { type: 'rect', x: 60, y: 6, w: 8, h: 22, r: 3 },
    { type: 'rect', x: 20, y: 24, w: 60, h: 46, r: 10 },
    { ...bolt(0, -3, 0.38), hole: true },
    { type: 'rect', x: 45, y: 68, w: 10, h: 26, r: 3 },
  ],
};

// The Python app (homey_backend/): the app's ring and bolt, smaller and up to the left, and
// a chip down to the right, for "the bridge running on the Homey". The chip keeps clear of
// the ring, so no hole has to cut through two shapes (the SVG cuts a hole from one path).
const chip = (x, y, size) => {
  const pin = size * 0.14;
  const reach = size * 0.2;
  const at = [0.3, 0.7].map(t => t * size - pin / 2);
  return [
    { type: 'rect', x, y, w: size, h: size, r: size * 0.14 },
    { type: 'rect', x: x + size * 0.27, y: y + size * 0.27, w: size * 0.46, h: size * 0.46, r: size * 0.06, hole: true },
    ...at.flatMap(d => [
      { type: 'rect', x: x - reach, y: y + d, w: reach + 1, h: pin, r: pin / 3 },
      { type: 'rect', x: x + size - 1, y: y + d, w: reach + 1, h: pin, r: pin / 3 },
      { type: 'rect', x: x + d, y: y - reach, w: pin, h: reach + 1, r: pin / 3 },
      { type: 'rect', x: x + d, y: y + size - 1, w: pin, h: reach + 1, r: pin / 3 },
    ]),
  ];
};

GLYPHS.backend_app = [
  { type: 'circle', cx: 40, cy: 40, r: 37 },
  { type: 'circle', cx: 40, cy: 40, r: 30.5, hole: true },
  bolt(-10, -10, 0.58),
  ...chip(72, 72, 22),
];

// Capability icons (assets/capabilities/<name>.svg): one glyph per idea, reused by
// the custom capabilities that show it.
const ring = (cx, cy, r, w) => [
  { type: 'circle', cx, cy, r },
  { type: 'circle', cx, cy, r: r - w, hole: true },
];

const CAPABILITY_GLYPHS = {
  bolt: [bolt(0, 0, 0.95)],
  flame: flame(),
  boost: [bolt(-17, 0, 0.7), bolt(17, 0, 0.7)],
  check: [
    ...ring(50, 50, 46, 9),
    { type: 'polygon', points: [[26, 50], [33, 43], [45, 55], [68, 32], [75, 39], [45, 69]] },
  ],
  plug: GLYPHS.smart_energy_device,
  clock: [
    ...ring(50, 50, 46, 9),
    { type: 'rect', x: 45, y: 20, w: 10, h: 35, r: 3 },
    { type: 'rect', x: 45, y: 45, w: 27, h: 10, r: 3 },
  ],
  list: [0, 1, 2].flatMap(i => [
    { type: 'circle', cx: 14, cy: 22 + i * 28, r: 7 },
    { type: 'rect', x: 28, y: 16 + i * 28, w: 64, h: 12, r: 4 },
  ]),
  quadrant: [
    { type: 'rect', x: 6, y: 70, w: 18, h: 24, r: 3 },
    { type: 'rect', x: 29, y: 52, w: 18, h: 42, r: 3 },
    { type: 'rect', x: 52, y: 32, w: 18, h: 62, r: 3 },
    { type: 'rect', x: 75, y: 8, w: 18, h: 86, r: 3 },
  ],
  tag: [
    { type: 'polygon', points: [[8, 14], [52, 14], [92, 54], [54, 92], [8, 46]] },
    { type: 'circle', cx: 28, cy: 34, r: 8, hole: true },
  ],
  calendar: [
    { type: 'rect', x: 8, y: 14, w: 84, h: 78, r: 8 },
    { type: 'rect', x: 17, y: 36, w: 66, h: 47, r: 3, hole: true },
    { type: 'rect', x: 24, y: 4, w: 10, h: 20, r: 3 },
    { type: 'rect', x: 66, y: 4, w: 10, h: 20, r: 3 },
    { type: 'rect', x: 56, y: 56, w: 18, h: 18, r: 2 },
  ],
  battery: [
    { type: 'rect', x: 4, y: 24, w: 82, h: 52, r: 8 },
    { type: 'rect', x: 13, y: 33, w: 64, h: 34, r: 3, hole: true },
    { type: 'rect', x: 86, y: 38, w: 10, h: 24, r: 3 },
    { type: 'rect', x: 19, y: 39, w: 34, h: 22, r: 2 },
  ],
  hourglass: [
    { type: 'rect', x: 14, y: 4, w: 72, h: 10, r: 3 },
    { type: 'rect', x: 14, y: 86, w: 72, h: 10, r: 3 },
    { type: 'polygon', points: [[22, 14], [78, 14], [56, 50], [78, 86], [22, 86], [44, 50]] },
    { type: 'polygon', points: [[33, 22], [67, 22], [50, 46]], hole: true },
  ],
  gauge: [
    ...ring(50, 50, 46, 9),
    { type: 'polygon', points: [[45, 54], [55, 54], [72, 22]] },
    { type: 'circle', cx: 50, cy: 56, r: 9 },
  ],
  // OctoPoints
  star: [{ type: 'polygon', points: [[50.0, 7.0], [61.2, 37.6], [93.7, 38.8], [68.1, 58.9], [77.0, 90.2], [50.0, 72.0], [23.0, 90.2], [31.9, 58.9], [6.3, 38.8], [38.8, 37.6]] }],
  // the Octoplus wheel of fortune: rim, spokes, hub and the pointer at the top
  wheel: [
    ...ring(50, 54, 42, 8),
    { type: 'rect', x: 46, y: 16, w: 8, h: 76, r: 3 },
    { type: 'rect', x: 12, y: 50, w: 76, h: 8, r: 3 },
    { type: 'circle', cx: 50, cy: 54, r: 11 },
    { type: 'polygon', points: [[38, 2], [62, 2], [50, 18]] },
  ],
  // a saving session: a leaf with its vein cut out, and its stem
  leaf: [
    { type: 'polygon', points: [[90, 8], [86, 40], [72, 66], [50, 82], [26, 86], [18, 78], [16, 56], [28, 32], [52, 16]] },
    { type: 'polygon', hole: true, points: [[74, 24], [78, 28], [30, 76], [26, 72]] },
    { type: 'polygon', points: [[22, 70], [28, 76], [12, 94], [6, 88]] },
  ],
  import: [...ring(50, 50, 46, 9), ...arrow({ cx: 50, tipY: 76, tailY: 22 })],
  export: [...ring(50, 50, 46, 9), ...arrow({ cx: 50, tipY: 24, tailY: 78 })],
};

function shiftX(dx) {
  return shape => {
    if (shape.type === 'rect') return { ...shape, x: shape.x + dx };
    if (shape.type === 'circle') return { ...shape, cx: shape.cx + dx };
    return { ...shape, points: shape.points.map(([x, y]) => [x + dx, y]) };
  };
}

// ---------------------------------------------------------------- geometry

function sdCircle(s, x, y) {
  return Math.hypot(x - s.cx, y - s.cy) - s.r;
}

function sdRect(s, x, y) {
  const r = s.r || 0;
  const hx = s.w / 2 - r;
  const hy = s.h / 2 - r;
  const qx = Math.abs(x - (s.x + s.w / 2)) - hx;
  const qy = Math.abs(y - (s.y + s.h / 2)) - hy;
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - r;
}

function sdPolygon(s, x, y) {
  const p = s.points;
  let d = Infinity;
  let inside = false;
  for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
    const [ax, ay] = p[j];
    const [bx, by] = p[i];
    const ex = bx - ax;
    const ey = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * ex + (y - ay) * ey) / (ex * ex + ey * ey)));
    d = Math.min(d, Math.hypot(x - ax - ex * t, y - ay - ey * t));
    if ((ay > y) !== (by > y) && x < ax + ((y - ay) * ex) / ey) inside = !inside;
  }
  return inside ? -d : d;
}

const SDF = { circle: sdCircle, rect: sdRect, polygon: sdPolygon };

/** Ink coverage 0..1 of a glyph at glyph coordinates (x, y); px = one pixel in glyph units. */
function coverage(glyph, x, y, px) {
  let c = 0;
  for (const shape of glyph) {
    const d = SDF[shape.type](shape, x, y);
    const a = Math.max(0, Math.min(1, 0.5 - d / px));
    c = shape.hole ? c * (1 - a) : Math.max(c, a);
  }
  return c;
}

// ---------------------------------------------------------------- raster

/**
 * Paint a scene: a background colour, then layers of { glyph, color, box: {x, y, size} }
 * in pixels. Returns RGB rows.
 */
function render(width, height, background, layers) {
  const rgb = Buffer.alloc(width * height * 3);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let color = background;
      for (const layer of layers) {
        const unit = layer.box.size / 100;
        const gx = (px + 0.5 - layer.box.x) / unit;
        const gy = (py + 0.5 - layer.box.y) / unit;
        if (gx < -2 || gy < -2 || gx > 102 || gy > 102) continue;
        const a = coverage(layer.glyph, gx, gy, 1 / unit) * (layer.opacity ?? 1);
        if (a > 0) color = mix(color, layer.color, a);
      }
      rgb.set(color, (py * width + px) * 3);
    }
  }
  return rgb;
}

function mix(a, b, t) {
  return [0, 1, 2].map(i => Math.round(a[i] + (b[i] - a[i]) * t));
}

/**
 * Like render(), on a transparent background: RGBA rows, each layer composited over
 * what is below it ("over", straight alpha). For the widget previews, which Homey
 * shows on its own light or dark picker.
 */
function renderTransparent(width, height, layers) {
  const rgba = Buffer.alloc(width * height * 4);
  const bounds = layers.map(layer => glyphBounds(layer.glyph));
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let color = [0, 0, 0];
      let alpha = 0;
      for (const [index, layer] of layers.entries()) {
        const unit = layer.box.size / 100;
        const gx = (px + 0.5 - layer.box.x) / unit;
        const gy = (py + 0.5 - layer.box.y) / unit;
        const b = bounds[index];
        if (gx < b.x0 || gy < b.y0 || gx > b.x1 || gy > b.y1) continue;
        const a = coverage(layer.glyph, gx, gy, 1 / unit) * (layer.opacity ?? 1);
        if (a <= 0) continue;
        const out = a + alpha * (1 - a);
        color = [0, 1, 2].map(i => (layer.color[i] * a + color[i] * alpha * (1 - a)) / out);
        alpha = out;
      }
      const at = (py * width + px) * 4;
      if (alpha > 0) rgba.set([...color.map(Math.round), Math.round(alpha * 255)], at);
    }
  }
  return rgba;
}

/** A glyph's extent in glyph units, one unit wider on every side (for antialiasing). */
function glyphBounds(glyph) {
  const xs = [];
  const ys = [];
  for (const shape of glyph) {
    if (shape.type === 'rect') xs.push(shape.x, shape.x + shape.w), ys.push(shape.y, shape.y + shape.h);
    else if (shape.type === 'circle') xs.push(shape.cx - shape.r, shape.cx + shape.r), ys.push(shape.cy - shape.r, shape.cy + shape.r);
    else for (const [x, y] of shape.points) xs.push(x), ys.push(y);
  }
  return { x0: Math.min(...xs) - 1, y0: Math.min(...ys) - 1, x1: Math.max(...xs) + 1, y1: Math.max(...ys) + 1 };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGB (or, channels 4, RGBA) PNG, no filter, deflated: deterministic for a given input. */
function encodePng(width, height, rgb, channels = 3) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 4 ? 6 : 2; // colour type RGBA or RGB
  const row = width * channels;
  const raw = Buffer.alloc((row + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (row + 1)] = 0; // filter: none
    rgb.copy(raw, y * (row + 1) + 1, y * row, (y + 1) * row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------- svg

const f = n => Number(n.toFixed(2)).toString();

function svgPath(shape) {
  if (shape.type === 'polygon') {
    return `M${shape.points.map(([x, y]) => `${f(x)} ${f(y)}`).join('L')}Z`;
  }
  if (shape.type === 'circle') {
    const { cx, cy, r } = shape;
    return `M${f(cx - r)} ${f(cy)}a${f(r)} ${f(r)} 0 1 0 ${f(2 * r)} 0a${f(r)} ${f(r)} 0 1 0 ${f(-2 * r)} 0Z`;
  }
  const { x, y, w, h } = shape;
  const r = shape.r || 0;
  return `M${f(x + r)} ${f(y)}H${f(x + w - r)}a${f(r)} ${f(r)} 0 0 1 ${f(r)} ${f(r)}`
    + `V${f(y + h - r)}a${f(r)} ${f(r)} 0 0 1 ${f(-r)} ${f(r)}H${f(x + r)}`
    + `a${f(r)} ${f(r)} 0 0 1 ${f(-r)} ${f(-r)}V${f(y + r)}a${f(r)} ${f(r)} 0 0 1 ${f(r)} ${f(-r)}Z`;
}

/** One path per inked shape, with the holes that follow it cut out (evenodd). */
function svgIcon(glyph) {
  const paths = [];
  for (const shape of glyph) {
    if (shape.hole && paths.length) paths[paths.length - 1] += svgPath(shape);
    else paths.push(svgPath(shape));
  }
  const body = paths.map(d => `  <path fill="#000" fill-rule="evenodd" d="${d}"/>\n`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\n${body}</svg>\n`;
}

// ---------------------------------------------------------------- scenes

// Each app's image: which of its glyph's shapes are drawn in which colour.
const APP_IMAGES = {
  app: { glyph: GLYPHS.app, parts: [[0, 2, WHITE], [2, 3, ACCENT]] },
  backend_app: { glyph: GLYPHS.backend_app, parts: [[0, 2, WHITE], [2, 3, ACCENT], [3, undefined, WHITE]] },
};

function appImage(width, height, id = 'app') {
  const size = height * 0.62;
  const box = { x: (width - size) / 2, y: (height - size) / 2, size };
  const halo = { x: (width - size * 1.5) / 2, y: (height - size * 1.5) / 2, size: size * 1.5 };
  const { glyph, parts } = APP_IMAGES[id];
  return render(width, height, BRAND, [
    { glyph: [{ type: 'circle', cx: 50, cy: 50, r: 50 }], color: WHITE, opacity: 0.06, box: halo },
    ...parts.map(([from, to, color]) => ({ glyph: glyph.slice(from, to), color, box })),
  ]);
}

function driverImage(id, size) {
  const glyphSize = size * 0.64;
  const box = { x: (size - glyphSize) / 2, y: (size - glyphSize) / 2, size: glyphSize };
  return render(size, size, WHITE, [{ glyph: GLYPHS[id], color: BRAND, box }]);
}

// Widget previews (widgets/<id>/preview-{light,dark}.png): what the widget shows, as
// shapes without text on a transparent background, in the price quadrant colours of the
// widget itself (as on the bridge page) and an ink that suits the picker's theme.
const QUADRANT_COLORS = [[0x1a, 0x98, 0x50], [0xa6, 0xd9, 0x6a], [0xfd, 0xae, 0x61], [0xd7, 0x30, 0x27]];
const PREVIEW_INK = { light: [0x3a, 0x3a, 0x3c], dark: [0xe5, 0xe5, 0xea] };
const PREVIEW_SIZE = 1024;

// A day of prices: cheap overnight, a peak in the evening; [height 0..1, quadrant].
const PREVIEW_BARS = [
  [0.22, 0], [0.2, 0], [0.24, 0], [0.46, 1], [0.58, 2], [0.52, 1], [0.62, 2],
  [0.7, 2], [0.94, 3], [1, 3], [0.8, 3], [0.56, 2], [0.36, 1], [0.26, 0],
];

function priceChartPreview(theme) {
  const layers = [];
  const left = 10;
  const step = 80 / PREVIEW_BARS.length;
  const base = 82;
  PREVIEW_BARS.forEach(([h, q], i) => {
    const height = h * 60;
    layers.push({
      glyph: [{ type: 'rect', x: left + i * step + 0.6, y: base - height, w: step - 1.2, h: height, r: 1.2 }],
      color: QUADRANT_COLORS[q],
    });
  });
  const now = 9; // the current slot: outlined, with a marker above it
  const nowX = left + now * step;
  layers.push({
    glyph: [
      { type: 'rect', x: nowX - 0.9, y: base - 62.6, w: step + 1.8, h: 64.2, r: 2 },
      { type: 'rect', x: nowX + 0.3, y: base - 61.4, w: step - 0.6, h: 61.8, r: 1.4, hole: true },
      { type: 'polygon', points: [[nowX + step / 2 - 3.5, 12], [nowX + step / 2 + 3.5, 12], [nowX + step / 2, 17]] },
    ],
    color: PREVIEW_INK[theme],
  });
  layers.push({ glyph: [{ type: 'rect', x: 8, y: base + 3, w: 84, h: 2.4, r: 1.2 }], color: PREVIEW_INK[theme], opacity: 0.5 });
  return layers;
}

function nextDispatchPreview(theme) {
  const ink = PREVIEW_INK[theme];
  return [
    // the car's plug, charging at the cheapest rate...
    { glyph: GLYPHS.smart_energy_device.map(shape => scaleShape(shape, 0.55, 1, 17)), color: QUADRANT_COLORS[0] },
    // ...at the time on the clock
    { glyph: [...ring(71, 43, 21, 5), { type: 'rect', x: 68.5, y: 29, w: 5, h: 16.5, r: 2 }, { type: 'rect', x: 68.5, y: 40.5, w: 14, h: 5, r: 2 }], color: ink },
    // a dispatch window on the day's time line
    { glyph: [{ type: 'rect', x: 8, y: 82, w: 84, h: 3, r: 1.5 }], color: ink, opacity: 0.5 },
    { glyph: [{ type: 'rect', x: 50, y: 78.5, w: 26, h: 10, r: 3 }], color: QUADRANT_COLORS[0] },
  ];
}

function scaleShape(shape, s, dx, dy) {
  if (shape.type === 'rect') return { ...shape, x: shape.x * s + dx, y: shape.y * s + dy, w: shape.w * s, h: shape.h * s, r: (shape.r || 0) * s };
  if (shape.type === 'circle') return { ...shape, cx: shape.cx * s + dx, cy: shape.cy * s + dy, r: shape.r * s };
  return { ...shape, points: shape.points.map(([x, y]) => [x * s + dx, y * s + dy]) };
}

const WIDGET_PREVIEWS = { price_chart: priceChartPreview, next_dispatch: nextDispatchPreview };

function widgetPreview(id, theme) {
  const box = { x: 0, y: 0, size: PREVIEW_SIZE };
  const layers = WIDGET_PREVIEWS[id](theme).map(layer => ({ ...layer, box }));
  return encodePng(PREVIEW_SIZE, PREVIEW_SIZE, renderTransparent(PREVIEW_SIZE, PREVIEW_SIZE, layers), 4);
}

function outputs() {
  const files = [];
  const appSizes = { small: [250, 175], large: [500, 350], xlarge: [1000, 700] };
  // app folder → glyph: the Node app at the root, the bridge as a Python app in homey_backend/
  for (const [folder, id] of [['', 'app'], ['homey_backend/', 'backend_app']]) {
    for (const [name, [w, h]] of Object.entries(appSizes)) {
      files.push([`${folder}assets/images/${name}.png`, () => encodePng(w, h, appImage(w, h, id))]);
    }
    files.push([`${folder}assets/icon.svg`, () => Buffer.from(svgIcon(GLYPHS[id]))]);
  }

  const driverSizes = { small: 75, large: 500, xlarge: 1000 };
  for (const id of ['import_tariff', 'export_tariff', 'energy_account', 'smart_energy_device', 'gas_tariff', 'gas_meter']) {
    for (const [name, s] of Object.entries(driverSizes)) {
      files.push([`drivers/${id}/assets/images/${name}.png`, () => encodePng(s, s, driverImage(id, s))]);
    }
    files.push([`drivers/${id}/assets/icon.svg`, () => Buffer.from(svgIcon(GLYPHS[id]))]);
  }
  for (const [name, glyph] of Object.entries(CAPABILITY_GLYPHS)) {
    files.push([`assets/capabilities/${name}.svg`, () => Buffer.from(svgIcon(glyph))]);
  }
  for (const id of Object.keys(WIDGET_PREVIEWS)) {
    for (const theme of ['light', 'dark']) {
      files.push([`widgets/${id}/preview-${theme}.png`, () => widgetPreview(id, theme)]);
    }
  }
  return files;
}

function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, make] of outputs()) {
    const file = path.join(ROOT, rel);
    const content = make();
    const current = fs.existsSync(file) ? fs.readFileSync(file) : null;
    if (current && current.equals(content)) continue;
    if (check) {
      console.error(`out of date: ${rel}`);
      stale++;
      continue;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    console.log(`wrote ${rel}`);
  }
  if (stale) {
    console.error(`${stale} image(s) differ; run: node scripts/make-images.js`);
    process.exit(1);
  }
  if (check) console.log('images and icons match scripts/make-images.js');
}

if (require.main === module) main();

module.exports = { GLYPHS, CAPABILITY_GLYPHS, encodePng, svgIcon, coverage };
