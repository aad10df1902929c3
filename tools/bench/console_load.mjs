// The console's cold page load: the Calls page's first render with 50 rows, in Debian's headless
// Chromium (playwright-core from .tools/), against a running suite (deploy/local/stack.sh up).
// Each run is a fresh browser context (no cache, no storage). Printed beside it, from the same
// run: the baseline, the page's two API calls alone (ListCalls of 50 + GetCallStats, fetched by
// the same browser), and the ratio.
//
//   deploy/local/stack.sh up && . .run/env
//   node tools/bench/console_load.mjs [--runs=20]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tools = path.resolve(here, '../../.tools');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const runs = Number(args.runs || 20);
const gateway = process.env.SWITCHBOARD_GATEWAY;
const sim = process.env.SWITCHBOARD_META_SIM;
const number = process.env.SWITCHBOARD_DEMO_NUMBER;
if (!gateway || !sim || !number) {
  console.error('run deploy/local/stack.sh up and source .run/env first');
  process.exit(2);
}
const tenant = process.env.SWITCHBOARD_TENANT || 'demo';

const post = async (url, body, token) => {
  const r = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: {
    'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
};
const { token } = await post(`${gateway}/v1/dev/token`,
                             { tenant, subject: 'bench', roles: ['agent', 'supervisor'] });
const count = async () => ((await post(`${gateway}/switchboard.calls.v1.CallsService/ListCalls`,
                                       { pageSize: 50 }, token)).calls || []).length;

// At least 50 calls in the tenant: users call the demo number.
for (let i = 0; (await count()) < 50 && i < 200; ++i) {
  if (i % 10 === 0) {
    for (let k = 0; k < 10; ++k) {
      await post(`${sim}/sim/call`, { phone_number_id: number,
                                      from: `55119700${String(i + k).padStart(5, '0')}` });
    }
  }
  await new Promise((r) => setTimeout(r, 100));  // the calls are created asynchronously
}
if ((await count()) < 50) throw new Error('could not seed 50 calls');

const require = createRequire(`${tools}/node_modules/`);
const { chromium } = require('playwright-core');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                        args: ['--no-sandbox'], headless: true });
const page_ms = [];
const api_ms = [];
const script_ms = [];
const floor_ms = [];

// The floor for any client on this machine: a page with one inline script that fetches the same
// two RPCs and writes 50 plain rows, loaded cold the same way (served from memory on the same
// origin, so only Chromium's start, the fetches and the DOM count).
const FLOOR = `<!doctype html><meta charset="utf-8"><table id="t"></table><script>
const t = sessionStorage.getItem('sb.token');
const call = (m, body) => fetch('/switchboard.calls.v1.CallsService/' + m, { method: 'POST',
  body: JSON.stringify(body), headers: { 'Content-Type': 'application/json',
  Authorization: 'Bearer ' + t } }).then((r) => r.json());
Promise.all([call('ListCalls', { pageSize: 50 }), call('GetCallStats', {})]).then(([l]) => {
  const tb = document.getElementById('t');
  for (const c of l.calls) {
    const tr = tb.insertRow();
    for (const v of [c.direction, c.contact?.displayName, c.state, c.duration, c.offeredTime])
      tr.insertCell().textContent = v || '';
  }
  performance.mark('floor-rendered');
});
</script>`;
try {
  for (let i = 0; i < runs; ++i) {
    const context = await browser.newContext();
    await context.addInitScript((t) => sessionStorage.setItem('sb.token', t), token);
    const page = await context.newPage();
    await page.goto(`${gateway}/console/calls`);
    await page.waitForFunction(() => performance.getEntriesByName('calls-rendered').length > 0 &&
                                     document.querySelectorAll('#calls tr.row').length === 50,
                               null, { timeout: 30000 });
    // From the navigation's start to the rows on screen.
    page_ms.push(await page.evaluate(() => performance.getEntriesByName('calls-rendered')[0].startTime));
    script_ms.push(await page.evaluate(() => performance.getEntriesByName('app-start')[0].startTime));
    // The baseline: the same two calls from the same (now warm) page, nothing rendered.
    api_ms.push(await page.evaluate(async (t) => {
      const call = (m, body) => fetch(`/switchboard.calls.v1.CallsService/${m}`, {
        method: 'POST', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` } })
        .then((r) => r.json());
      const start = performance.now();
      await Promise.all([call('ListCalls', { pageSize: 50 }), call('GetCallStats', {})]);
      return performance.now() - start;
    }, token));
    await context.close();

    const cold = await browser.newContext();
    await cold.addInitScript((t) => sessionStorage.setItem('sb.token', t), token);
    await cold.route('**/bench/floor.html', (route) => route.fulfill({
      status: 200, contentType: 'text/html', body: FLOOR }));
    const floor = await cold.newPage();
    await floor.goto(`${gateway}/bench/floor.html`);
    await floor.waitForFunction(() => performance.getEntriesByName('floor-rendered').length > 0,
                                null, { timeout: 30000 });
    floor_ms.push(await floor.evaluate(() => performance.getEntriesByName('floor-rendered')[0].startTime));
    await cold.close();
  }
} finally {
  await browser.close();
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const f = (x) => x.toFixed(1);
console.log(`console_load: ${runs} cold loads of /console/calls with 50 rows`);
console.log(`  first render  p50 ${f(pct(page_ms, 0.5))} ms  p90 ${f(pct(page_ms, 0.9))} ms  max ${f(Math.max(...page_ms))} ms`);
console.log(`  bundle runs   p50 ${f(pct(script_ms, 0.5))} ms  (HTML, CSS and script fetched and parsed)`);
console.log(`  API baseline  p50 ${f(pct(api_ms, 0.5))} ms  p90 ${f(pct(api_ms, 0.9))} ms  (ListCalls 50 + GetCallStats)`);
console.log(`  floor page    p50 ${f(pct(floor_ms, 0.5))} ms  p90 ${f(pct(floor_ms, 0.9))} ms  (inline script, same RPCs, 50 plain rows)`);
console.log(`  ratio to the floor p50 ${(pct(page_ms, 0.5) / pct(floor_ms, 0.5)).toFixed(2)}x; to the API alone ${(pct(page_ms, 0.5) / pct(api_ms, 0.5)).toFixed(1)}x; target: first render <= 300 ms`);
