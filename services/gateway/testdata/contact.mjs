// The browser half of gateway_browser_integration's contact case: an agent at the Call button.
//
//   node contact.mjs <gateway url> <.tools dir> <business number id> <contact wa_id>
//   BLOCKED <json>   the contact opened: the button disabled, every reason listed and in its title
//   ELIGIBLE         after the contact wrote "call me" and granted permission, without a reload
//   CALLING          Ctrl+K placed the call (a real WebRTC offer from this browser)
//   DONE <json>      Ctrl+E ended it; then the Calls page (the call, a note added to it) and
//                    the usage card before and after buying 250 minutes; the longest call
//                    refused at 25 h, saved at 90 min
import { open, signIn, snap } from './browser.mjs';

const [gateway, tools, number, contact] = process.argv.slice(2);
const { browser, page, errors } = await open(tools);
try {
  await page.goto(`${gateway}/console/contact`);
  await signIn(page, { tenant: 'acme', subject: 'ana', roles: ['admin'] });
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
  await snap(page, 'console-call-blocked');
  console.log(`BLOCKED ${JSON.stringify(blocked)}`);

  await page.waitForSelector('#call:not([disabled])', { timeout: 60000 });
  await snap(page, 'console-call-eligible');
  console.log('ELIGIBLE');

  await page.keyboard.press('Control+KeyK');
  await page.waitForSelector('#calling', { timeout: 20000 });
  await snap(page, 'console-calling');
  console.log('CALLING');

  await page.keyboard.press('Control+KeyE');
  await page.waitForSelector('#call-ended', { timeout: 20000 });
  const ended = await page.textContent('#call-ended');

  // Ctrl+H: the Calls page lists the call; its detail takes a note.
  await page.keyboard.press('Control+KeyH');
  await page.waitForSelector('#calls tr.row', { timeout: 20000 });
  const row = await page.textContent('#calls tr.row');
  const total = await page.textContent('#total-calls strong');
  await page.click('#calls tr.row');
  await page.waitForSelector('#call-detail textarea', { timeout: 10000 });
  await page.fill('#call-detail textarea', 'Asked about her invoice');
  await page.click('#add-note');
  await page.waitForFunction(
    () => document.getElementById('notes')?.textContent.includes('Asked about her invoice'),
    null, { timeout: 10000 });
  const notes = await page.textContent('#notes');

  // Calls → Analytics: the call counted, outbound, and the 30-day cost chart drawn.
  await page.click('a[href="/console/analytics"]');
  await page.waitForSelector('#directions', { timeout: 10000 });
  // The cost chart: uPlot's chunk loaded under the console's CSP and drawn on a canvas.
  await page.waitForSelector('#cost-chart canvas', { timeout: 10000 });
  await snap(page, 'console-analytics');
  const analytics = {
    directions: await page.textContent('#directions'),
    costDays: await page.$$eval('#cost tr', (r) => r.length),
  };

  // Usage, and a top-up as an admin.
  await page.click('a[href="/console/usage"]');
  await page.waitForSelector('#monthly', { timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}; the page said: ${await page.textContent('#error')}`);
  });
  const usage = await page.textContent('#monthly');
  await page.fill('input[name=minutes]', '250');
  await page.click('#purchase');
  await page.waitForFunction(() => document.getElementById('monthly') &&
    document.getElementById('monthly').textContent.includes('/ 1250 min'), null, { timeout: 10000 });
  const after = await page.textContent('#monthly');

  // Settings: the longest a call may last. 25 h is refused with the server's reason; 90 min is
  // saved (the C++ half reads it back through the API), and shown again after a reload.
  await page.click('a[href="/console/settings"]');
  await page.waitForSelector('#tenant input[name=maxCallDuration]', { timeout: 10000 });
  await page.fill('#tenant input[name=maxCallDuration]', '1500');
  await page.click('#tenant button[type=submit]');
  await page.waitForFunction(() => !document.getElementById('error').hidden, null,
                             { timeout: 10000 });
  const tooLong = await page.textContent('#error');
  await page.fill('#tenant input[name=maxCallDuration]', '90');
  await page.click('#tenant button[type=submit]');
  await page.waitForFunction(() => document.getElementById('error').hidden, null,
                             { timeout: 10000 });
  await page.reload();
  await page.waitForSelector('#tenant input[name=maxCallDuration]', { timeout: 10000 });
  const longest = await page.inputValue('#tenant input[name=maxCallDuration]');
  const done = { ended, row, total, notes, analytics, usage, after, tooLong, longest, errors,
                 error: await page.textContent('#error') };
  console.log(`DONE ${JSON.stringify(done)}`);
} finally {
  await browser.close();
}
