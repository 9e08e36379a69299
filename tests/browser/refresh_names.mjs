// The page's live refresh with balancer names that are not ASCII: opens the
// manager, sends traffic through each path given, and waits (bounded) until the
// page's own refresh shows new "elected" figures in every member row. Prints one
// JSON object: per row (balancer name as the page shows it), elected before and
// after, and any console error.
//
//   node refresh_names.mjs --front URL --paths /u/,/l/
import { args, consoleErrorsOf, launch } from './launch.mjs';


const browser = await launch();
const result = { rows: {} };
try {
  const page = await browser.newPage();
  const consoleErrors = consoleErrorsOf(page);
  await page.goto(args.front + '/balancer-manager');
  const read = () => page.locator('tr[data-b]').evaluateAll((rows) => rows.map(
    (r) => [r.dataset.b + ' ' + r.dataset.m, Number(r.querySelector('[data-k="elected"]').textContent)]));
  const before = Object.fromEntries(await read());
  for (const path of args.paths.split(',')) {
    for (let i = 0; i < 4; i++) await (await fetch(args.front + path + i)).text();
  }
  const until = Date.now() + 15000;
  let now = before;
  while (Date.now() < until) {
    now = Object.fromEntries(await read());
    if (Object.keys(now).every((k) => now[k] > before[k])) break;
    await page.waitForTimeout(250);
  }
  for (const k of Object.keys(before)) result.rows[k] = { before: before[k], after: now[k] };
  result.console_errors = consoleErrors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
