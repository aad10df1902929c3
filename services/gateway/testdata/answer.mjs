// The browser half of gateway_browser_integration's answering case: two agents' consoles ring
// for one inbound call; ana answers with her browser's WebRTC answer, bruno's card goes. Then
// the Calls page: filters, search, and an export that matches ListCalls; usage's warning; the
// admin's settings.
//
//   node answer.mjs <gateway url> <.tools dir> <business number id>
//   READY            both signed in and Available
//   RINGING <json>   both pages show the card, with a browser notification and the ringtone
//   ANSWERED <json>  ana answered (On call); bruno's card gone
//   ESC-READY        after ending with Ctrl+E, the Calls page, the CSV and usage: bruno waits
//                    for another call, to reject it with Esc; then settings and the wallboard
//   DONE <json>      what the pages showed
import fs from 'node:fs';
import { open, signIn, snap } from './browser.mjs';

const [gateway, tools, number] = process.argv.slice(2);
const { browser, page: ana, errors, newPage } = await open(tools);
try {
  const bruno = await newPage();
  await ana.goto(`${gateway}/console/calls`);
  await signIn(ana, { tenant: 'acme', subject: 'ana', roles: ['admin', 'supervisor'] });
  // bruno through a ready sign-in link (as make demo prints one).
  await bruno.goto(`${gateway}/console/calls?tenant=acme&agent=bruno&roles=agent`);
  await bruno.waitForSelector('#stream[data-state=live]', { timeout: 20000 });
  if (bruno.url() !== `${gateway}/console/calls`) throw new Error(`link kept in ${bruno.url()}`);
  for (const p of [ana, bruno]) {
    await p.selectOption('#availability', 'AVAILABLE');
    await p.waitForFunction(() => document.getElementById('error').hidden, null, { timeout: 10000 });
  }
  console.log('READY');

  const card = '.call-card';
  const ringing = {};
  for (const [name, p] of [['ana', ana], ['bruno', bruno]]) {
    await p.waitForSelector(card, { timeout: 30000 });
    await p.waitForFunction(() => document.body.dataset.ringtone === 'on', null, { timeout: 5000 });
    ringing[name] = {
      card: await p.textContent(card),
      notifications: await p.evaluate(() => window.__notifications),
      ringtone: await p.evaluate(() => document.body.dataset.ringtone),
    };
  }
  await snap(bruno, 'console-incoming-call');
  console.log(`RINGING ${JSON.stringify(ringing)}`);

  await ana.click(`${card} .answer`);
  await ana.waitForSelector('#calling', { timeout: 20000 });
  await bruno.waitForSelector(card, { state: 'detached', timeout: 20000 });
  const answered = {
    calling: await ana.textContent('#calling'),
    anaCards: await ana.$$eval(card, (c) => c.length),
    ringtone: await ana.evaluate(() => document.body.dataset.ringtone || 'off'),
  };
  await snap(ana, 'console-on-call');
  console.log(`ANSWERED ${JSON.stringify(answered)}`);

  // A talk of a few seconds (the timer shows it), so billing has a minute to count.
  await ana.waitForFunction(() => document.getElementById('timer')?.textContent >= '00:02', null,
                            { timeout: 10000 });
  await ana.keyboard.press('Control+KeyE');
  await ana.waitForSelector('#call-ended', { timeout: 20000 });

  // The Calls page: ↓ In rows, a search that finds João and one that finds nobody.
  await ana.keyboard.press('Control+KeyH');
  await ana.waitForSelector('#calls tr.row', { timeout: 20000 });
  await ana.selectOption('select[name=direction]', 'INBOUND');
  await ana.fill('input[name=q]', 'joão');
  await ana.click('#calls-filter button[type=submit]');
  await ana.waitForSelector('#calls tr.row', { timeout: 10000 });
  const found = await ana.$$eval('#calls tr.row', (r) => r.map((x) => x.textContent));
  await snap(ana, 'console-calls');
  // Export: the CSV the server streams for this filter, against ListCalls with the same one.
  const [download] = await Promise.all([ana.waitForEvent('download'), ana.click('#export')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const listed = await ana.evaluate(async () => {
    const r = await fetch('/switchboard.calls.v1.CallsService/ListCalls', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json',
                 Authorization: `Bearer ${sessionStorage.getItem('sb.token')}` },
      body: JSON.stringify({ filter: 'direction = INBOUND', query: 'joão', pageSize: 500 }),
    });
    return ((await r.json()).calls || []).map((c) => c.callId);
  });
  await ana.fill('input[name=q]', 'nobody-like-this');
  await ana.click('#calls-filter button[type=submit]');
  await ana.waitForSelector('#no-calls', { timeout: 10000 });

  // Usage over the plan's limit once billing has rated the call: the warning.
  const deadline = Date.now() + 30000;
  do {
    await ana.click('a[href="/console/usage"]');
    await ana.waitForSelector('#monthly', { timeout: 10000 });
  } while (!(await ana.$('#usage-warning')) && Date.now() < deadline
           && await ana.waitForTimeout(500) === undefined);
  await ana.waitForSelector('#usage-warning', { timeout: 1000 }).catch(async (e) => {
    throw new Error(`${e.message}; the page said: ${await ana.textContent('#page')}`);
  });
  const warning = await ana.textContent('#usage-warning');
  await snap(ana, 'console-usage');

  // Esc rejects the call ringing on bruno's page (he alone is Available now; the
  // business hours set below would close the number).
  console.log('ESC-READY');
  await bruno.waitForSelector(card, { timeout: 30000 });
  await bruno.keyboard.press('Escape');
  await bruno.waitForSelector(card, { state: 'detached', timeout: 20000 });
  await snap(bruno, 'console-rejected');

  // Settings (admin): business hours on the number and a team, saved through the API.
  await ana.click('a[href="/console/settings"]');
  const hours = `#number-${number}`;
  await ana.waitForSelector(hours, { timeout: 10000 });
  await ana.check(`${hours} input[name=hoursEnabled]`);
  await ana.fill(`${hours} input[name=timezone]`, 'America/Sao_Paulo');
  await ana.fill(`${hours} tr[data-day=MONDAY] input[name=open]`, '09:00');
  await ana.fill(`${hours} tr[data-day=MONDAY] input[name=close]`, '17:30');
  await ana.click(`${hours} button[type=submit]`);
  await ana.waitForFunction((s) => document.querySelector(`${s} button[type=submit]`).textContent === 'Saved',
                            hours, { timeout: 10000 });
  await ana.click('#new-team');
  const team = '#teams form.team[data-team=""]';
  await ana.fill(`${team} input[name=teamId]`, 'support');
  await ana.fill(`${team} input[name=displayName]`, 'Support');
  await ana.selectOption(`${team} select[name=routingMode]`, 'ROUTING_MODE_ROUND_ROBIN');
  await ana.fill(`${team} input[name=members]`, 'ana, bruno');
  await ana.fill(`${team} input[name=numbers]`, number);
  await ana.click(`${team} button[type=submit]`);
  await ana.waitForSelector('#teams form.team[data-team=support]', { timeout: 10000 });
  await snap(ana, 'console-settings');

  // The wallboard (supervisor): agents by availability, missed today.
  await ana.click('a[href="/console/wallboard"]');
  await ana.waitForFunction(() => document.querySelector('#missed-today strong')?.textContent !== '…'
                                  && document.querySelector('#agents [data-availability]'),
                            null, { timeout: 10000 });
  const wallboard = { missed: await ana.textContent('#missed-today strong'),
                      agents: await ana.textContent('#agents') };
  await snap(ana, 'console-wallboard');

  const done = {
    found, csv, listed, warning, wallboard, errors,
    error: await ana.textContent('#error'),
    brunoError: await bruno.textContent('#error'),
  };
  console.log(`DONE ${JSON.stringify(done)}`);
} finally {
  await browser.close();
}
