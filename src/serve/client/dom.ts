/** Small DOM helpers for the dashboard's pages. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element with attributes (`on…` keys are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return el;
}

/** The page's embedded data. */
export function pageData<T>(): T {
  return JSON.parse(document.getElementById('lethe-data')!.textContent ?? '{}') as T;
}

export const DASH = '—';

export function pct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x)
    ? DASH
    : `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x)
    ? DASH
    : x.toFixed(digits).replace(/^-/, '−');
}

/** A duration in seconds as `42 s`, `3 min 20 s`, `1 h 05 min`. */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return DASH;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function stateBadge(state: string, reason?: string): HTMLElement {
  return h(
    'span',
    {},
    h('span', { class: `state ${state}`, 'data-state': state }, state),
    reason ? h('span', { class: 'reason' }, reason) : null,
  );
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

export function q(path: string): string {
  return encodeURIComponent(path);
}

/** Follows a server-sent event stream; `on` gets each event's parsed data by name. */
export function follow(url: string, on: Record<string, (data: unknown) => void>): EventSource {
  const source = new EventSource(url);
  const status = document.getElementById('live-status');
  source.onopen = () => status && (status.textContent = '● live');
  source.onerror = () => status && (status.textContent = '○ reconnecting…');
  for (const [name, fn] of Object.entries(on))
    source.addEventListener(name, (e) => fn(JSON.parse((e as MessageEvent<string>).data)));
  return source;
}

export function clear(el: Element, ...children: (Node | null)[]): void {
  el.replaceChildren(...children.filter((c): c is Node => c !== null));
}
