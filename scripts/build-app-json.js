#!/usr/bin/env node
'use strict';

/*
 * Builds app.json from .homeycompose/ and drivers/*\/driver.compose.json, the way
 * the Athom CLI's compose step does for the parts this app uses (the CLI needs
 * Node >= 22, which Homey's own runtime and our CI do not have).
 *
 * Sources:
 *   .homeycompose/app.json                      the app manifest
 *   .homeycompose/capabilities/<id>.json        custom capabilities
 *   .homeycompose/flow/<type>/<id>.json         app flow cards
 *   .homeycompose/drivers/templates/<id>.json   driver templates ("$extends")
 *   .homeycompose/drivers/settings/<id>.json    setting templates ({"$extends": "<id>"} in a
 *                                               driver's settings, groups' children too)
 *   .homeycompose/discovery/<id>.json           discovery strategies
 *   .homeycompose/drivers/{pair,repair}/<template>/index.html
 *                                               a view a driver names with "$template"
 *   drivers/<id>/driver.compose.json            driver manifest
 *   drivers/<id>/driver.settings.compose.json   driver settings (array)
 *   drivers/<id>/driver.flow.compose.json       device flow cards (device arg added)
 *   widgets/<id>/widget.compose.json            dashboard widgets (id added, settings [] by default)
 * In driver files, {{driverId}}, {{driverPath}} and {{driverAssetsPath}} are replaced.
 *
 * Usage: node scripts/build-app-json.js [--check] [app folder ...]
 *   --check     exit 1 when a committed app.json differs from what would be built (the
 *               templated pair and repair views are written either way: build output)
 *   app folder  relative to the repository; default: every app (APPS)
 */

const fs = require('fs');
const path = require('path');

const FLOW_TYPES = ['triggers', 'conditions', 'actions'];
const COMMENT = 'This file is generated. Edit .homeycompose/ and drivers/*/driver.compose.json, then run npm run build:manifest';
const COMMENT_NO_DRIVERS = 'This file is generated. Edit .homeycompose/, then run npm run build:manifest';
// The Homey apps in this repository: the Node app at the root and the bridge as a Python app.
const APPS = ['.', 'homey_backend'];

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${path.relative(process.cwd(), file)}: ${err.message}`);
  }
}

function readJsonDir(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter(name => name.endsWith('.json'))
    .sort()
    .map(name => [path.basename(name, '.json'), readJson(path.join(dir, name))]);
}

function fillDriverPlaceholders(value, driverId) {
  const text = JSON.stringify(value)
    .replaceAll('{{driverId}}', driverId)
    .replaceAll('{{driverPath}}', `/drivers/${driverId}`)
    .replaceAll('{{driverAssetsPath}}', `/drivers/${driverId}/assets`);
  return JSON.parse(text);
}

/**
 * Writes drivers/<id>/{pair,repair}/<viewId>.html for each view with "$template", from
 * .homeycompose/drivers/{pair,repair}/<template>/index.html, as the CLI's compose does
 * ({{assets}} becomes "<viewId>.assets"). The copies are build output, not committed.
 */
function writeTemplateViews(root, driver) {
  for (const kind of ['pair', 'repair']) {
    for (const view of driver[kind] || []) {
      if (!view.$template) continue;
      const source = path.join(root, '.homeycompose', 'drivers', kind, view.$template, 'index.html');
      if (!fs.existsSync(source)) throw new Error(`drivers/${driver.id}: no ${kind} template "${view.$template}"`);
      const html = fs.readFileSync(source, 'utf8').replace(/{{assets}}/g, `${view.id}.assets`);
      const target = path.join(root, 'drivers', driver.id, kind, `${view.id}.html`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== html) fs.writeFileSync(target, html);
    }
  }
}

/** The manifest without compose's own keys ("$template", …), as the CLI writes it. */
function withoutDollarKeys(value) {
  if (Array.isArray(value)) return value.map(withoutDollarKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value)
    .filter(([key]) => !key.startsWith('$'))
    .map(([key, item]) => [key, withoutDollarKeys(item)]));
}

/**
 * A driver setting with "$extends": the setting templates named, then the setting's own
 * keys, its id the last template's (or "$id"); a group's children each so. As the CLI's
 * HomeyCompose#extendSetting does, on a copy.
 */
function extendSetting(settingTemplates, setting) {
  if (setting.type === 'group') {
    return { ...setting, children: setting.children.map(child => extendSetting(settingTemplates, child)) };
  }
  if (!setting.$extends) return setting;
  const templateIds = [].concat(setting.$extends);
  let template = {};
  for (const templateId of templateIds) {
    if (!settingTemplates[templateId]) throw new Error(`Invalid driver setting template: ${templateId}`);
    template = { ...template, ...structuredClone(settingTemplates[templateId]) };
  }
  return { id: setting.$id || templateIds[templateIds.length - 1], ...template, ...setting };
}

function buildDriver(root, driverId, templates, flow, settingTemplates = {}) {
  const dir = path.join(root, 'drivers', driverId);
  const compose = readJson(path.join(dir, 'driver.compose.json'));
  const extendsIds = [].concat(compose.$extends || []);
  const merged = {};
  for (const templateId of extendsIds) {
    if (!templates[templateId]) throw new Error(`drivers/${driverId}: unknown template "${templateId}"`);
    Object.assign(merged, templates[templateId]);
  }
  Object.assign(merged, compose);
  delete merged.$extends;

  const settingsFile = path.join(dir, 'driver.settings.compose.json');
  if (fs.existsSync(settingsFile)) merged.settings = readJson(settingsFile);
  if (Array.isArray(merged.settings)) merged.settings = merged.settings.map(setting => extendSetting(settingTemplates, setting));

  const driver = fillDriverPlaceholders({ id: driverId, ...merged }, driverId);

  const flowFile = path.join(dir, 'driver.flow.compose.json');
  if (fs.existsSync(flowFile)) {
    const driverFlow = fillDriverPlaceholders(readJson(flowFile), driverId);
    for (const type of FLOW_TYPES) {
      for (const card of driverFlow[type] || []) {
        const deviceArg = { type: 'device', name: 'device', filter: `driver_id=${driverId}` };
        flow[type].push({ ...card, args: [deviceArg, ...(card.args || [])] });
      }
    }
  }
  return driver;
}

/** widgets/<id>/widget.compose.json → {<id>: {...compose, id, settings}}, as the CLI composes them. */
function buildWidgets(root) {
  const dir = path.join(root, 'widgets');
  if (!fs.existsSync(dir)) return {};
  const widgets = {};
  for (const id of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, id, 'widget.compose.json');
    if (id.startsWith('.') || !fs.existsSync(file)) continue;
    const widget = readJson(file);
    widgets[id] = { ...widget, id, settings: widget.settings || [] };
  }
  return widgets;
}

function buildAppJson(root) {
  const composeDir = path.join(root, '.homeycompose');
  const app = readJson(path.join(composeDir, 'app.json'));

  const capabilities = Object.fromEntries(readJsonDir(path.join(composeDir, 'capabilities')));
  const templates = Object.fromEntries(readJsonDir(path.join(composeDir, 'drivers', 'templates')));
  const settingTemplates = Object.fromEntries(readJsonDir(path.join(composeDir, 'drivers', 'settings')));

  const flow = { triggers: [], conditions: [], actions: [] };
  for (const type of FLOW_TYPES) {
    for (const [id, card] of readJsonDir(path.join(composeDir, 'flow', type))) flow[type].push({ id, ...card });
  }

  const driversDir = path.join(root, 'drivers');
  const hasDrivers = fs.existsSync(driversDir);
  const driverIds = (hasDrivers ? fs.readdirSync(driversDir) : [])
    .filter(id => fs.existsSync(path.join(driversDir, id, 'driver.compose.json')))
    .sort();
  const drivers = driverIds.map(id => buildDriver(root, id, templates, flow, settingTemplates));
  for (const driver of drivers) writeTemplateViews(root, driver);

  const discovery = Object.fromEntries(readJsonDir(path.join(composeDir, 'discovery')));
  const widgets = buildWidgets(root);

  const result = { _comment: hasDrivers ? COMMENT : COMMENT_NO_DRIVERS, ...app };
  const usedFlow = Object.fromEntries(FLOW_TYPES.filter(t => flow[t].length).map(t => [t, flow[t]]));
  if (Object.keys(usedFlow).length) result.flow = usedFlow;
  if (hasDrivers) result.drivers = drivers;
  if (Object.keys(capabilities).length) result.capabilities = capabilities;
  if (Object.keys(discovery).length) result.discovery = discovery;
  if (Object.keys(widgets).length) result.widgets = widgets;
  return `${JSON.stringify(withoutDollarKeys(result), null, 2)}\n`;
}

function main() {
  const repo = path.resolve(__dirname, '..');
  const check = process.argv.includes('--check');
  const folders = process.argv.slice(2).filter(arg => !arg.startsWith('--'));
  let stale = 0;
  for (const folder of folders.length ? folders : APPS) {
    const root = path.resolve(repo, folder);
    const target = path.join(root, 'app.json');
    const shown = path.relative(repo, target);
    const built = buildAppJson(root);
    if (check) {
      const committed = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
      if (committed === built) {
        console.log(`${shown} matches its compose sources`);
      } else {
        console.error(`${shown} is out of date with its .homeycompose/ (and drivers/*/driver.compose.json).`);
        stale++;
      }
      continue;
    }
    fs.writeFileSync(target, built);
    console.log(`wrote ${shown}`);
  }
  if (stale) {
    console.error('Run: npm run build:manifest');
    process.exit(1);
  }
}

if (require.main === module) main();

module.exports = { buildAppJson, APPS };
