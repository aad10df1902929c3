// The Switchboard console: sign-in, the shell (navigation, availability, the stream, the call
// bar), the screens' routes and the keyboard shortcuts. Everything goes through the gateway's
// public API (api.ts).
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Api, ApiError, Notification as Note, claimsOf } from './api';
import { analyticsPage } from './analytics';
import { callsPage, prefetchCalls } from './calls';
import { endCall, notify, onCallState, renderCallStatus, renderRinging, stopRingtone } from './calling';
import { contactPage, leaveContact } from './contact';
import { byId, control, h, show } from './dom';
import { availabilitySelect, refreshAvailability, stopPresence } from './presence';
import { settingsPage } from './settings';
import { CALLS, Call, hasRole, state } from './state';
import { usagePage } from './usage';
import { leaveWallboard, wallboardPage } from './wallboard';

performance.mark('app-start');  // the bundle is loaded and runs (tools/bench/console_load.mjs)

// ---- sign-in --------------------------------------------------------------------------------

function signIn(): void {
  const form = h('form', { class: 'card signin', id: 'signin' },
    h('h1', {}, 'Switchboard'),
    h('label', {}, 'Tenant', h('input', { name: 'tenant', value: 'demo', required: true })),
    h('label', {}, 'Agent', h('input', { name: 'subject', value: 'agent-1', required: true })),
    h('fieldset', {}, h('legend', {}, 'Roles'),
      ...['agent', 'supervisor', 'admin'].map((r) => h('label', { class: 'inline' },
        h('input', { type: 'checkbox', name: 'roles', value: r, checked: r === 'agent' }), r))),
    h('button', { type: 'submit' }, 'Sign in'),
    h('details', {}, h('summary', {}, 'Or paste a token'),
      h('textarea', { name: 'token', rows: 3, 'aria-label': 'Token' }),
      h('button', { type: 'button', onclick: () => useToken(
        control(form, 'token').value.trim()) }, 'Use token')),
    h('p', { id: 'error', class: 'error', role: 'alert', hidden: true }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = (name: string) => control(form, name).value;
    const roles = [...form.querySelectorAll<HTMLInputElement>('input[name=roles]:checked')]
      .map((i) => i.value);
    const r = await fetch('/v1/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: value('tenant'), subject: value('subject'), roles }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status === 404) {
      show(new Error('The dev sign-in is off on this gateway (--gateway-dev-sign-in): paste a token.'));
      return;
    }
    if (!r.ok) return show(new ApiError(body, r.status));
    useToken(body.token);
  });
  byId('app')?.replaceChildren(form);
  control(form, 'tenant').focus();
  // A ready sign-in link (make demo prints one): ?tenant=demo&agent=agent-1&roles=agent,admin
  // fills the form and signs in through the dev sign-in; the query leaves the address bar.
  const link = new URLSearchParams(location.search);
  if (link.get('tenant') && link.get('agent')) {
    control(form, 'tenant').value = link.get('tenant')!;
    control(form, 'subject').value = link.get('agent')!;
    const roles = (link.get('roles') || 'agent').split(',');
    for (const box of form.querySelectorAll<HTMLInputElement>('input[name=roles]')) {
      box.checked = roles.includes(box.value);
    }
    history.replaceState({}, '', location.pathname);
    form.requestSubmit();
  }
}

function useToken(token: string): void {
  if (!claimsOf(token)) return show(new Error('That is not a token.'));
  sessionStorage.setItem('sb.token', token);
  start(token);
}

let closeStream: (() => void) | null = null;

function signOut(): void {
  sessionStorage.removeItem('sb.token');
  closeStream?.();
  stopPresence();
  leaveWallboard();
  state.ringing.clear();
  stopRingtone();
  signIn();
}

// ---- the shell ------------------------------------------------------------------------------

const link = (path: string, text: string) =>
  h('a', { href: `/console/${path}`, 'data-link': true }, text);

function start(token: string): void {
  state.api = new Api(token);
  state.claims = claimsOf(token)!;
  // Before anything is drawn: the tenant's zone (every date is shown in it) and, on the Calls
  // page, its rows. The Calls page waits for both; another screen is drawn again with the zone.
  state.ready = state.api.call(CALLS, 'GetCallsSettings', {}).then((r) => {
    const zone = r.settings?.timeZone;
    if (!zone || zone === state.zone) return;
    state.zone = zone;
    if (screenOf() !== 'calls' && screenOf() !== '') void route();
  }).catch(() => {});
  if (screenOf() === 'calls' || screenOf() === '') prefetchCalls();
  const header = h('header', {},
    h('strong', {}, 'Switchboard'),
    h('nav', { 'aria-label': 'Screens' },
      link('contact', 'Contact'), link('calls', 'Calls'), link('analytics', 'Analytics'),
      link('usage', 'Usage'),
      hasRole('supervisor', 'admin') ? link('wallboard', 'Wallboard') : '',
      hasRole('admin') ? link('settings', 'Settings') : ''),
    h('span', { class: 'who' }, `${state.claims.sub} · ${state.claims.tenant}`),
    hasRole('agent') ? availabilitySelect() : '',
    h('label', { class: 'inline' }, h('input', {
      type: 'checkbox', id: 'ringtone', checked: localStorage.getItem('sb.ringtone') !== 'off',
      onchange: (e: Event) => {
        localStorage.setItem('sb.ringtone', (e.target as HTMLInputElement).checked ? 'on' : 'off');
        renderRinging();
      },
    }), 'Ringtone'),
    h('span', { id: 'stream', class: 'pill', role: 'status' }, 'connecting'),
    h('button', { onclick: signOut }, 'Sign out'));
  byId('app')?.replaceChildren(header,
    h('p', { id: 'error', class: 'error', role: 'alert', hidden: true }),
    h('section', { id: 'ringing', 'aria-label': 'Incoming calls' }),
    h('section', { id: 'call-status', 'aria-label': 'Your call' }),
    h('main', { id: 'page' }));
  document.addEventListener('click', (e) => {
    const a = (e.target as Element).closest<HTMLAnchorElement>('a[data-link]');
    if (!a || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    go(a.href);
  });
  window.onpopstate = () => void route();
  document.addEventListener('keydown', shortcuts);
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
  // The screen's own requests go first; the stream, availability and the call bar's after them
  // (a browser opens at most six connections to the gateway at once).
  void route().finally(() => {
    listen();
    refreshAvailability();
    void resumeCall();
  });
}

// After a reload: the call this agent is on, so End Call is still there.
async function resumeCall(): Promise<void> {
  if (!hasRole('agent')) return;
  try {
    const r = await state.api.call<{ calls?: Call[] }>(CALLS, 'ListCalls', {
      filter: `state = ANSWERED AND answered_by_agent_id = "${state.claims.sub}"`, pageSize: 1 });
    if (!state.call && r.calls?.[0]) {
      state.call = r.calls[0];
      renderCallStatus();
    }
  } catch {
    // the call bar stays empty; nothing else depends on it
  }
}

// The screen the address names: "calls", "usage", ... ("" for /console/ itself).
function screenOf(): string {
  const screen = location.pathname.replace(/\/+$/, '').split('/').pop() || '';
  return screen === 'console' ? '' : screen;
}

function route(): Promise<void> {
  const screen = screenOf();
  if (screen !== 'wallboard') leaveWallboard();
  if (screen !== 'contact') leaveContact();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.pathname === `/console/${screen}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  renderCallStatus();
  switch (screen) {
    case 'usage': return usagePage();
    case 'contact': return contactPage();
    case 'wallboard': return Promise.resolve(wallboardPage());
    case 'analytics': return Promise.resolve(analyticsPage());
    case 'settings': return settingsPage();
    default: return callsPage();
  }
}

function go(path: string): void {
  history.pushState({}, '', path);
  void route();
}

// Ctrl+K call (when eligible), Ctrl+E end, Ctrl+H history, Esc reject the first ringing call.
function shortcuts(e: KeyboardEvent): void {
  const key = e.key.toLowerCase();
  if (e.ctrlKey && key === 'k') {
    e.preventDefault();
    const button = byId<HTMLButtonElement>('call');
    if (button && !button.disabled) button.click();
  } else if (e.ctrlKey && key === 'e') {
    e.preventDefault();
    void endCall();
  } else if (e.ctrlKey && key === 'h') {
    e.preventDefault();
    go('/console/calls');
  } else if (e.key === 'Escape') {
    document.querySelector<HTMLButtonElement>('#ringing .reject')?.click();
  }
}

// ---- the agent's stream ---------------------------------------------------------------------

function listen(): void {
  closeStream = state.api.subscribe({}, onNotification, (s, why) => {
    state.streamState = s;
    const pill = byId('stream');
    if (pill) {
      pill.textContent = s;
      pill.dataset.state = s;
    }
    if (s === 'ended' && why) show(why);
  });
}

let refreshCalls = 0;

function onNotification(kind: string, n: Note): void {
  if (kind === 'reset') {
    state.ringing.clear();
    for (const alert of n.reset.ringing || []) state.ringing.set(alert.callId, alert);
  } else if (kind === 'incoming_call') {
    state.ringing.set(n.incomingCall.callId, n.incomingCall);
    notify(n.incomingCall);
  } else if (kind === 'alert_withdrawn') {
    state.ringing.delete(n.alertWithdrawn.callId);
  } else if (kind === 'call_state') {
    const call: Call = n.callState.call;
    const mine = state.call?.callId === call.callId;
    onCallState(call);
    if (mine) refreshAvailability(state.call ? 0 : 5);
  } else if (kind === 'usage_alert' && screenOf() === 'usage') {
    void usagePage();
  }
  // The Calls page's rows update live (a burst of changes is one reload).
  if (kind !== 'started' && (screenOf() === 'calls' || screenOf() === '')) {
    clearTimeout(refreshCalls);
    refreshCalls = window.setTimeout(() => void callsPage(), 250);
  }
  renderRinging();
}

// ---- go -------------------------------------------------------------------------------------

const saved = sessionStorage.getItem('sb.token');
const claims = saved ? claimsOf(saved) : null;
if (saved && claims && claims.exp * 1000 > Date.now()) start(saved);
else signIn();
