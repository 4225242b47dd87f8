'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { buildAppJson } = require('../../scripts/build-app-json');
const { App } = require('homey-lib');

const ROOT = path.resolve(__dirname, '..', '..');
const appJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));
const locale = name => JSON.parse(fs.readFileSync(path.join(ROOT, 'locales', `${name}.json`), 'utf8'));

test('the committed app.json is what .homeycompose builds', () => {
  assert.equal(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'), buildAppJson(ROOT),
    'app.json is stale: run npm run build:manifest');
});

test('Athom\'s validator accepts the app at verified level', async () => {
  await new App(ROOT).validate({ level: 'verified' });
});

test('only the energy account counts in Homey Energy', () => {
  for (const driver of appJson.drivers) {
    const energyCaps = driver.capabilities.filter(cap => /^(measure_power|meter_power)(\.|$)/.test(cap));
    if (driver.id === 'energy_account') {
      assert.deepEqual(driver.energy, {
        cumulative: true,
        cumulativeImportedCapability: 'meter_power.imported',
        cumulativeExportedCapability: 'meter_power.exported',
      });
      assert.ok(driver.capabilities.includes('measure_power'));
    } else {
      assert.deepEqual(energyCaps, [], `${driver.id} must not report power or energy`);
      assert.equal(driver.energy, undefined, `${driver.id} must not declare energy (approximation, cumulative)`);
    }
  }
});

test('every driver pairs over the LAN, locally, with the bridge login view', () => {
  for (const driver of appJson.drivers) {
    assert.deepEqual(driver.platforms, ['local']);
    assert.deepEqual(driver.connectivity, ['lan']);
    assert.deepEqual(driver.pair.map(view => view.id), ['login_credentials', 'list_devices', 'add_devices']);
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'assets', 'icon.svg')));
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'driver.js')));
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'device.js')));
  }
});

test('money is shown in pounds', () => {
  for (const driver of appJson.drivers) {
    for (const cap of driver.capabilities.filter(id => id.startsWith('measure_monetary'))) {
      const units = driver.capabilitiesOptions[cap] && driver.capabilitiesOptions[cap].units;
      assert.ok(units && units.en.startsWith('£'), `${driver.id} ${cap} units`);
    }
  }
});

test('locales: the same keys in every language, and a message for every error code', () => {
  const keys = (object, prefix = '') => Object.entries(object).flatMap(([key, value]) => (
    typeof value === 'object' ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`]));
  const en = locale('en');
  assert.deepEqual(keys(locale('nl')).sort(), keys(en).sort());
  const source = fs.readdirSync(path.join(ROOT, 'homey_shim'))
    .map(file => fs.readFileSync(path.join(ROOT, 'homey_shim', file), 'utf8')).join('\n');
  const codes = new Set([...source.matchAll(/Error\('([a-z_]+)'/g)].map(match => match[1]));
  assert.ok(codes.size >= 8, `found error codes: ${[...codes]}`);
  for (const code of codes) assert.equal(typeof en.errors[code], 'string', `locales/en.json errors.${code}`);
});
