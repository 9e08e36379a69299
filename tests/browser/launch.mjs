// What every browser script of the tests shares: its --name value arguments, and
// Debian's chromium launched headless the way this machine needs it (no sandbox
// as root, no GPU, no background connections to a network it does not have).
import { chromium } from 'playwright-core';

export const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (i % 2 ? pairs : [...pairs, [a.replace(/^--/, ''), all[i + 1]]]), []));

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--no-first-run'],
  });
}

// Collects console errors and uncaught exceptions of a page.
export function consoleErrorsOf(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}
