// The supervisor wallboard (/console/wallboard): agents by availability, calls ringing (with
// how long the caller has waited) and in progress (with their talk time) from the tenant-wide
// stream, calls missed today (the tenant's day), and suspension, quality and usage banners.
import { STATUS_CLASS } from './calls';
import { byId, h, mmss, short, show } from './dom';
import { AVAILABILITY, AVAILABILITY_LABEL } from './presence';
import { CALLS, Call, ROUTING, TERMINAL, state, zoneMidnight, zoneToday } from './state';

const calls = new Map<string, Call>();
let stream: (() => void) | null = null;
let ticker = 0;
let refresh = 0;

export function leaveWallboard(): void {
  stream?.();
  stream = null;
  clearInterval(ticker);
  clearInterval(refresh);
}

export function wallboardPage(): void {
  const page = byId('page');
  if (!page) return;
  leaveWallboard();
  const agents = h('div', { id: 'agents', class: 'columns' });
  const live = h('div', { id: 'live-calls', 'aria-live': 'polite' });
  const banners = h('div', { id: 'banners' });
  const missed = h('div', { class: 'card', id: 'missed-today' },
    h('span', { class: 'muted' }, 'Missed today'), h('strong', {}, '…'));
  const waiting = h('div', { class: 'card', id: 'longest-wait' },
    h('span', { class: 'muted' }, 'Longest wait now'), h('strong', {}, '—'));
  page.replaceChildren(h('h2', {}, 'Wallboard'), banners,
    h('div', { class: 'columns' }, missed, waiting), agents, h('h3', {}, 'Calls now'), live);

  const render = () => {
    if (!live.isConnected) return;
    const now = Date.now();
    const rows = [...calls.values()].sort((a, b) =>
      Date.parse(a.offeredTime || a.createTime || '') - Date.parse(b.offeredTime || b.createTime || ''));
    let longest = 0;
    live.replaceChildren(...rows.map((c) => {
      const st = short(c.state, 'CALL_STATE_');
      const ringing = st === 'OFFERED' || st === 'RINGING';
      const since = Date.parse((ringing ? c.offeredTime || c.createTime : c.answeredTime) || '') || now;
      if (ringing) longest = Math.max(longest, now - since);
      return h('p', { 'data-call-id': c.callId },
        h('span', { class: `badge ${STATUS_CLASS[st] || ''}` }, st.toLowerCase()), ' ',
        c.contact?.displayName || c.contact?.phoneE164 || c.contact?.waId || '', ' ',
        h('span', { class: 'muted' }, `${ringing ? 'waiting' : 'talking'} ${mmss((now - since) / 1000)}${
          c.answeredByAgentId ? ` · ${c.answeredByAgentId}` : ''}`));
    }));
    if (rows.length === 0) live.replaceChildren(h('p', { class: 'muted' }, 'No calls right now.'));
    waiting.querySelector('strong')!.textContent = longest ? mmss(longest / 1000) : '—';
  };

  const load = async () => {
    try {
      const day = zoneToday();
      const next = new Date(`${day}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      const [r, today] = await Promise.all([
        state.api.call(ROUTING, 'ListAgents', { pageSize: 500 }),
        state.api.call(CALLS, 'GetCallStats', {  // the tenant's day, 23 to 25 hours
          startTime: zoneMidnight(day).toISOString(),
          endTime: zoneMidnight(next.toISOString().slice(0, 10)).toISOString() }),
      ]);
      if (!agents.isConnected) return;
      const by: Record<string, string[]> = {};
      for (const a of r.agents || []) (by[short(a.availability, 'AVAILABILITY_')] ||= []).push(a.agentId);
      agents.replaceChildren(...AVAILABILITY.map((a) => h('div', { class: 'card', 'data-availability': a },
        h('strong', {}, `${AVAILABILITY_LABEL[a]} (${(by[a] || []).length})`),
        h('p', {}, (by[a] || []).join(', ')))));
      missed.querySelector('strong')!.textContent = String(today.missedCalls || 0);
    } catch (e) {
      show(e);
    }
  };

  void load();
  refresh = window.setInterval(load, 15000);
  ticker = window.setInterval(render, 1000);
  stream = state.api.subscribe({ tenantWide: true }, (kind, n) => {
    if (kind === 'reset') {
      calls.clear();
      for (const c of n.reset.calls || []) calls.set(c.callId, c);
    } else if (kind === 'call_state') {
      const c: Call = n.callState.call;
      if (TERMINAL.includes(short(c.state, 'CALL_STATE_'))) {
        calls.delete(c.callId);
        if (short(c.state, 'CALL_STATE_') === 'MISSED') void load();
      } else {
        calls.set(c.callId, c);
      }
    } else if (kind === 'suspension_alert' || kind === 'usage_alert') {
      const a = n.suspensionAlert || n.usageAlert;
      banners.append(h('p', { class: 'warning', role: 'status' }, a.message
        || `Usage ${a.percentUsed} % (${a.minutesUsed} / ${a.minutesLimit} min)`));
    }
    render();
  }, () => {});
  render();
}
