// What the browser scripts share: Debian's Chromium, headless, driven by playwright-core from
// .tools/ (tools/install-deps.sh; no browser is downloaded), and the console's dev sign-in.
import { createRequire } from 'node:module';

// A fresh page; `errors` collects the page's uncaught errors. Close `browser` when done.
export async function open(tools) {
  const require = createRequire(`${tools}/node_modules/`);
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { browser, page, errors };
}

// Signs in on the console's sign-in screen (already shown) and waits for the live stream.
export async function signIn(page, { tenant, subject, roles = [] }) {
  await page.fill('input[name=tenant]', tenant);
  await page.fill('input[name=subject]', subject);
  for (const role of roles) await page.check(`input[name=roles][value=${role}]`);
  await page.click('button[type=submit]');
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
}
