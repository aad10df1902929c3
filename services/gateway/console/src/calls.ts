// The Calls page (/console/calls): the summary cards, filters (direction, status, dates in the
// tenant's zone, search), the rows, Export (the filtered CSV), live refresh, a call's detail
// with its notes and Meta's error, and "Call back" on a missed inbound call.
import { openContactLater } from './contact';
import { byId, control, h, mmss, money, newRequestId, seconds, short, show } from './dom';
import { CALLS, Call, localTime, state, zoneMidnight } from './state';

export const STATUS_CLASS: Record<string, string> = {
  ENDED: 'ok', ANSWERED: 'live', RINGING: 'live', MISSED: 'bad', REJECTED: 'bad', FAILED: 'bad' };

const field = (form: HTMLFormElement, name: string) => control(form, name).value;

// The ListCalls filter of the form; dates are whole days in the tenant's zone.
function filterOf(form: HTMLFormElement): string {
  const parts: string[] = [];
  if (field(form, 'direction')) parts.push(`direction = ${field(form, 'direction')}`);
  if (field(form, 'status')) parts.push(`state = ${field(form, 'status')}`);
  if (field(form, 'from')) {
    parts.push(`offered_time >= "${zoneMidnight(field(form, 'from')).toISOString()}"`);
  }
  if (field(form, 'to')) {
    const next = new Date(`${field(form, 'to')}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    parts.push(`offered_time < "${zoneMidnight(next.toISOString().slice(0, 10)).toISOString()}"`);
  }
  return parts.join(' AND ');
}

let loading = 0;

// The first page's two requests, sent before the console builds anything (main.ts), so the
// rows arrive while the page is still being drawn. Used once, by the first unfiltered load.
let prefetched: Promise<[{ calls?: Call[] }, any]> | null = null;

const firstPage = () => Promise.all([
  state.api.call<{ calls?: Call[] }>(CALLS, 'ListCalls', { filter: '', query: '', pageSize: 50 }),
  state.api.call(CALLS, 'GetCallStats', {}),
]);

export function prefetchCalls(): void {
  prefetched = firstPage();
  prefetched.catch(() => {});  // a failure is shown when the page asks for it
}

export async function callsPage(): Promise<void> {
  const page = byId('page');
  if (!page) return;
  let form = byId<HTMLFormElement>('calls-filter');
  if (!form) {
    const f = h('form', { id: 'calls-filter', class: 'filters', role: 'search' },
      h('select', { name: 'direction', 'aria-label': 'Direction' },
        h('option', { value: '' }, 'All directions'),
        h('option', { value: 'INBOUND' }, '↓ In'), h('option', { value: 'OUTBOUND' }, '↑ Out')),
      h('select', { name: 'status', 'aria-label': 'Status' }, h('option', { value: '' }, 'All statuses'),
        ...Object.keys(STATUS_CLASS).map((s) => h('option', { value: s }, s.toLowerCase()))),
      h('label', {}, 'From', h('input', { type: 'date', name: 'from' })),
      h('label', {}, 'To', h('input', { type: 'date', name: 'to' })),
      h('input', { type: 'search', name: 'q', placeholder: 'Search contact', 'aria-label': 'Search contact' }),
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', id: 'export', onclick: () => exportCalls(f) }, 'Export'));
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      void callsPage();
    });
    page.replaceChildren(h('h2', {}, 'Calls'),
      h('div', { id: 'summary', class: 'columns', 'aria-live': 'polite' }), f,
      h('div', { id: 'calls' }), h('section', { id: 'call-detail' }));
    form = f;
  }
  const asked = ++loading;
  const filter = filterOf(form);
  const query = field(form, 'q').trim();
  const data = prefetched && !filter && !query ? prefetched : Promise.all([
    state.api.call<{ calls?: Call[] }>(CALLS, 'ListCalls', { filter, query, pageSize: 50 }),
    state.api.call(CALLS, 'GetCallStats', {}),
  ]);
  prefetched = null;
  try {
    // The tenant's zone was asked for at the same time.
    const [[list, stats]] = await Promise.all([data, state.ready]);
    if (asked !== loading || !byId('calls')) return;  // a newer load, or another screen
    performance.mark('calls-data');
    const card = (label: string, value: string, id: string) => h('div', { class: 'card', id },
      h('span', { class: 'muted' }, label), h('strong', {}, value));
    byId('summary')!.replaceChildren(
      card('Total calls this month', String(stats.totalCalls || 0), 'total-calls'),
      card('Success rate', `${((stats.successRateBps || 0) / 100).toFixed(1)} %`, 'success-rate'),
      card('Total minutes', String(stats.billedMinutes || 0), 'total-minutes'),
      card('Total cost', money(stats.totalCost), 'total-cost'));
    const rows = list.calls || [];
    const table = h('table', {},
      h('caption', { class: 'muted' }, `Times in ${state.zone}`),
      h('thead', {}, h('tr', {}, ...['Direction', 'Contact', 'Status', 'Duration', 'Cost', 'When', '']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows.map(row)));
    byId('calls')!.replaceChildren(
      rows.length ? table : h('p', { class: 'muted', id: 'no-calls' }, 'No calls match.'));
    performance.mark('calls-rendered');
    show(null);
  } catch (e) {
    show(e);
  }
}

function row(c: Call): HTMLElement {
  const st = short(c.state, 'CALL_STATE_');
  const inbound = c.direction === 'CALL_DIRECTION_INBOUND';
  return h('tr', { 'data-call-id': c.callId, class: 'row', tabindex: 0,
                   onclick: () => callDetail(c.callId),
                   onkeydown: (e: KeyboardEvent) => { if (e.key === 'Enter') void callDetail(c.callId); } },
    h('td', {}, inbound ? '↓ In' : '↑ Out'),
    h('td', {}, c.contact?.displayName || c.contact?.phoneE164 || c.contact?.waId || ''),
    h('td', {}, h('span', { class: `badge ${STATUS_CLASS[st] || ''}` }, st.toLowerCase())),
    h('td', {}, mmss(seconds(c.duration))),
    h('td', {}, money(c.cost)),
    h('td', {}, localTime(c.offeredTime)),
    h('td', {}, inbound && st === 'MISSED'
      ? h('button', { class: 'call-back', onclick: (e: Event) => { e.stopPropagation(); callBack(c); } },
        'Call back') : ''));
}

// A missed call's contact, opened in the contact view.
function callBack(c: Call): void {
  openContactLater({ wa: c.contact?.waId || '', name: c.contact?.displayName || '',
                     number: c.businessPhoneNumberId || '', kind: 'CALL_KIND_USER_REQUESTED' });
  history.pushState({}, '', '/console/contact');
  dispatchEvent(new PopStateEvent('popstate'));
}

// The call with its notes and Meta's error, if any.
async function callDetail(callId: string): Promise<void> {
  const box = byId('call-detail');
  if (!box) return;
  try {
    const [{ call }, notes] = await Promise.all([
      state.api.call<{ call: Call }>(CALLS, 'GetCall', { callId }),
      state.api.call<{ notes?: { authorAgentId: string; text: string }[] }>(
        CALLS, 'ListCallNotes', { callId }),
    ]);
    const text = h('textarea', { name: 'note', rows: 2, placeholder: 'Add a note', 'aria-label': 'Note' });
    box.replaceChildren(h('div', { class: 'card', 'data-call-id': callId },
      h('h3', {}, call.contact?.displayName || call.contact?.waId || callId),
      h('p', {}, `${short(call.state, 'CALL_STATE_').toLowerCase()}${
        call.endReason ? ` · ${short(call.endReason, 'END_REASON_').toLowerCase()}` : ''}${
        call.answeredByAgentId ? ` · answered by ${call.answeredByAgentId}` : ''} · ${
        localTime(call.offeredTime)}`),
      call.metaErrorCode ? h('p', { class: 'error', id: 'meta-error' },
        `Meta error ${call.metaErrorCode}: ${call.metaErrorMessage || ''}`) : '',
      h('ul', { id: 'notes' }, ...(notes.notes || []).map((n) =>
        h('li', {}, h('span', { class: 'muted' }, `${n.authorAgentId}: `), n.text))),
      text,
      h('button', { id: 'add-note', onclick: async () => {
        try {
          await state.api.call(CALLS, 'AddCallNote', { callId, text: text.value,
                                                       requestId: newRequestId() });
          void callDetail(callId);
        } catch (e) {
          show(e);
        }
      } }, 'Add note')));
  } catch (e) {
    show(e);
  }
}

async function exportCalls(form: HTMLFormElement): Promise<void> {
  try {
    await state.api.download(CALLS, 'ExportCalls', {
      filter: filterOf(form), query: field(form, 'q').trim(), timeZone: state.zone });
  } catch (e) {
    show(e);
  }
}
