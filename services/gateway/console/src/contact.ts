// The contact view, as the chat header shows it: the Call button (green when eligible, else
// every reason from eligibility in its tooltip with when it clears), warnings, Request call
// permission, Schedule Callback, and tabs for the contact's notes and calls.
import { ApiError } from './api';
import { startCall } from './calling';
import { byId, control, h, mmss, newRequestId, seconds, short, show } from './dom';
import { CALLS, Call, Contact, ELIGIBILITY, localTime, state } from './state';

const KINDS: Record<string, string> = {
  CALL_KIND_USER_REQUESTED: 'The contact asked to be called',
  CALL_KIND_AGENT_OFFERED: 'I offered a call in the chat and they said yes',
  CALL_KIND_LONG_TERM_CONSENT: 'Standing consent',
};
const PERMISSION_REASONS = ['NO_CALL_PERMISSION', 'CALL_PERMISSION_EXPIRED'];

interface Reason { code: string; message: string; clearsTime?: string }

let recheck = 0;
export function leaveContact(): void {
  clearTimeout(recheck);
}

// Opens `contact` in the contact view (the Calls page's "Call back" does).
export function openContactLater(contact: Contact): void {
  localStorage.setItem('sb.contact', JSON.stringify(contact));
}

export function contactPage(): Promise<void> {
  const page = byId('page');
  if (!page) return Promise.resolve();
  const saved: Partial<Contact> = JSON.parse(localStorage.getItem('sb.contact') || '{}');
  const form = h('form', { id: 'contact-form', class: 'filters' },
    h('label', {}, 'Contact', h('input', { name: 'wa', placeholder: 'WhatsApp id (5511…)',
                                           value: saved.wa || '', required: true })),
    h('label', {}, 'Name', h('input', { name: 'name', placeholder: 'If saved', value: saved.name || '' })),
    h('label', {}, 'Business number', h('input', { name: 'number', placeholder: 'Phone number id',
                                                   value: saved.number || '', required: true })),
    h('label', {}, 'Consent', h('select', { name: 'kind' }, ...Object.entries(KINDS).map(([v, t]) =>
      h('option', { value: v, selected: v === saved.kind }, t)))),
    h('button', { type: 'submit' }, 'Open'));
  const panel = h('section', { id: 'contact', class: 'card' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const field = (name: string) => control(form, name).value.trim();
    const contact = { wa: field('wa'), name: field('name'), number: field('number'), kind: field('kind') };
    localStorage.setItem('sb.contact', JSON.stringify(contact));
    void openContact(contact, panel);
  });
  page.replaceChildren(h('h2', {}, 'Contact'), form, panel);
  return saved.wa && saved.number ? openContact(saved as Contact, panel) : Promise.resolve();
}

const refOf = (c: Contact) => ({ waId: c.wa, displayName: c.name || undefined });

async function openContact(contact: Contact, panel: HTMLElement): Promise<void> {
  clearTimeout(recheck);
  const callButton = h('button', { id: 'call', class: 'call', disabled: true }, 'Call');
  const reasons = h('ul', { id: 'reasons', class: 'reasons', 'aria-label': 'Why calling is blocked' });
  const warnings = h('ul', { id: 'warnings', class: 'warnings' });
  const permission = h('button', { id: 'permission', hidden: true }, 'Request call permission');
  const due = h('input', { type: 'datetime-local', name: 'due', 'aria-label': 'Callback time' });
  const callback = h('button', { id: 'callback' }, 'Schedule Callback');
  const tabs = h('div', { id: 'contact-tabs' });
  panel.replaceChildren(
    h('h3', {}, contact.name || contact.wa), contact.name ? h('p', { class: 'muted' }, contact.wa) : '',
    h('div', { class: 'actions' }, callButton, permission),
    reasons, warnings,
    h('div', { class: 'actions' }, due, callback),
    tabs);

  const check = async () => {
    if (!panel.isConnected) return;
    try {
      const r = await state.api.call<{ eligible?: boolean; blockingReasons?: Reason[];
                                        warnings?: Reason[] }>(ELIGIBILITY, 'CheckEligibility', {
        contact: refOf(contact), businessPhoneNumberId: contact.number, callKind: contact.kind,
        agentId: state.claims.sub });
      const blocking = r.blockingReasons || [];
      callButton.disabled = !r.eligible || !!state.call;
      callButton.classList.toggle('eligible', !!r.eligible);
      // Hover to see the reason: every reason, with when it clears.
      const line = (x: Reason) => `${x.message}${x.clearsTime
        ? ` (clears ${localTime(x.clearsTime, { timeStyle: 'short' })})` : ''}`;
      callButton.title = r.eligible ? 'Call (Ctrl+K)' : blocking.map(line).join('\n');
      callButton.setAttribute('aria-describedby', 'reasons');
      reasons.replaceChildren(...blocking.map((x) => h('li', { 'data-code': x.code }, line(x))));
      warnings.replaceChildren(...(r.warnings || []).map((x) =>
        h('li', { 'data-code': x.code }, x.message)));
      permission.hidden = !blocking.some((x) => PERMISSION_REASONS.includes(x.code));
      // Checked again when a reason clears, and every 15 s (a "call me" message may arrive).
      const clears = blocking.map((x) => Date.parse(x.clearsTime || '')).filter((t) => t > Date.now());
      const next = Math.min(15000, ...clears.map((t) => t - Date.now() + 500));
      recheck = window.setTimeout(check, Math.max(1000, next));
      show(null);
    } catch (e) {
      show(e);
      recheck = window.setTimeout(check, 15000);
    }
  };
  callButton.addEventListener('click', async () => {
    callButton.disabled = true;
    try {
      await startCall(contact, refOf(contact));
      show(null);
    } catch (e) {
      show(e);
      if (e instanceof ApiError && e.reason === 'CALL_NOT_ELIGIBLE') void check();
      else callButton.disabled = false;
    }
  });
  permission.addEventListener('click', async () => {
    try {
      await state.api.call(CALLS, 'RequestCallPermission', {
        contact: refOf(contact), businessPhoneNumberId: contact.number, requestId: newRequestId() });
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
        contact: refOf(contact), businessPhoneNumberId: contact.number,
        assignedAgentId: state.claims.sub, dueTime: new Date(due.value).toISOString(),
        requestId: newRequestId() });
      callback.textContent = 'Callback scheduled';
      show(null);
    } catch (e) {
      show(e);
    }
  });
  contactTabs(contact, tabs);
  await check();
}

// The contact's notes (add one to their latest call) and their calls.
function contactTabs(contact: Contact, box: HTMLElement): void {
  const notesTab = h('button', { role: 'tab', id: 'tab-notes', 'aria-selected': 'true' }, 'Notes');
  const callsTab = h('button', { role: 'tab', id: 'tab-calls', 'aria-selected': 'false' }, 'Calls');
  const body = h('div', { role: 'tabpanel', id: 'contact-tab' });
  const select = (tab: HTMLElement) => {
    for (const t of [notesTab, callsTab]) t.setAttribute('aria-selected', String(t === tab));
    void (tab === notesTab ? notes(contact, body) : calls(contact, body));
  };
  notesTab.addEventListener('click', () => select(notesTab));
  callsTab.addEventListener('click', () => select(callsTab));
  box.replaceChildren(h('div', { role: 'tablist', class: 'tabs' }, notesTab, callsTab), body);
  select(notesTab);
}

async function latestCall(contact: Contact): Promise<Call | undefined> {
  const r = await state.api.call<{ calls?: Call[] }>(CALLS, 'ListCalls', {
    query: contact.wa, pageSize: 1 });
  return r.calls?.[0];
}

async function notes(contact: Contact, body: HTMLElement): Promise<void> {
  try {
    const [r, last] = await Promise.all([
      state.api.call<{ notes?: { noteId: string; authorAgentId: string; text: string;
                                  createTime?: string }[] }>(
        CALLS, 'ListCallNotes', { contact: refOf(contact) }),
      latestCall(contact)]);
    const text = h('textarea', { name: 'contact-note', rows: 2, 'aria-label': 'Note',
                                 placeholder: last ? 'Add a note to the latest call' : 'No call yet' });
    const add = h('button', { id: 'add-contact-note', disabled: !last }, 'Add note');
    add.addEventListener('click', async () => {
      if (!last) return;
      try {
        await state.api.call(CALLS, 'AddCallNote', { callId: last.callId, text: text.value,
                                                     requestId: newRequestId() });
        void notes(contact, body);
      } catch (e) {
        show(e);
      }
    });
    const list = r.notes || [];
    body.replaceChildren(
      list.length ? h('ul', { id: 'contact-notes' }, ...list.map((n) => h('li', {},
        h('span', { class: 'muted' }, `${localTime(n.createTime)} · ${n.authorAgentId}: `), n.text)))
        : h('p', { class: 'muted', id: 'contact-notes' }, 'No notes yet.'),
      text, add);
  } catch (e) {
    show(e);
  }
}

async function calls(contact: Contact, body: HTMLElement): Promise<void> {
  try {
    const r = await state.api.call<{ calls?: Call[] }>(CALLS, 'ListCalls', {
      query: contact.wa, pageSize: 20 });
    body.replaceChildren(h('table', { id: 'contact-calls' }, h('tbody', {},
      ...(r.calls || []).map((c) => h('tr', {},
        h('td', {}, c.direction === 'CALL_DIRECTION_INBOUND' ? '↓ In' : '↑ Out'),
        h('td', {}, short(c.state, 'CALL_STATE_').toLowerCase()),
        h('td', {}, mmss(seconds(c.duration))),
        h('td', {}, localTime(c.offeredTime)))))));
  } catch (e) {
    show(e);
  }
}
