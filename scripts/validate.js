#!/usr/bin/env node
'use strict';

/*
 * Runs Athom's own app validator (homey-lib) on the committed app.json.
 * Usage: node scripts/validate.js [debug|publish|verified] [app folder]   (defaults: publish, the root app)
 * Exits non-zero, with the validator's message, when the app does not pass.
 */

const path = require('path');
const { App } = require('homey-lib');

async function main() {
  const level = process.argv[2] || 'publish';
  const repo = path.resolve(__dirname, '..');
  const root = path.resolve(repo, process.argv[3] || '.');
  await new App(root).validate({ level });
  const shown = path.relative(repo, root);
  console.log(`✓ ${shown ? `${shown} ` : ''}app validated successfully at level "${level}"`);
}

main().catch(err => {
  console.error(`✖ app did not validate: ${err.message}`);
  if (/Cross-platform venvs/.test(err.message)) {
    console.error('  Build them: make homey-backend (or .venv/bin/python scripts/build_homey_python_packages.py), which needs PyPI');
  }
  process.exit(1);
});
