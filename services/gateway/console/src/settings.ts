// Settings (/console/settings, admins): per business number, calling on or off, the call button
// and callback permission, business hours and holidays (Meta's call hours); teams with their
// routing mode, ring timeouts, members, numbers and fallback; the rate plan's monthly limit,
// warning and price; the tenant's time zone, language, longest call and agents' cooldown. Each
// section saves by itself, with only its own fields in the update mask.
import { byId, control, h, newRequestId, seconds, short, show } from './dom';
import { BILLING, CALLS, ROUTING, WEBHOOKS, state } from './state';

const DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
const MODES: Record<string, string> = {
  ROUTING_MODE_BROADCAST: 'Broadcast (ring everyone)', ROUTING_MODE_ROUND_ROBIN: 'Round robin',
  ROUTING_MODE_STICKY: 'Sticky (assigned agent first)', ROUTING_MODE_ROLE_BASED: 'Role based' };
const FALLBACKS: Record<string, string> = {
  FALLBACK_ACTION_NONE: 'Nothing (missed)', FALLBACK_ACTION_AUTO_REPLY: 'Auto-reply message',
  FALLBACK_ACTION_ESCALATION: 'Escalate to a team or agents', FALLBACK_ACTION_VOICEMAIL: 'Voicemail prompt' };

// "0930" <-> "09:30" (Meta's HHMM and the time input's value).
const toInput = (hhmm = '') => (hhmm.length === 4 ? `${hhmm.slice(0, 2)}:${hhmm.slice(2)}` : '');
const fromInput = (v: string) => v.replace(':', '');
const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

function saved(button: HTMLButtonElement) {
  button.textContent = 'Saved';
  setTimeout(() => { button.textContent = 'Save'; }, 2000);
  show(null);
}

function section(title: string, id: string, ...children: (Node | string)[]): HTMLElement {
  return h('section', { class: 'card settings', id, 'aria-labelledby': `${id}-title` },
    h('h3', { id: `${id}-title` }, title), ...children);
}

export async function settingsPage(): Promise<void> {
  const page = byId('page');
  if (!page) return;
  page.replaceChildren(h('h2', {}, 'Settings'), h('div', { id: 'settings' }, h('p', { class: 'muted' }, 'Loading…')));
  try {
    const [numbers, teams, plan, calls, routing] = await Promise.all([
      state.api.call(WEBHOOKS, 'ListPhoneNumbers', { pageSize: 100 }),
      state.api.call(ROUTING, 'ListTeams', { pageSize: 100 }),
      state.api.call(BILLING, 'GetRatePlan', {}),
      state.api.call(CALLS, 'GetCallsSettings', {}),
      state.api.call(ROUTING, 'GetRoutingSettings', {}),
    ]);
    byId('settings')?.replaceChildren(
      ...(numbers.phoneNumbers || []).map(numberSection),
      teamsSection(teams.teams || []),
      planSection(plan.ratePlan || {}),
      tenantSection(calls.settings || {}, routing.settings || {}));
    show(null);
  } catch (e) {
    show(e);
  }
}

// ---- a business number ------------------------------------------------------------------------

function numberSection(n: any): HTMLElement {
  const s = n.callingSettings || {};
  const hours = s.callHours || {};
  const check = (name: string, label: string, on: boolean) =>
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name, checked: on }), label);
  const open = new Map<string, any>();
  for (const o of hours.weeklyOperatingHours || []) open.set(short(o.dayOfWeek, 'DAY_OF_WEEK_'), o);
  const week = h('table', { class: 'hours' }, h('tbody', {}, ...DAYS.map((d) => h('tr', { 'data-day': d },
    h('th', { scope: 'row' }, d[0] + d.slice(1).toLowerCase()),
    h('td', {}, h('input', { type: 'time', name: 'open', value: toInput(open.get(d)?.openTime),
                             'aria-label': `${d.toLowerCase()} opens` })),
    h('td', {}, h('input', { type: 'time', name: 'close', value: toInput(open.get(d)?.closeTime),
                             'aria-label': `${d.toLowerCase()} closes` }))))));
  const holidays = h('ul', { class: 'holidays' });
  const holiday = (x: any = {}) => {
    const row = h('li', {},
      h('input', { type: 'date', name: 'date', value: x.date || '', 'aria-label': 'Holiday' }),
      h('input', { type: 'time', name: 'start', value: toInput(x.startTime || '0000'), 'aria-label': 'From' }),
      h('input', { type: 'time', name: 'end', value: toInput(x.endTime || '2359'), 'aria-label': 'To' }),
      h('button', { type: 'button', onclick: () => row.remove() }, 'Remove'));
    holidays.append(row);
  };
  (hours.holidaySchedule || []).forEach(holiday);
  const form = h('form', {},
    check('callingEnabled', 'Calling enabled', !!s.callingEnabled),
    check('callIconVisible', 'Call button in the chat', !!s.callIconVisible),
    check('callbackPermissionEnabled', 'Callers grant call permission', !!s.callbackPermissionEnabled),
    h('h4', {}, 'Business hours'),
    check('hoursEnabled', 'Only take calls in these hours (otherwise 24/7)', !!hours.enabled),
    h('label', {}, 'Time zone ', h('input', { name: 'timezone', value: hours.timezoneId || state.zone })),
    week,
    h('h4', {}, 'Holidays (closed)'), holidays,
    h('button', { type: 'button', onclick: () => holiday() }, 'Add holiday'),
    h('p', {}, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const on = (name: string) => control(form, name).checked;
    const weekly = [...week.querySelectorAll('tr')].flatMap((tr) => {
      const o = (tr.querySelector('[name=open]') as HTMLInputElement).value;
      const c = (tr.querySelector('[name=close]') as HTMLInputElement).value;
      return o && c ? [{ dayOfWeek: `DAY_OF_WEEK_${tr.dataset.day}`, openTime: fromInput(o),
                         closeTime: fromInput(c) }] : [];
    });
    const closed = [...holidays.querySelectorAll('li')].flatMap((li) => {
      const v = (n: string) => (li.querySelector(`[name=${n}]`) as HTMLInputElement).value;
      return v('date') ? [{ date: v('date'), startTime: fromInput(v('start')), endTime: fromInput(v('end')) }] : [];
    });
    try {
      await state.api.call(WEBHOOKS, 'UpdateCallingSettings', {
        phoneNumberId: n.phoneNumberId,
        callingSettings: {
          callingEnabled: on('callingEnabled'), callIconVisible: on('callIconVisible'),
          callbackPermissionEnabled: on('callbackPermissionEnabled'),
          callHours: { enabled: on('hoursEnabled'),
                       timezoneId: control(form, 'timezone').value,
                       weeklyOperatingHours: weekly, holidaySchedule: closed } },
        updateMask: 'callingEnabled,callIconVisible,callbackPermissionEnabled,callHours',
        requestId: newRequestId() });
      saved(form.querySelector('button[type=submit]') as HTMLButtonElement);
    } catch (err) {
      show(err);
    }
  });
  return section(`Number ${n.displayPhoneNumber || n.phoneNumberId}`, `number-${n.phoneNumberId}`, form);
}

// ---- teams ----------------------------------------------------------------------------------

function teamsSection(teams: any[]): HTMLElement {
  const box = h('div', {});
  for (const t of teams) box.append(teamForm(t));
  const add = h('button', { type: 'button', id: 'new-team' }, 'New team');
  add.addEventListener('click', () => {
    box.append(teamForm({ routingMode: 'ROUTING_MODE_BROADCAST', ringTimeout: '30s',
                          fallback: { action: 'FALLBACK_ACTION_NONE' } }, true));
    add.disabled = true;
  });
  return section('Teams and routing', 'teams', box, add);
}

function teamForm(t: any, fresh = false): HTMLElement {
  const text = (name: string, label: string, value = '', extra: object = {}) =>
    h('label', {}, label, h('input', { name, value, ...extra }));
  const select = (name: string, label: string, options: Record<string, string>, value: string) =>
    h('label', {}, label, h('select', { name }, ...Object.entries(options).map(([v, l]) =>
      h('option', { value: v, selected: v === value }, l))));
  const form = h('form', { class: 'team', 'data-team': t.teamId || '' },
    fresh ? text('teamId', 'Team id', '', { pattern: '[a-z0-9-]{1,63}', required: true })
      : h('h4', {}, t.displayName || t.teamId),
    text('displayName', 'Name', t.displayName || ''),
    select('routingMode', 'Routing', MODES, t.routingMode),
    text('ringTimeout', 'Ring timeout (s)', String(seconds(t.ringTimeout) || 30),
         { type: 'number', min: 5, max: 60 }),
    text('agentRingTimeout', 'Each agent rings (s, sticky and round robin)',
         String(seconds(t.agentRingTimeout) || 15), { type: 'number', min: 5, max: 60 }),
    text('members', 'Agents (comma separated)', (t.members || []).map((m: any) => m.agentId).join(', ')),
    text('numbers', 'Business numbers (ids)', (t.businessPhoneNumberIds || []).join(', ')),
    select('fallback', 'When nobody answers', FALLBACKS, t.fallback?.action || 'FALLBACK_ACTION_NONE'),
    text('escalationTeam', 'Escalation team', t.fallback?.escalationTeamId || ''),
    text('autoReply', 'Auto-reply text', t.fallback?.autoReplyText || ''),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'callback',
                                                 checked: !!t.scheduleCallbackOnMiss }),
      'Schedule a callback for a missed call'),
    h('p', {}, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (name: string) => control(form, name).value.trim();
    const previous = new Map<string, any>((t.members || []).map((m: any) => [m.agentId, m]));
    // The whole team is replaced: what this form does not edit is sent back as it was.
    const team = { ...t,
      teamId: fresh ? v('teamId') : t.teamId,
      displayName: v('displayName'),
      routingMode: v('routingMode'),
      ringTimeout: `${Number(v('ringTimeout'))}s`,
      agentRingTimeout: `${Number(v('agentRingTimeout'))}s`,
      members: list(v('members')).map((id) => previous.get(id) || { agentId: id }),
      businessPhoneNumberIds: list(v('numbers')),
      fallback: { ...(t.fallback || {}), action: v('fallback'), escalationTeamId: v('escalationTeam'),
                  autoReplyText: v('autoReply') },
      scheduleCallbackOnMiss: control(form, 'callback').checked };
    delete team.updateTime;
    try {
      const r = await state.api.call(ROUTING, 'UpsertTeam', { team, requestId: newRequestId() });
      form.replaceWith(teamForm(r.team));
      show(null);
    } catch (err) {
      show(err);
    }
  });
  return form;
}

// ---- the plan and the tenant ----------------------------------------------------------------

function planSection(p: any): HTMLElement {
  const currency = p.pricePerMinute?.currencyCode || 'USD';
  const form = h('form', { id: 'plan' },
    h('label', {}, 'Monthly minutes (0: unlimited)', h('input', { name: 'limit', type: 'number', min: 0,
      value: String(p.monthlyMinutesLimit || 0) })),
    h('label', {}, 'Warn at (%)', h('input', { name: 'warning', type: 'number', min: 1, max: 100,
      value: String(p.usageWarningPercent || 80) })),
    h('label', {}, `Price per minute (${currency})`, h('input', { name: 'price', type: 'number', min: 0,
      step: '0.000001', value: String(Number(p.pricePerMinute?.amountMicros || 0) / 1e6) })),
    h('label', {}, 'Billing increment (s)', h('input', { name: 'increment', type: 'number', min: 1,
      max: 3600, value: String(seconds(p.billingIncrement) || 60) })),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'free',
                                                 checked: !!p.freeUserInitiated }),
      'Inbound calls are free'),
    h('p', {}, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (name: string) => control(form, name).value;
    try {
      await state.api.call(BILLING, 'UpdateRatePlan', {
        ratePlan: {
          monthlyMinutesLimit: String(Number(v('limit'))),
          usageWarningPercent: Number(v('warning')),
          // Money is integer micro-units.
          pricePerMinute: { amountMicros: String(Math.round(Number(v('price')) * 1e6)),
                            currencyCode: currency },
          billingIncrement: `${Number(v('increment'))}s`,
          freeUserInitiated: control(form, 'free').checked },
        updateMask: 'monthlyMinutesLimit,usageWarningPercent,pricePerMinute,billingIncrement,freeUserInitiated',
        requestId: newRequestId() });
      saved(form.querySelector('button[type=submit]') as HTMLButtonElement);
    } catch (err) {
      show(err);
    }
  });
  return section('Plan and limit', 'plan-settings', form);
}

function tenantSection(calls: any, routing: any): HTMLElement {
  const form = h('form', { id: 'tenant' },
    h('label', {}, 'Time zone', h('input', { name: 'zone', value: calls.timeZone || 'UTC' })),
    h('label', {}, 'Language of call timelines', h('input', { name: 'language', value: calls.language || 'en' })),
    // Empty: the deployment's --max-call-duration (the field named but unset restores it).
    h('label', {}, 'Longest a call may last (minutes; empty: the deployment\'s)',
      // No min/max here: the range is the API's (SETTING_OUT_OF_RANGE says it).
      h('input', { name: 'maxCallDuration', type: 'number', step: 'any',
        value: calls.maxCallDuration ? String(seconds(calls.maxCallDuration) / 60) : '' })),
    h('label', {}, 'Agent cooldown after a call (s)', h('input', { name: 'cooldown', type: 'number',
      min: 0, max: 600, value: String(seconds(routing.agentCooldown)) })),
    h('label', {}, 'Unanswered offers before DND (0: never)', h('input', { name: 'unanswered',
      type: 'number', min: 0, max: 20, value: String(routing.maxUnansweredOffers ?? 0) })),
    h('p', {}, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (name: string) => control(form, name).value.trim();
    try {
      const minutes = v('maxCallDuration');
      const r = await state.api.call(CALLS, 'UpdateCallsSettings', {
        settings: { timeZone: v('zone'), language: v('language'),
          ...(minutes ? { maxCallDuration: `${Math.round(Number(minutes) * 60000) / 1000}s` } : {}) },
        updateMask: 'timeZone,language,maxCallDuration' });
      await state.api.call(ROUTING, 'UpdateRoutingSettings', {
        settings: { agentCooldown: `${Number(v('cooldown'))}s`, maxUnansweredOffers: Number(v('unanswered')) },
        updateMask: 'agentCooldown,maxUnansweredOffers' });
      state.zone = r.settings?.timeZone || state.zone;
      saved(form.querySelector('button[type=submit]') as HTMLButtonElement);
    } catch (err) {
      show(err);
    }
  });
  return section('Tenant', 'tenant-settings', form);
}
