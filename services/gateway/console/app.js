// The Switchboard console: sign-in, the agent's availability, incoming calls (card, browser
// notification, ringtone) and the Calls and Usage pages, on the gateway's public API only.
import { Api, ApiError, claimsOf } from '/console/api.js';

const ROUTING = 'switchboard.routing.v1.RoutingService';
const CALLS = 'switchboard.calls.v1.CallsService';
const BILLING = 'switchboard.billing.v1.BillingService';
const ELIGIBILITY = 'switchboard.eligibility.v1.EligibilityService';
const TERMINAL = ['ENDED', 'MISSED', 'REJECTED', 'FAILED', 'CANCELED'];

const state = {
  api: null, claims: null, ringing: new Map(), stream: null, streamState: '',
  call: null,        // the agent's own call in progress (the contact view's)
  peer: null,        // its RTCPeerConnection
  tenantCalls: new Map(),  // the wallboard's calls ringing or in progress
};

// ---- small DOM helpers ---------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(c));
  return el;
}

function show(error) {
  const box = document.getElementById('error');
  if (!box) return;
  box.textContent = error ? `${error.message}${error.reason ? ` (${error.reason})` : ''}` : '';
  box.hidden = !error;
}

const short = (name, prefix) => (name || '').replace(prefix, '');
const mmss = (seconds) => {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const seconds = (duration) => parseFloat((duration || '0s').replace('s', '')) || 0;
const money = (m) => (m && m.amountMicros !== undefined
  ? `${(Number(m.amountMicros) / 1e6).toFixed(3)} ${m.currencyCode || ''}` : '—');

// ---- sign-in -------------------------------------------------------------------------------

function signIn() {
  const form = h('form', { class: 'card signin', id: 'signin' },
    h('h1', {}, 'Switchboard'),
    h('label', {}, 'Tenant', h('input', { name: 'tenant', value: 'demo', required: true })),
    h('label', {}, 'Agent', h('input', { name: 'subject', value: 'agent-1', required: true })),
    h('fieldset', {}, h('legend', {}, 'Roles'),
      ...['agent', 'supervisor', 'admin'].map((r) => h('label', { class: 'inline' },
        h('input', { type: 'checkbox', name: 'roles', value: r, checked: r === 'agent' }), r))),
    h('button', { type: 'submit' }, 'Sign in'),
    h('details', {}, h('summary', {}, 'Or paste a token'),
      h('textarea', { name: 'token', rows: 3 }),
      h('button', { type: 'button', onclick: () => useToken(form.token.value.trim()) }, 'Use token')),
    h('p', { id: 'error', class: 'error', hidden: true }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const roles = [...form.querySelectorAll('input[name=roles]:checked')].map((i) => i.value);
    const r = await fetch('/v1/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: form.tenant.value, subject: form.subject.value, roles }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status === 404) {
      show(new Error('The dev sign-in is off on this gateway (--gateway-dev-sign-in): paste a token.'));
      return;
    }
    if (!r.ok) return show(new ApiError(body, r.status));
    useToken(body.token);
  });
  document.getElementById('app').replaceChildren(form);
}

function useToken(token) {
  const claims = claimsOf(token);
  if (!claims) return show(new Error('That is not a token.'));
  sessionStorage.setItem('sb.token', token);
  start(token);
}

function signOut() {
  sessionStorage.removeItem('sb.token');
  if (state.stream) state.stream();
  state.ringing.clear();
  stopRingtone();
  signIn();
}

// ---- the shell -----------------------------------------------------------------------------

function start(token) {
  state.api = new Api(token);
  state.claims = claimsOf(token);
  const roles = state.claims.roles || [];
  const header = h('header', {},
    h('strong', {}, 'Switchboard'),
    h('nav', {},
      h('a', { href: '/console/contact', 'data-link': true }, 'Contact'),
      h('a', { href: '/console/calls', 'data-link': true }, 'Calls'),
      h('a', { href: '/console/analytics', 'data-link': true }, 'Analytics'),
      h('a', { href: '/console/usage', 'data-link': true }, 'Usage'),
      roles.includes('supervisor') || roles.includes('admin')
        ? h('a', { href: '/console/wallboard', 'data-link': true }, 'Wallboard') : ''),
    h('span', { class: 'who' }, `${state.claims.sub} · ${state.claims.tenant}`),
    roles.includes('agent') ? availabilitySelect() : '',
    h('label', { class: 'inline' }, h('input', {
      type: 'checkbox', id: 'ringtone', checked: localStorage.getItem('sb.ringtone') !== 'off',
      onchange: (e) => localStorage.setItem('sb.ringtone', e.target.checked ? 'on' : 'off'),
    }), 'Ringtone'),
    h('span', { id: 'stream', class: 'pill' }, 'connecting'),
    h('button', { onclick: signOut }, 'Sign out'));
  document.getElementById('app').replaceChildren(header,
    h('p', { id: 'error', class: 'error', hidden: true }),
    h('section', { id: 'ringing' }),
    h('main', { id: 'page' }));
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-link]');
    if (!a) return;
    e.preventDefault();
    history.pushState({}, '', a.href);
    route();
  });
  window.onpopstate = route;
  document.addEventListener('keydown', shortcuts);
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
  listen();
  route();
}

function route() {
  const path = location.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/wallboard') && wallboardStream) {
    wallboardStream();
    wallboardStream = null;
  }
  if (!path.endsWith('/contact')) clearTimeout(recheck);
  if (path.endsWith('/usage')) return usagePage();
  if (path.endsWith('/contact')) return contactPage();
  if (path.endsWith('/wallboard')) return wallboardPage();
  if (path.endsWith('/analytics')) return analyticsPage();
  return callsPage();
}

function go(path) {
  history.pushState({}, '', path);
  route();
}

// Ctrl+K call (when eligible), Ctrl+E end, Ctrl+H history, Esc reject the first ringing call.
function shortcuts(e) {
  if (e.ctrlKey && e.key.toLowerCase() === 'k') {
    e.preventDefault();
    const button = document.getElementById('call');
    if (button && !button.disabled) button.click();
  } else if (e.ctrlKey && e.key.toLowerCase() === 'e') {
    e.preventDefault();
    document.getElementById('end')?.click();
  } else if (e.ctrlKey && e.key.toLowerCase() === 'h') {
    e.preventDefault();
    go('/console/calls');
  } else if (e.key === 'Escape') {
    document.querySelector('#ringing .reject')?.click();
  }
}

// ---- availability --------------------------------------------------------------------------

const AVAILABILITY = ['AVAILABLE', 'BUSY', 'COOLDOWN', 'DND', 'OFFLINE'];
const AVAILABILITY_LABEL = { AVAILABLE: 'Available', BUSY: 'Busy', COOLDOWN: 'Cooldown',
                             DND: 'DND', OFFLINE: 'Offline' };

function availabilitySelect() {
  const select = h('select', { id: 'availability', 'aria-label': 'Availability' },
    ...AVAILABILITY.map((a) => h('option', { value: a }, AVAILABILITY_LABEL[a])));
  const note = h('span', { id: 'availability-note', class: 'muted' });
  const render = (agent) => {
    select.value = short(agent.availability, 'AVAILABILITY_') || 'OFFLINE';
    note.textContent = agent.cooldownEndTime && select.value === 'COOLDOWN'
      ? `${Math.max(0, Math.round((Date.parse(agent.cooldownEndTime) - Date.now()) / 1000))} s left`
      : '';
  };
  state.api.call(ROUTING, 'GetAgentAvailability', {}).then((r) => render(r.agent)).catch(show);
  select.addEventListener('change', async () => {
    try {
      const r = await state.api.call(ROUTING, 'SetAgentAvailability',
        { availability: `AVAILABILITY_${select.value}` });
      render(r.agent);
      show(null);
    } catch (e) {
      show(e);
    }
  });
  return h('span', {}, select, note);
}

// ---- incoming calls ------------------------------------------------------------------------

function listen() {
  const pill = () => document.getElementById('stream');
  state.stream = state.api.subscribe({}, onNotification, (s, why) => {
    state.streamState = s;
    if (pill()) {
      pill().textContent = s;
      pill().dataset.state = s;
    }
    if (s === 'ended' && why) show(why);
  });
}

function onNotification(kind, n) {
  if (kind === 'reset') {
    state.ringing.clear();
    for (const alert of n.reset.ringing || []) state.ringing.set(alert.callId, alert);
  } else if (kind === 'incoming_call') {
    state.ringing.set(n.incomingCall.callId, n.incomingCall);
    notify(n.incomingCall);
  } else if (kind === 'alert_withdrawn') {
    state.ringing.delete(n.alertWithdrawn.callId);
  } else if (kind === 'call_state') {
    const call = n.callState.call;
    if (state.call && call.callId === state.call.callId) {
      state.call = call;
      renderCallStatus();
    }
    if (location.pathname.replace(/\/+$/, '').endsWith('/calls')) callsPage();  // rows update live
  }
  renderRinging();
}

function renderRinging() {
  const box = document.getElementById('ringing');
  if (!box) return;
  const now = Date.now();
  const cards = [...state.ringing.values()]
    .filter((a) => !a.ringDeadlineTime || Date.parse(a.ringDeadlineTime) > now)
    .map((a) => {
      const name = a.contact?.displayName || '';
      const number = a.contact?.phoneE164 || a.contact?.waId || '';
      return h('div', { class: 'call-card', 'data-call-id': a.callId },
        h('span', { class: 'incoming' }, '↓ Incoming call'),
        h('strong', { class: 'contact' }, name || number),
        name ? h('span', { class: 'muted' }, number) : '',
        a.businessDisplayNumber ? h('span', { class: 'muted' }, `to ${a.businessDisplayNumber}`) : '',
        h('button', { class: 'reject', onclick: () => reject(a.callId) }, 'Reject'));
    });
  box.replaceChildren(...cards);
  if (cards.length > 0 && document.getElementById('ringtone')?.checked) startRingtone();
  else stopRingtone();
}

async function reject(callId) {
  try {
    await state.api.call(CALLS, 'RejectCall', { callId, requestId: crypto.randomUUID() });
  } catch (e) {
    show(e);
  }
}

function notify(alert) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const who = alert.contact?.displayName || alert.contact?.phoneE164 || alert.contact?.waId || '';
  new Notification('Incoming call', { body: who, tag: alert.callId });
}

let ring = null;
function startRingtone() {
  if (ring) return;
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0.05;
    gain.connect(ctx.destination);
    const beep = () => {
      const o = ctx.createOscillator();
      o.frequency.value = 440;
      o.connect(gain);
      o.start();
      o.stop(ctx.currentTime + 0.4);
    };
    beep();
    ring = { ctx, timer: setInterval(beep, 1500) };
  } catch {
    ring = null;
  }
}
function stopRingtone() {
  if (!ring) return;
  clearInterval(ring.timer);
  ring.ctx.close();
  ring = null;
}

// ---- the contact view: the Call button -----------------------------------------------------

const KINDS = {
  CALL_KIND_USER_REQUESTED: 'The contact asked to be called',
  CALL_KIND_AGENT_OFFERED: 'I offered a call in the chat and they said yes',
  CALL_KIND_LONG_TERM_CONSENT: 'Standing consent',
};
const PERMISSION_REASONS = ['NO_CALL_PERMISSION', 'CALL_PERMISSION_EXPIRED'];
let recheck = null;

function contactPage() {
  const page = document.getElementById('page');
  const saved = JSON.parse(localStorage.getItem('sb.contact') || '{}');
  const form = h('form', { id: 'contact-form', class: 'filters' },
    h('input', { name: 'wa', placeholder: 'Contact WhatsApp id (5511…)', value: saved.wa || '',
                 required: true }),
    h('input', { name: 'name', placeholder: 'Name (if saved)', value: saved.name || '' }),
    h('input', { name: 'number', placeholder: 'Business number id', value: saved.number || '',
                 required: true }),
    h('select', { name: 'kind' }, ...Object.entries(KINDS).map(([v, t]) =>
      h('option', { value: v, selected: v === saved.kind }, t))),
    h('button', { type: 'submit' }, 'Open'));
  const panel = h('section', { id: 'contact', class: 'card' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const contact = { wa: form.wa.value.trim(), name: form.name.value.trim(),
                      number: form.number.value.trim(), kind: form.kind.value };
    localStorage.setItem('sb.contact', JSON.stringify(contact));
    openContact(contact, panel);
  });
  page.replaceChildren(h('h2', {}, 'Contact'), form, panel);
  if (saved.wa && saved.number) openContact(saved, panel);
}

function contactRef(c) {
  return { waId: c.wa, displayName: c.name || undefined };
}

async function openContact(contact, panel) {
  clearTimeout(recheck);
  const callButton = h('button', { id: 'call', class: 'call', disabled: true }, 'Call');
  const reasons = h('ul', { id: 'reasons', class: 'reasons' });
  const warnings = h('ul', { id: 'warnings', class: 'warnings' });
  const permission = h('button', { id: 'permission', hidden: true }, 'Request call permission');
  const due = h('input', { type: 'datetime-local', name: 'due', 'aria-label': 'Callback time' });
  const callback = h('button', { id: 'callback' }, 'Schedule Callback');
  panel.replaceChildren(
    h('h3', {}, contact.name || contact.wa), contact.name ? h('p', { class: 'muted' }, contact.wa) : '',
    h('div', { class: 'actions' }, callButton, permission),
    reasons, warnings,
    h('div', { id: 'call-status' }),
    h('div', { class: 'actions' }, due, callback));

  const check = async () => {
    try {
      const r = await state.api.call(ELIGIBILITY, 'CheckEligibility', {
        contact: contactRef(contact), businessPhoneNumberId: contact.number, callKind: contact.kind,
        agentId: state.claims.sub,
      });
      const blocking = r.blockingReasons || [];
      callButton.disabled = !r.eligible || !!state.call;
      callButton.classList.toggle('eligible', !!r.eligible);
      // Hover to see the reason: every reason, with when it clears.
      const line = (x) => `${x.message}${x.clearsTime
        ? ` (clears ${new Date(x.clearsTime).toLocaleTimeString()})` : ''}`;
      callButton.title = r.eligible ? 'Call (Ctrl+K)' : blocking.map(line).join('\n');
      reasons.replaceChildren(...blocking.map((x) => h('li', { 'data-code': x.code }, line(x))));
      warnings.replaceChildren(...(r.warnings || []).map((x) =>
        h('li', { 'data-code': x.code }, x.message)));
      permission.hidden = !blocking.some((x) => PERMISSION_REASONS.includes(x.code));
      // Checked again when a reason clears, and every 15 s (a "call me" message may arrive).
      const clears = blocking.map((x) => Date.parse(x.clearsTime || '')).filter((t) => t > Date.now());
      const next = Math.min(15000, ...clears.map((t) => t - Date.now() + 500));
      recheck = setTimeout(check, Math.max(1000, next));
      show(null);
    } catch (e) {
      show(e);
      recheck = setTimeout(check, 15000);
    }
  };
  callButton.addEventListener('click', () => startCall(contact, callButton));
  permission.addEventListener('click', async () => {
    try {
      await state.api.call(CALLS, 'RequestCallPermission', {
        contact: contactRef(contact), businessPhoneNumberId: contact.number,
        requestId: crypto.randomUUID(),
      });
      permission.textContent = 'Permission requested';
      permission.disabled = true;
    } catch (e) {
      show(e);
    }
  });
  callback.addEventListener('click', async () => {
    if (!due.value) return show(new Error('Pick when to call back.'));
    try {
      await state.api.call(CALLS, 'ScheduleCallback', {
        contact: contactRef(contact), businessPhoneNumberId: contact.number,
        assignedAgentId: state.claims.sub, dueTime: new Date(due.value).toISOString(),
        requestId: crypto.randomUUID(),
      });
      callback.textContent = 'Callback scheduled';
    } catch (e) {
      show(e);
    }
  });
  renderCallStatus();
  await check();
}

// A real WebRTC offer from this browser (audio only), as StartCall needs.
async function offer() {
  const peer = new RTCPeerConnection();
  peer.addTransceiver('audio', { direction: 'sendrecv' });
  await peer.setLocalDescription(await peer.createOffer());
  return peer;
}

async function startCall(contact, button) {
  button.disabled = true;
  try {
    const peer = await offer();
    const r = await state.api.call(CALLS, 'StartCall', {
      agentId: state.claims.sub, contact: contactRef(contact), businessPhoneNumberId: contact.number,
      sdpOffer: peer.localDescription.sdp, callKind: contact.kind, requestId: crypto.randomUUID(),
    });
    state.peer = peer;
    state.call = r.call;
    renderCallStatus();
  } catch (e) {
    show(e);
    button.disabled = false;
  }
}

let timer = null;
function renderCallStatus() {
  const box = document.getElementById('call-status');
  clearInterval(timer);
  if (!box) return;
  const call = state.call;
  if (!call) return box.replaceChildren();
  const st = short(call.state, 'CALL_STATE_');
  if (TERMINAL.includes(st)) {
    box.replaceChildren(h('p', { id: 'call-ended' }, `Call ${st.toLowerCase()}`));
    state.call = null;
    if (state.peer) state.peer.close();
    state.peer = null;
    return;
  }
  const clock = h('span', { id: 'timer' }, '00:00');
  const answered = call.answeredTime ? Date.parse(call.answeredTime) : null;
  const tick = () => {
    clock.textContent = answered ? mmss((Date.now() - answered) / 1000) : '';
  };
  tick();
  timer = setInterval(tick, 1000);
  box.replaceChildren(h('p', { id: 'calling' }, answered ? 'On call ' : 'Calling… ', clock),
    h('button', { id: 'end', class: 'reject', onclick: endCall }, 'End Call'));
}

async function endCall() {
  if (!state.call) return;
  try {
    const r = await state.api.call(CALLS, 'EndCall', { callId: state.call.callId,
                                                       requestId: crypto.randomUUID() });
    state.call = r.call;
    renderCallStatus();
  } catch (e) {
    show(e);
  }
}

// ---- the supervisor wallboard --------------------------------------------------------------

let wallboardStream = null;
async function wallboardPage() {
  const page = document.getElementById('page');
  const agents = h('div', { id: 'agents', class: 'columns' });
  const calls = h('div', { id: 'live-calls' });
  const banners = h('div', { id: 'banners' });
  page.replaceChildren(h('h2', {}, 'Wallboard'), banners, agents, h('h3', {}, 'Calls now'), calls);
  const renderCalls = () => {
    const now = Date.now();
    calls.replaceChildren(...[...state.tenantCalls.values()].map((c) => {
      const st = short(c.state, 'CALL_STATE_');
      const since = Date.parse(c.answeredTime || c.createTime || '') || now;
      return h('p', { 'data-call-id': c.callId },
        h('span', { class: `badge ${STATUS_CLASS[st] || ''}` }, st.toLowerCase()), ' ',
        c.contact?.displayName || c.contact?.waId || '', ' ',
        h('span', { class: 'muted' }, `${mmss((now - since) / 1000)}${
          c.answeredByAgentId ? ` · ${c.answeredByAgentId}` : ''}`));
    }));
  };
  try {
    const r = await state.api.call(ROUTING, 'ListAgents', { pageSize: 500 });
    const by = {};
    for (const a of r.agents || []) (by[short(a.availability, 'AVAILABILITY_')] ||= []).push(a.agentId);
    agents.replaceChildren(...AVAILABILITY.map((a) => h('div', { class: 'card', 'data-availability': a },
      h('strong', {}, `${AVAILABILITY_LABEL[a]} (${(by[a] || []).length})`),
      h('p', {}, (by[a] || []).join(', ')))));
  } catch (e) {
    show(e);
  }
  if (wallboardStream) wallboardStream();
  wallboardStream = state.api.subscribe({ tenantWide: true }, (kind, n) => {
    if (kind === 'reset') {
      state.tenantCalls.clear();
      for (const c of n.reset.calls || []) state.tenantCalls.set(c.callId, c);
    } else if (kind === 'call_state') {
      const c = n.callState.call;
      if (TERMINAL.includes(short(c.state, 'CALL_STATE_'))) state.tenantCalls.delete(c.callId);
      else state.tenantCalls.set(c.callId, c);
    } else if (kind === 'suspension_alert' || kind === 'usage_alert') {
      const a = n.suspensionAlert || n.usageAlert;
      banners.append(h('p', { class: 'warning' }, a.message
        || `Usage ${a.percentUsed} % (${a.minutesUsed} / ${a.minutesLimit} min)`));
    }
    if (document.getElementById('live-calls') === calls) renderCalls();
  }, () => {});
}

// ---- the Calls page ------------------------------------------------------------------------

const STATUS_CLASS = { ENDED: 'ok', ANSWERED: 'live', RINGING: 'live', MISSED: 'bad',
                       REJECTED: 'bad', FAILED: 'bad' };

function callsFilter(form) {
  const parts = [];
  if (form.direction.value) parts.push(`direction = ${form.direction.value}`);
  if (form.status.value) parts.push(`state = ${form.status.value}`);
  if (form.from.value) parts.push(`offered_time >= "${new Date(form.from.value).toISOString()}"`);
  if (form.to.value) parts.push(`offered_time < "${new Date(form.to.value).toISOString()}"`);
  return parts.join(' AND ');
}

async function callsPage() {
  const page = document.getElementById('page');
  if (!page) return;
  let form = document.getElementById('calls-filter');
  if (!form) {
    form = h('form', { id: 'calls-filter', class: 'filters' },
      h('select', { name: 'direction' }, h('option', { value: '' }, 'All directions'),
        h('option', { value: 'INBOUND' }, '↓ In'), h('option', { value: 'OUTBOUND' }, '↑ Out')),
      h('select', { name: 'status' }, h('option', { value: '' }, 'All statuses'),
        ...Object.keys(STATUS_CLASS).map((s) => h('option', { value: s }, s.toLowerCase()))),
      h('input', { type: 'date', name: 'from', 'aria-label': 'From' }),
      h('input', { type: 'date', name: 'to', 'aria-label': 'To' }),
      h('input', { type: 'search', name: 'q', placeholder: 'Search contact' }),
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', id: 'export', onclick: () => exportCalls(form) }, 'Export'));
    form.addEventListener('submit', (e) => { e.preventDefault(); callsPage(); });
    page.replaceChildren(h('h2', {}, 'Calls'), h('div', { id: 'summary', class: 'columns' }), form,
      h('div', { id: 'calls' }), h('section', { id: 'call-detail' }));
  }
  try {
    const [list, stats] = await Promise.all([
      state.api.call(CALLS, 'ListCalls', { filter: callsFilter(form), query: form.q.value.trim(),
                                           pageSize: 50 }),
      state.api.call(CALLS, 'GetCallStats', {}),
    ]);
    const card = (label, value, id) => h('div', { class: 'card', id },
      h('span', { class: 'muted' }, label), h('strong', {}, value));
    document.getElementById('summary').replaceChildren(
      card('Total calls this month', String(stats.totalCalls || 0), 'total-calls'),
      card('Success rate', `${((stats.successRateBps || 0) / 100).toFixed(1)} %`, 'success-rate'),
      card('Total minutes', String(stats.billedMinutes || 0), 'total-minutes'),
      card('Total cost', money(stats.totalCost), 'total-cost'));
    const rows = list.calls || [];
    const table = h('table', {},
      h('thead', {}, h('tr', {}, ...['', 'Contact', 'Status', 'Duration', 'Cost', 'When', '']
        .map((t) => h('th', {}, t)))),
      h('tbody', {}, ...rows.map((c) => {
        const st = short(c.state, 'CALL_STATE_');
        const inbound = c.direction === 'CALL_DIRECTION_INBOUND';
        return h('tr', { 'data-call-id': c.callId, class: 'row', onclick: () => callDetail(c.callId) },
          h('td', {}, inbound ? '↓ In' : '↑ Out'),
          h('td', {}, c.contact?.displayName || c.contact?.phoneE164 || c.contact?.waId || ''),
          h('td', {}, h('span', { class: `badge ${STATUS_CLASS[st] || ''}` }, st.toLowerCase())),
          h('td', {}, mmss(seconds(c.duration))),
          h('td', {}, money(c.cost)),
          h('td', {}, c.offeredTime ? new Date(c.offeredTime).toLocaleString() : ''),
          h('td', {}, inbound && st === 'MISSED'
            ? h('button', { class: 'call-back', onclick: (e) => { e.stopPropagation(); callBack(c); } },
              'Call back') : ''));
      })));
    document.getElementById('calls').replaceChildren(
      rows.length ? table : h('p', { class: 'muted', id: 'no-calls' }, 'No calls match.'));
    show(null);
  } catch (e) {
    show(e);
  }
}

// A missed call's contact, opened in the contact view.
function callBack(c) {
  localStorage.setItem('sb.contact', JSON.stringify({
    wa: c.contact?.waId || '', name: c.contact?.displayName || '',
    number: c.businessPhoneNumberId || '', kind: 'CALL_KIND_USER_REQUESTED',
  }));
  go('/console/contact');
}

// The call with its notes and Meta's error, if any.
async function callDetail(callId) {
  const box = document.getElementById('call-detail');
  try {
    const [{ call }, notes] = await Promise.all([
      state.api.call(CALLS, 'GetCall', { callId }),
      state.api.call(CALLS, 'ListCallNotes', { callId }),
    ]);
    const text = h('textarea', { name: 'note', rows: 2, placeholder: 'Add a note' });
    box.replaceChildren(h('div', { class: 'card', 'data-call-id': callId },
      h('h3', {}, call.contact?.displayName || call.contact?.waId || callId),
      h('p', {}, `${short(call.state, 'CALL_STATE_').toLowerCase()}${
        call.endReason ? ` · ${call.endReason}` : ''}${
        call.answeredByAgentId ? ` · answered by ${call.answeredByAgentId}` : ''}`),
      call.metaErrorCode ? h('p', { class: 'error', id: 'meta-error' },
        `Meta error ${call.metaErrorCode}: ${call.metaErrorMessage || ''}`) : '',
      h('ul', { id: 'notes' }, ...(notes.notes || []).map((n) =>
        h('li', {}, h('span', { class: 'muted' }, `${n.authorAgentId}: `), n.text))),
      text,
      h('button', { id: 'add-note', onclick: async () => {
        try {
          await state.api.call(CALLS, 'AddCallNote', { callId, text: text.value,
                                                       requestId: crypto.randomUUID() });
          callDetail(callId);
        } catch (e) {
          show(e);
        }
      } }, 'Add note')));
  } catch (e) {
    show(e);
  }
}

async function exportCalls(form) {
  try {
    await state.api.download(CALLS, 'ExportCalls', { filter: callsFilter(form) });
  } catch (e) {
    show(e);
  }
}

// ---- Calls → Analytics ---------------------------------------------------------------------

const PERIODS = { ANALYTICS_PERIOD_LAST_7_DAYS: 'Last 7 days', ANALYTICS_PERIOD_LAST_30_DAYS:
  'Last 30 days', ANALYTICS_PERIOD_THIS_MONTH: 'This month', ANALYTICS_PERIOD_LAST_24_HOURS:
  'Last 24 hours' };

// Horizontal bars: one row per [label, value, text].
function bars(rows, id) {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h('table', { class: 'bars', id }, h('tbody', {}, ...rows.map(([label, value, text]) =>
    h('tr', {}, h('td', {}, label),
      h('td', { class: 'bar' }, h('span', { style: `width:${(100 * value) / max}%` })),
      h('td', {}, text ?? String(value))))));
}

async function analyticsPage() {
  const page = document.getElementById('page');
  const period = h('select', { id: 'period' }, ...Object.entries(PERIODS).map(([v, t]) =>
    h('option', { value: v }, t)));
  const body = h('div', { id: 'analytics' });
  period.addEventListener('change', () => load());
  page.replaceChildren(h('h2', {}, 'Calls → Analytics'), period, body);
  const roles = state.claims.roles || [];
  async function load() {
    try {
      const r = await state.api.call(CALLS, 'GetCallAnalytics', { period: period.value,
                                                                  topContactsLimit: 5 });
      const t = r.totals || {};
      const answered = Number(t.answeredCalls || 0);
      const failed = Number(t.missedCalls || 0) + Number(t.rejectedCalls || 0)
        + Number(t.failedCalls || 0);
      const average = answered ? seconds(t.totalDuration) / answered : 0;
      const parts = [
        h('h3', {}, 'Calls by period'),
        bars((r.buckets || []).map((b) => [new Date(b.startTime).toLocaleDateString(),
                                          Number(b.totalCalls || 0)]), 'by-period'),
        h('h3', {}, 'Success vs failure'),
        bars([['Answered', answered], ['Missed, rejected or failed', failed]], 'success'),
        h('h3', {}, 'Inbound vs outbound'),
        bars([['↓ In', Number(t.inboundCalls || 0)], ['↑ Out', Number(t.outboundCalls || 0)]],
             'directions'),
        h('p', { id: 'average' }, `Average duration: ${mmss(average)}`),
        h('h3', {}, 'Top contacts'),
        bars((r.topContacts || []).map((c) => [c.contact?.displayName || c.contact?.waId || '',
                                               Number(c.callCount || 0)]), 'top-contacts'),
      ];
      if (roles.includes('supervisor') || roles.includes('admin')) {
        const cost = await state.api.call(BILLING, 'GetCostAnalytics', { days: 30 });
        parts.push(h('h3', {}, 'Cost, last 30 days'),
          bars((cost.days || []).map((d) => [d.date, Number(d.cost?.amountMicros || 0),
                                             money(d.cost)]), 'cost'));
      }
      body.replaceChildren(...parts);
      show(null);
    } catch (e) {
      show(e);
    }
  }
  load();
}

// ---- the Usage page ------------------------------------------------------------------------

async function usagePage() {
  const page = document.getElementById('page');
  const roles = state.claims.roles || [];
  try {
    const { usage } = await state.api.call(BILLING, 'GetUsage', {});
    const used = Number(usage.minutesUsed || 0);
    const limit = Number(usage.minutesLimit || 0);
    const percent = limit ? Math.min(100, Math.floor((100 * used) / limit)) : 0;
    const minutes = h('input', { type: 'number', name: 'minutes', min: 1, value: 500 });
    page.replaceChildren(h('section', { class: 'card usage', id: 'usage' },
      h('h2', {}, 'Billing → Usage'),
      h('p', { id: 'monthly' }, limit ? `Monthly Usage: ${used} / ${limit} min`
        : `Monthly Usage: ${used} min (no limit)`),
      limit ? h('progress', { max: 100, value: percent }, `${percent} %`) : '',
      limit ? h('p', { id: 'remaining' }, `${Math.max(0, limit - used)} minutes remaining`) : '',
      percent >= 80 ? h('p', { class: 'warning' }, `Warning: ${percent} % of this month's minutes used.`) : '',
      h('p', { class: 'muted' }, `Call cost this month: ${money(usage.callCost)}`),
      roles.includes('admin') ? h('div', { class: 'actions' }, minutes,
        h('button', { id: 'purchase', onclick: async () => {
          try {
            await state.api.call(BILLING, 'PurchaseMinutes', { minutes: Number(minutes.value),
                                                               requestId: crypto.randomUUID() });
            usagePage();
          } catch (e) {
            show(e);
          }
        } }, 'Purchase minutes')) : ''),
      h('section', { id: 'invoices' }));
    show(null);
  } catch (e) {
    page.replaceChildren(h('h2', {}, 'Billing → Usage'));
    return show(e);
  }
  if (!roles.includes('supervisor') && !roles.includes('admin')) return;
  try {
    const { invoices } = await state.api.call(BILLING, 'ListInvoices', {});
    document.getElementById('invoices').replaceChildren(h('h3', {}, 'Invoices'),
      h('table', {}, h('tbody', {}, ...(invoices || []).map((inv) => h('tr', { 'data-invoice': inv.invoiceId },
        h('td', {}, inv.number || 'Draft'), h('td', {}, inv.month),
        h('td', {}, short(inv.status, 'INVOICE_STATUS_').toLowerCase()), h('td', {}, money(inv.total)),
        h('td', {}, inv.number ? h('button', { onclick: () => state.api.download(BILLING, 'DownloadInvoice',
          { invoiceId: inv.invoiceId, format: 'INVOICE_FORMAT_PDF' }).catch(show) }, 'PDF') : ''))))));
  } catch (e) {
    show(e);
  }
}

// ---- go ------------------------------------------------------------------------------------

const saved = sessionStorage.getItem('sb.token');
if (saved && claimsOf(saved) && claimsOf(saved).exp * 1000 > Date.now()) start(saved);
else signIn();
