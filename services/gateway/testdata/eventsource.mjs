// The browser half of gateway_browser_integration: Debian's Chromium, headless, driven by
// playwright-core (installed into .tools/ by tools/install-deps.sh; no browser is downloaded),
// opens the gateway's event stream with a real EventSource and reports what it received.
//
//   node eventsource.mjs <gateway url> <.tools dir> <ticket>
// Prints READY once the stream's reset arrived, then DONE <json> after an incoming call.
import { open } from './browser.mjs';

const [gateway, tools, ticket] = process.argv.slice(2);
const { browser, page } = await open(tools);
try {
  // A page of the gateway's own origin, so the stream needs no CORS.
  await page.goto(`${gateway}/`);
  await page.evaluate((t) => {
    window.received = [];
    const source = new EventSource(`/v1/events?ticket=${encodeURIComponent(t)}`);
    for (const name of ['started', 'reset', 'incoming_call', 'alert_withdrawn', 'end']) {
      source.addEventListener(name, (e) => {
        window.received.push({ type: e.type, id: e.lastEventId, data: JSON.parse(e.data) });
      });
    }
    source.onerror = () => window.received.push({ type: 'error', state: source.readyState });
  }, ticket);
  await page.waitForFunction(() => window.received.some((e) => e.type === 'reset'), null,
                             { timeout: 15000 });
  console.log('READY');
  await page.waitForFunction(() => window.received.some((e) => e.type === 'incoming_call'), null,
                             { timeout: 20000 });
  console.log(`DONE ${JSON.stringify(await page.evaluate(() => window.received))}`);
} finally {
  await browser.close();
}
