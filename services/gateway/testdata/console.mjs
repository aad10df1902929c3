// The browser half of gateway_browser_integration's console case: Debian's Chromium, headless,
// driven by playwright-core, uses the console as an agent would. It prints a line at each step
// for the C++ half, which publishes the offers in between:
//
//   node console.mjs <gateway url> <.tools dir>
//   READY      signed in as ana (dev sign-in), the event stream live
//   CARD       Carla's incoming call card shown
//   RELOADED   after a reload, still signed in and the card still there (the stream's reset)
//   GONE       the card gone once the call was answered elsewhere
//   DONE <json> what the page showed afterwards
import { createRequire } from 'node:module';

const [gateway, tools] = process.argv.slice(2);
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
  await page.goto(`${gateway}/`);  // the root sends the browser to /console/
  await page.fill('input[name=tenant]', 'acme');
  await page.fill('input[name=subject]', 'ana');
  await page.click('button[type=submit]');
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  console.log('READY');

  const card = '.call-card[data-call-id="call-c1"]';
  await page.waitForSelector(card, { timeout: 30000 });
  const text = await page.textContent(card);
  if (!text.includes('Carla Souza')) throw new Error(`card says ${text}`);
  console.log('CARD');

  await page.reload();
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  await page.waitForSelector(card, { timeout: 20000 });
  console.log('RELOADED');

  await page.waitForSelector(card, { state: 'detached', timeout: 30000 });
  console.log('GONE');

  // Availability: Do not disturb, kept by routing across a reload.
  await page.selectOption('#availability', 'DND');
  await page.waitForFunction(() => document.getElementById('error').hidden, null,
                             { timeout: 10000 });
  await page.reload();
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  await page.waitForFunction(() => document.getElementById('availability').value === 'DND', null,
                             { timeout: 10000 });
  // The Calls page (the default screen): no calls in this tenant yet.
  await page.waitForSelector('#no-calls', { timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}; the page said: ${await page.textContent('#error')}`);
  });
  const result = {
    url: page.url(),
    availability: await page.inputValue('#availability'),
    calls: await page.textContent('#calls'),
    errors,
  };
  console.log(`DONE ${JSON.stringify(result)}`);
} finally {
  await browser.close();
}
