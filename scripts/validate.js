#!/usr/bin/env node
'use strict';

/*
 * Runs Athom's own app validator (homey-lib) on the committed app.json.
 * Usage: node scripts/validate.js [debug|publish|verified]   (default: publish)
 * Exits non-zero, with the validator's message, when the app does not pass.
 */

const path = require('path');
const { App } = require('homey-lib');

async function main() {
  const level = process.argv[2] || 'publish';
  const root = path.resolve(__dirname, '..');
  await new App(root).validate({ level });
  console.log(`✓ app validated successfully at level "${level}"`);
}

main().catch(err => {
  console.error(`✖ app did not validate: ${err.message}`);
  process.exit(1);
});
