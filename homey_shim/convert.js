'use strict';

/*
 * Conversions from bridge state values to capability values. Pure, no tariff logic:
 * units and presentation only. Every converter maps null/undefined (unknown on the
 * bridge) to null (unknown in Homey). `ctx` carries {timezone, language}.
 */

const isNumber = value => typeof value === 'number' && Number.isFinite(value);

/** Pence (the bridge's unit) → pounds (what Homey shows), kept to 1/10000 of a penny. */
function penceToPounds(pence) {
  return isNumber(pence) ? Math.round(pence * 10000) / 1000000 : null;
}

function number(value) {
  return isNumber(value) ? value : null;
}

function integer(value) {
  return isNumber(value) ? Math.round(value) : null;
}

function boolean(value) {
  return typeof value === 'boolean' ? value : null;
}

function text(value) {
  return value == null ? null : String(value);
}

/**
 * A converter that shows a code through the locale table `table` (e.g. Kraken's
 * device states under device_states.*); a code the table does not know shows as itself.
 * The converter carries its `table` (read by the contract test).
 */
function titled(table) {
  const show = (code, ctx = {}) => {
    if (code == null) return null;
    const key = `${table}.${code}`;
    const text = typeof ctx.__ === 'function' ? ctx.__(key) : null;
    return typeof text === 'string' && text !== key ? text : String(code);
  };
  show.table = table;
  return show;
}

/**
 * A converter that passes only the listed enum values; it carries them as `values`,
 * so the contract test can hold them against the bridge's enum.
 */
function oneOf(values) {
  const allowed = new Set(values);
  const pass = value => (allowed.has(value) ? value : null);
  pass.values = Object.freeze([...values]);
  return pass;
}

/** ISO 8601 instant → "23:30" in the Homey's time zone. */
function localTime(iso, ctx = {}) {
  return formatInstant(iso, ctx, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** ISO 8601 instant → "Tue 18:00" in the Homey's time zone and language. */
function localDayTime(iso, ctx = {}) {
  return formatInstant(iso, ctx, { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

function formatInstant(iso, { timezone = 'Europe/London', language = 'en' } = {}, options) {
  if (typeof iso !== 'string') return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  const locale = language === 'en' ? 'en-GB' : language;
  try {
    return new Intl.DateTimeFormat(locale, { ...options, timeZone: timezone }).format(date).replace(',', '');
  } catch (err) {
    return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' }).format(date).replace(',', '');
  }
}

module.exports = {
  penceToPounds, number, integer, boolean, text, titled, oneOf, localTime, localDayTime,
};
