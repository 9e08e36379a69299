// Stock's link-follow flow in Debian's chromium: open /balancer-manager, click a
// member's link in the table (?b=...&w=...&nonce=...), and submit the first
// edit form of the page that link opens, setting Drain on. Prints one JSON
// object with the selected page's heading, how many edit forms it had, and the
// members' drain/disabled flags from ?format=json afterwards.
//
//   node member_link.mjs --front URL --member URL
import { args, consoleErrorsOf, launch } from './launch.mjs';


const browser = await launch();
const result = {};
try {
  const page = await browser.newPage();
  const consoleErrors = consoleErrorsOf(page);
  await page.goto(args.front + '/balancer-manager');
  await Promise.all([page.waitForNavigation(),
                     page.locator(`tr[data-m="${args.member}"] a`).click()]);
  result.url = page.url();
  result.heading = (await page.locator('section.selected h2').textContent()).trim();
  result.edit_forms = await page.locator('form:has(select[name="w_status_N"])').count();
  const form = page.locator('form:has(select[name="w_status_N"])').first();
  await form.locator('select[name="w_status_N"]').selectOption('1');
  await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  result.notice = await page.locator('.notice').textContent();
  const doc = await (await fetch(args.front + '/balancer-manager?format=json')).json();
  result.members = Object.fromEntries(doc.balancers[0].members.map(
    (m) => [m.name, { drain: m.status.drain, disabled: m.status.disabled }]));
  result.console_errors = consoleErrors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
