// Calls → Analytics (/console/analytics): calls by period, success vs failure, inbound vs
// outbound, average duration, top contacts, and (supervisors) the 30-day cost chart. The bars
// are tables, so screen readers read the figures; the cost is also drawn with uPlot.
// (uPlot's stylesheet is in the main bundle: main.ts imports it.)
import type uPlot from 'uplot';
import { byId, h, mmss, money, seconds, show } from './dom';
import { BILLING, CALLS, hasRole, localTime, state } from './state';

const PERIODS: Record<string, string> = {
  ANALYTICS_PERIOD_LAST_7_DAYS: 'Last 7 days',
  ANALYTICS_PERIOD_LAST_30_DAYS: 'Last 30 days',
  ANALYTICS_PERIOD_THIS_MONTH: 'This month',
  ANALYTICS_PERIOD_LAST_24_HOURS: 'Last 24 hours',
};

// Horizontal bars: one row per [label, value, text].
function bars(rows: [string, number, string?][], id: string, caption: string): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h('table', { class: 'bars', id },
    h('caption', { class: 'sr-only' }, caption),
    h('tbody', {}, ...rows.map(([label, value, text]) =>
      h('tr', {}, h('th', { scope: 'row' }, label),
        h('td', { class: 'bar' }, h('span', { style: `width:${(100 * value) / max}%` })),
        h('td', {}, text ?? String(value))))));
}

let chart: uPlot | null = null;

export function analyticsPage(): void {
  const page = byId('page');
  if (!page) return;
  const period = h('select', { id: 'period', 'aria-label': 'Period' },
    ...Object.entries(PERIODS).map(([v, t]) => h('option', { value: v }, t)));
  const body = h('div', { id: 'analytics' });
  period.addEventListener('change', () => void load());
  page.replaceChildren(h('h2', {}, 'Calls → Analytics'), period, body);
  async function load() {
    try {
      const r = await state.api.call(CALLS, 'GetCallAnalytics', { period: period.value,
                                                                  topContactsLimit: 5 });
      const t = r.totals || {};
      const answered = Number(t.answeredCalls || 0);
      const failed = Number(t.missedCalls || 0) + Number(t.rejectedCalls || 0)
        + Number(t.failedCalls || 0);
      const average = answered ? seconds(t.totalDuration) / answered : 0;
      const parts: HTMLElement[] = [
        h('h3', {}, 'Calls by period'),
        bars((r.buckets || []).map((b: any) => [localTime(b.startTime, { dateStyle: 'short' }),
                                                Number(b.totalCalls || 0)]),
             'by-period', 'Calls by period'),
        h('h3', {}, 'Success vs failure'),
        bars([['Answered', answered], ['Missed, rejected or failed', failed]], 'success',
             'Success vs failure'),
        h('h3', {}, 'Inbound vs outbound'),
        bars([['↓ In', Number(t.inboundCalls || 0)], ['↑ Out', Number(t.outboundCalls || 0)]],
             'directions', 'Inbound vs outbound'),
        h('p', { id: 'average' }, `Average duration: ${mmss(average)}`),
        h('h3', {}, 'Top contacts'),
        bars((r.topContacts || []).map((c: any): [string, number] => {
          // Two contacts may share a name: the number tells them apart.
          const number = c.contact?.phoneE164 || c.contact?.waId || '';
          const name = c.contact?.displayName;
          return [name ? `${name} (${number})` : number, Number(c.callCount || 0)];
        }),
             'top-contacts', 'Top contacts'),
      ];
      let days: { date: string; cost?: { amountMicros?: string; currencyCode?: string } }[] = [];
      if (hasRole('supervisor', 'admin')) {
        days = (await state.api.call(BILLING, 'GetCostAnalytics', { days: 30 })).days || [];
        parts.push(h('h3', {}, 'Cost, last 30 days'), h('div', { id: 'cost-chart', 'aria-hidden': 'true' }),
          h('details', {}, h('summary', {}, 'As a table'),
            bars(days.map((d) => [d.date, Number(d.cost?.amountMicros || 0), money(d.cost)]),
                 'cost', 'Cost per day, last 30 days')));
      }
      body.replaceChildren(...parts);
      await drawCost(days);
      show(null);
    } catch (e) {
      show(e);
    }
  }
  void load();
}

// The 30-day cost as a line, in the plan's currency units. uPlot is loaded with the first chart
// (its own chunk), so the other screens never wait for it.
async function drawCost(days: { date: string; cost?: { amountMicros?: string; currencyCode?: string } }[]) {
  chart?.destroy();
  chart = null;
  const box = byId('cost-chart');
  if (!box || days.length === 0) return;
  const currency = days.find((d) => d.cost?.currencyCode)?.cost?.currencyCode || '';
  const { default: UPlot } = await import('uplot');
  if (!box.isConnected) return;
  const x = days.map((d) => Date.parse(`${d.date}T12:00:00Z`) / 1000);
  const y = days.map((d) => Number(d.cost?.amountMicros || 0) / 1e6);
  chart = new UPlot({
    width: Math.min(720, box.clientWidth || 720),
    height: 220,
    series: [{}, { label: `Cost (${currency})`, stroke: '#1f5eff', fill: 'rgba(31,94,255,.12)' }],
    axes: [{}, { size: 60 }],
  }, [x, y], box);
}
