// What the browser scripts share: Debian's Chromium, headless, driven by playwright-core from
// .tools/ (tools/install-deps.sh; no browser is downloaded), and the console's dev sign-in.
import { createRequire } from 'node:module';

// A fresh page; `errors` collects the page's uncaught errors. Close `browser` when done.
// Notifications are allowed, sound may start without a gesture, and `window.__notifications`
// records each browser notification the page shows (title and body).
export async function open(tools) {
  const require = createRequire(`${tools}/node_modules/`);
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required',
           '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    headless: true,
  });
  const errors = [];
  const newPage = async () => {
    const context = await browser.newContext({ permissions: ['notifications'],
                                               acceptDownloads: true });
    await context.addInitScript(() => {
      window.__notifications = [];
      const Shown = window.Notification;
      if (!Shown) return;
      window.Notification = class extends Shown {
        constructor(title, options = {}) {
          super(title, options);
          window.__notifications.push(`${title}|${options.body || ''}`);
        }
      };
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    return page;
  };
  const page = await newPage();
  return { browser, page, errors, newPage };
}

// Saves a screenshot of `page` as <name>.png in $SB_SCREENSHOTS (the build's screenshots/).
export async function snap(page, name) {
  const dir = process.env.SB_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}

// Signs in on the console's sign-in screen (already shown) and waits for the live stream.
export async function signIn(page, { tenant, subject, roles = [] }) {
  await page.fill('input[name=tenant]', tenant);
  await page.fill('input[name=subject]', subject);
  for (const role of roles) await page.check(`input[name=roles][value=${role}]`);
  await page.click('button[type=submit]');
  await page.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
}
