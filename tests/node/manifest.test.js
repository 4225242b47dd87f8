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

test('the gas meter is Homey\'s gas meter: meter_gas in m³, and no kWh as electricity', () => {
  const { getCapabilities } = require('homey-lib');
  const meterGas = getCapabilities().meter_gas;
  assert.ok(meterGas, 'homey-lib knows meter_gas');
  assert.equal(meterGas.units.en, 'm³');
  const gasMeter = appJson.drivers.find(driver => driver.id === 'gas_meter');
  assert.ok(gasMeter.capabilities.includes('meter_gas'));
  // homey-lib's driver energy schema has no key for gas: Homey reads meter_gas itself.
  assert.equal(gasMeter.energy, undefined);
  assert.deepEqual(gasMeter.capabilities.filter(cap => /^meter_power(\.|$)/.test(cap)), [],
    'a kWh register as meter_power would count the gas as electricity');
});

const CHOOSER = path.join(ROOT, '.homeycompose', 'drivers', 'pair', 'choose_bridge', 'index.html');

test('every driver pairs locally: first the choice of bridge, then the bridge login view', () => {
  const { buildAppJson } = require('../../scripts/build-app-json');
  buildAppJson(ROOT); // writes each driver's copy of the templated views, as the CLI does
  const chooser = fs.readFileSync(CHOOSER, 'utf8');
  for (const driver of appJson.drivers) {
    assert.deepEqual(driver.platforms, ['local']);
    assert.deepEqual(driver.connectivity, ['lan']);
    assert.deepEqual(driver.pair.map(view => view.id), ['choose_bridge', 'login_credentials', 'list_devices', 'add_devices']);
    assert.deepEqual(driver.repair.map(view => view.id), ['choose_bridge', 'login_credentials']);
    assert.equal(driver.pair[0].template, undefined, 'choose_bridge is a custom view');
    assert.deepEqual(driver.pair[1].navigation, { prev: 'choose_bridge', next: 'list_devices' });
    for (const flow of ['pair', 'repair']) {
      const view = fs.readFileSync(path.join(ROOT, 'drivers', driver.id, flow, 'choose_bridge.html'), 'utf8');
      assert.equal(view, chooser, `drivers/${driver.id}/${flow}/choose_bridge.html is the template's copy`);
    }
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'assets', 'icon.svg')));
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'driver.js')));
    assert.ok(fs.existsSync(path.join(ROOT, 'drivers', driver.id, 'device.js')));
  }
});

test('the app may call the Kraken Backend app, and asks no other permission', () => {
  const { BACKEND_APP_ID } = require('../../homey_shim/app_api_client');
  assert.deepEqual(appJson.permissions, [`homey:app:${BACKEND_APP_ID}`]);
});

test('the choice of bridge view says everything in the app\'s words, in English and Dutch', () => {
  const view = fs.readFileSync(CHOOSER, 'utf8');
  const keys = [...view.matchAll(/(?:data-kb-text="|Homey\.__\(')([a-z_.]+)/g)].map(match => match[1]);
  assert.ok(keys.length >= 6, `found ${keys}`);
  const lookup = (strings, key) => key.split('.').reduce((node, part) => node && node[part], strings);
  for (const language of ['en', 'nl']) {
    for (const key of keys) assert.equal(typeof lookup(locale(language), key), 'string', `locales/${language}.json ${key}`);
  }
  assert.match(lookup(locale('en'), 'pair.backend_missing'), /Install the Kraken Backend app from the Homey App Store/);
  for (const event of ['bridge_choices', 'use_backend']) assert.ok(view.includes(`Homey.emit('${event}')`), event);
  assert.ok(view.includes("Homey.showView('login_credentials')") && view.includes("Homey.showView('list_devices')"));
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

test('every flow card in app.json has its row in flow_maps.js, and the rows make exactly the declared tokens', () => {
  const { STATE_TRIGGERS, BRIDGE_TRIGGERS, CONDITIONS, ACTIONS, cheapestWindowTokens } = require('../../homey_shim/flow_maps');
  const { CHEAPEST_WINDOW_CARD } = require('../../homey_shim/flow_cards');
  const ctx = { timezone: 'Europe/London', language: 'en', __: key => key };
  const makers = new Map();
  for (const rows of Object.values(STATE_TRIGGERS)) {
    for (const row of rows) makers.set(row.card, () => row.tokens({}, {}, ctx));
  }
  for (const [card, present] of Object.entries(BRIDGE_TRIGGERS)) makers.set(card, () => present({}, ctx));
  makers.set(CHEAPEST_WINDOW_CARD, () => cheapestWindowTokens({}, ctx));

  const declared = type => appJson.flow[type].map(card => card.id).sort();
  assert.deepEqual([...makers.keys()].sort(), declared('triggers'));
  assert.deepEqual(Object.keys(CONDITIONS).sort(), declared('conditions'));
  assert.deepEqual(Object.keys(ACTIONS).sort(), declared('actions'));

  const cards = [...appJson.flow.triggers, ...appJson.flow.actions.filter(card => card.tokens)];
  for (const card of cards) {
    const make = makers.get(card.id) || (() => ACTIONS[card.id].tokens({}, ctx));
    const tokens = make();
    assert.deepEqual(Object.keys(tokens).sort(), card.tokens.map(token => token.name).sort(), `${card.id} tokens`);
    for (const token of card.tokens) {
      assert.equal(typeof tokens[token.name], token.type, `${card.id}.${token.name} is a ${token.type} even when unknown`);
    }
  }
});

test('flow card ids are unique and every card has a formatted title in English and Dutch', () => {
  const ids = Object.values(appJson.flow).flat().map(card => card.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const card of Object.values(appJson.flow).flat()) {
    assert.ok(card.titleFormatted && card.titleFormatted.en && card.titleFormatted.nl, card.id);
    assert.equal(card.args[0].type, 'device', `${card.id} is a device card`);
  }
});

test('a card the app fires on a device of a kind lists that kind in its device filter', () => {
  const { STATE_TRIGGERS } = require('../../homey_shim/flow_maps');
  const kindsOf = cardId => {
    const card = Object.values(appJson.flow).flat().find(candidate => candidate.id === cardId);
    assert.ok(card, `no card ${cardId}`);
    return card.args[0].filter.replace(/^driver_id=/, '').split('|');
  };
  for (const [kind, rows] of Object.entries(STATE_TRIGGERS)) {
    for (const row of rows) assert.ok(kindsOf(row.card).includes(kind), `${row.card} does not apply to ${kind}`);
  }
  assert.ok(kindsOf('tariff_product_changed').includes('gas_tariff'), 'the bridge fires "tariff changed" on gas tariffs too');
  assert.ok(kindsOf('gas_price_below').includes('gas_tariff'));
});
