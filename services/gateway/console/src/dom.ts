// Small helpers the screens share: building elements, the error line, and formatting.
type Child = Node | string | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener
                    | ((e: any) => unknown)>;

// h('button', { id: 'call', onclick: f }, 'Call'): attributes, `on*` listeners, children
// (strings become text; null, undefined and false are skipped). `style` goes through the CSSOM
// (the console's CSP allows no inline style attributes).
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {},
                                                         ...children: Child[]) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === 'style' && typeof v === 'string') {
      el.style.cssText = v;
    } else if (v !== undefined && v !== null && v !== false) {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  const add = (c: Child) => {
    if (Array.isArray(c)) c.forEach(add);
    else if (c instanceof Node) el.append(c);
    else if (c !== null && c !== undefined && c !== false) el.append(document.createTextNode(c));
  };
  children.forEach(add);
  return el;
}

// The element with `id`, of the type asked for; null when it is not on the page.
export function byId<T extends HTMLElement = HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

// The form's control named `name` (an input, select or textarea; all have value and checked
// enough for the screens' use).
export function control(form: HTMLFormElement, name: string): HTMLInputElement {
  return form.elements.namedItem(name) as HTMLInputElement;
}

// Shows an error (an ApiError with its reason) on the page's error line; null clears it.
export function show(error: unknown): void {
  const box = byId('error');
  if (!box) return;
  if (!error) {
    box.textContent = '';
    box.hidden = true;
    return;
  }
  const e = error as { message?: string; reason?: string };
  box.textContent = `${e.message || String(error)}${e.reason ? ` (${e.reason})` : ''}`;
  box.hidden = false;
}

export const short = (name: string | undefined, prefix: string) => (name || '').replace(prefix, '');

export const mmss = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

// A protobuf Duration as JSON ("12.5s") in seconds.
export const seconds = (duration: string | undefined) =>
  parseFloat((duration || '0s').replace('s', '')) || 0;

export interface Money { amountMicros?: string | number; currencyCode?: string }

// Money in integer micro-units, shown with three decimals.
export const money = (m: Money | undefined) => (m && m.amountMicros !== undefined
  ? `${(Number(m.amountMicros) / 1e6).toFixed(3)} ${m.currencyCode || ''}`.trim() : '—');

export const newRequestId = () => crypto.randomUUID();
