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
import { open, signIn, snap } from './browser.mjs';

const [gateway, tools] = process.argv.slice(2);
const { browser, page, errors } = await open(tools);
try {
  await page.goto(`${gateway}/`);  // the root sends the browser to /console/
  await signIn(page, { tenant: 'acme', subject: 'ana' });
  console.log('READY');

  const card = '.call-card[data-call-id="call-c1"]';
  await page.waitForSelector(card, { timeout: 30000 });
  const text = await page.textContent(card);
  if (!text.includes('Carla Souza')) throw new Error(`card says ${text}`);
  await snap(page, 'console-card');
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
                             { timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}; the page said: ${await page.textContent('#error')}`);
  });
  await page.reload();
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  await page.waitForFunction(() => document.getElementById('availability').value === 'DND', null,
                             { timeout: 10000 });
  // The Calls page (the default screen): no calls in this tenant yet.
  await page.waitForSelector('#no-calls', { timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}; the page said: ${await page.textContent('#error')}`);
  });
  await snap(page, 'console-dnd-no-calls');
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
