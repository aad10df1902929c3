// The browser half of gateway_browser_integration's contact case: an agent at the Call button.
//
//   node contact.mjs <gateway url> <.tools dir> <business number id> <contact wa_id>
//   BLOCKED <json>   the contact opened: the button disabled, every reason listed and in its title
//   ELIGIBLE         after the contact wrote "call me" and granted permission, without a reload
//   CALLING          Ctrl+K placed the call (a real WebRTC offer from this browser)
//   DONE <json>      Ctrl+E ended it; what the page showed
import { createRequire } from 'node:module';

const [gateway, tools, number, contact] = process.argv.slice(2);
const require = createRequire(`${tools}/node_modules/`);
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
  headless: true,
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${gateway}/console/contact`);
  await page.fill('input[name=tenant]', 'acme');
  await page.fill('input[name=subject]', 'ana');
  await page.click('button[type=submit]');
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  await page.selectOption('#availability', 'AVAILABLE');
  await page.fill('input[name=wa]', contact);
  await page.fill('input[name=name]', 'Carla Souza');
  await page.fill('input[name=number]', number);
  await page.selectOption('select[name=kind]', 'CALL_KIND_USER_REQUESTED');
  await page.click('#contact-form button[type=submit]');
  await page.waitForSelector('#reasons li', { timeout: 20000 });
  const blocked = {
    disabled: await page.isDisabled('#call'),
    codes: await page.$$eval('#reasons li', (l) => l.map((x) => x.dataset.code)),
    title: await page.getAttribute('#call', 'title'),
  };
  console.log(`BLOCKED ${JSON.stringify(blocked)}`);

  await page.waitForSelector('#call:not([disabled])', { timeout: 60000 });
  console.log('ELIGIBLE');

  await page.keyboard.press('Control+KeyK');
  await page.waitForSelector('#calling', { timeout: 20000 });
  console.log('CALLING');

  await page.keyboard.press('Control+KeyE');
  await page.waitForSelector('#call-ended', { timeout: 20000 });
  const done = { ended: await page.textContent('#call-ended'), errors,
                 error: await page.textContent('#error') };
  console.log(`DONE ${JSON.stringify(done)}`);
} finally {
  await browser.close();
}
