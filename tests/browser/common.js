// common.js - what the browser tests share: Debian's chromium, headless,
// launched by playwright-core with the flags that keep it off the
// network (closed here: without them it keeps trying to reach Google's
// hosts) and a fresh profile of its own.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.FNT_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Returns { context, page, close }.  The profile directory is new and
// removed at close, so no state survives from one run to the next.
async function openBrowser(viewport) {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/deps.sh test)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fnt-chromium-'));
  // launchPersistentContext passes --user-data-dir=profile itself (it
  // refuses the flag among args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context, page, errors,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The test's end: a failed check throws, and the message is one line.
function check(ok, what) {
  if (!ok)
    throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

function main(fn) {
  fn().then(() => process.exit(0), (e) => {
    console.error('FAIL: ' + (e && e.message ? e.message : e));
    process.exit(1);
  });
}

module.exports = { openBrowser, check, main };
