// Billing → Usage (/console/usage): "Monthly Usage: 450 / 1000 min", the bar, minutes
// remaining, the warning from the plan's threshold, Purchase minutes (admins) and invoices with
// their PDF (supervisors, admins).
import { byId, h, money, newRequestId, short, show } from './dom';
import { BILLING, hasRole, state } from './state';

export async function usagePage(): Promise<void> {
  const page = byId('page');
  if (!page) return;
  try {
    const { usage } = await state.api.call(BILLING, 'GetUsage', {});
    const used = Number(usage.minutesUsed || 0);
    const limit = Number(usage.minutesLimit || 0);
    const percent = Number(usage.percentUsed || 0);
    const level = short(usage.level, 'USAGE_LEVEL_');  // from the plan's warning percent
    const minutes = h('input', { type: 'number', name: 'minutes', min: 1, value: 500,
                                 'aria-label': 'Minutes to buy' });
    page.replaceChildren(h('section', { class: 'card usage', id: 'usage' },
      h('h2', {}, 'Billing → Usage'),
      h('p', { id: 'monthly' }, limit ? `Monthly Usage: ${used} / ${limit} min`
        : `Monthly Usage: ${used} min (no limit)`),
      limit ? h('progress', { max: 100, value: Math.min(100, percent), 'aria-labelledby': 'monthly' },
        `${percent} %`) : '',
      limit ? h('p', { id: 'remaining' }, `${Math.max(0, limit - used)} minutes remaining`) : '',
      level === 'WARNING' || level === 'EXHAUSTED'
        ? h('p', { class: 'warning', id: 'usage-warning', role: 'status' }, level === 'EXHAUSTED'
          ? `This month's minutes are used up: calls are blocked until you buy more.`
          : `Warning: ${percent} % of this month's minutes used.`) : '',
      h('p', { class: 'muted' }, `Call cost this month: ${money(usage.callCost)}`),
      hasRole('admin') ? h('div', { class: 'actions' }, minutes,
        h('button', { id: 'purchase', onclick: async () => {
          try {
            await state.api.call(BILLING, 'PurchaseMinutes', { minutes: Number(minutes.value),
                                                               requestId: newRequestId() });
            void usagePage();
          } catch (e) {
            show(e);
          }
        } }, 'Purchase minutes')) : '',
      h('section', { id: 'invoices' })));
    show(null);
  } catch (e) {
    page.replaceChildren(h('h2', {}, 'Billing → Usage'));
    show(e);
    return;
  }
  if (!hasRole('supervisor', 'admin')) return;
  try {
    const { invoices } = await state.api.call(BILLING, 'ListInvoices', {});
    byId('invoices')?.replaceChildren(h('h3', {}, 'Invoices'),
      h('table', {}, h('tbody', {}, ...(invoices || []).map((inv: any) =>
        h('tr', { 'data-invoice': inv.invoiceId },
          h('td', {}, inv.number || 'Draft'), h('td', {}, inv.month),
          h('td', {}, short(inv.status, 'INVOICE_STATUS_').toLowerCase()), h('td', {}, money(inv.total)),
          h('td', {}, inv.number ? h('button', { onclick: () => state.api.download(BILLING,
            'DownloadInvoice', { invoiceId: inv.invoiceId, format: 'INVOICE_FORMAT_PDF' }).catch(show) },
          'PDF') : ''))))));
  } catch (e) {
    show(e);
  }
}
