// Drives the balancer-manager page of a running httpd in Debian's chromium, the
// way an operator would, and prints one JSON object with what it saw:
//
//   node manager_page.mjs --front URL --member URL --screenshot FILE
//
// 1. opens /balancer-manager and reads the member table;
// 2. sends traffic through the front (not through the page) and waits, bounded,
//    until the page's own refresh shows the new "elected" figures, with no reload;
// 3. opens the member's edit form, sets Disabled to "on" and submits it;
// 4. sends traffic again and counts which backends answered;
// 5. saves a full-page screenshot.
// tests/integration/test_browser.py starts the servers and checks the result.
import { args, consoleErrorsOf, launch } from './launch.mjs';

const front = args.front;
const member = args.member;
const deadline = (ms) => Date.now() + ms;

async function traffic(n) {
  const seen = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(front + '/app/' + i);
    const text = await res.text();
    const name = res.status === 200 ? (/^backend=(.*)$/m.exec(text) || [])[1] : 'status ' + res.status;
    seen[name] = (seen[name] || 0) + 1;
  }
  return seen;
}

const browser = await launch();
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors = consoleErrorsOf(page);
  let loads = 0;
  page.on('load', () => { loads += 1; });

  await page.goto(front + '/balancer-manager');
  result.title = await page.title();
  const row = (name) => page.locator(`tr[data-m="${name}"]`);
  const elected = async (name) => Number(await row(name).locator('[data-k="elected"]').textContent());
  result.members = await page.locator('tr[data-m]').evaluateAll((rows) => rows.map((r) => r.dataset.m));
  result.elected_before = await elected(member);

  // The page refreshes itself from the JSON: traffic shows up without a reload.
  const loadsBefore = loads;
  result.traffic_before = await traffic(20);
  const until = deadline(15000);
  while (Date.now() < until && (await elected(member)) === result.elected_before) {
    await page.waitForTimeout(250);
  }
  result.elected_after_refresh = await elected(member);
  result.reloaded_for_refresh = loads !== loadsBefore;
  result.refresh_stamp = await page.locator('#refreshed').textContent();

  // Disable the member through the page's own form.
  const details = page.locator('details', { has: page.locator(`input[name="w"][value="${member}"]`) }).first();
  await details.locator('summary').click();
  const form = details.locator('form', { has: page.locator('select[name="w_status_D"]') });
  await form.locator('select[name="w_status_D"]').selectOption('1');
  await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  result.notice = await page.locator('.notice').textContent();
  result.status_after_edit = (await row(member).locator('[data-k="status"]').textContent()).trim();
  result.traffic_after = await traffic(20);

  // For the picture: one edit form open, and the figures after one refresh.
  await page.locator('details summary').nth(1).click();
  await page.waitForTimeout(3500);
  await page.screenshot({ path: args.screenshot, fullPage: true });
  result.console_errors = consoleErrors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
