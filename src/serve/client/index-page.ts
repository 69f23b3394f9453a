/** The runs, comparisons and audits under the served directory, with filters; follows changes. */
import type { AuditSummary, ComparisonSummary, RunSummary, ServedIndex } from '../views.js';
import { clear, duration, fixed, follow, h, link, pct, q, stateBadge } from './dom.js';

interface Filters {
  text: string;
  state: string;
  method: string;
  scenario: string;
  precision: string;
  executor: string;
}

const filters: Filters = {
  text: '',
  state: '',
  method: '',
  scenario: '',
  precision: '',
  executor: '',
};

function select(
  name: keyof Filters,
  label: string,
  values: string[],
  onChange: () => void,
): HTMLElement {
  const s = h(
    'select',
    {
      id: `filter-${name}`,
      onchange: (e: Event) => {
        filters[name] = (e.target as HTMLSelectElement).value;
        onChange();
      },
    },
    h('option', { value: '' }, 'all'),
    values.map((v) => h('option', { value: v, selected: filters[name] === v }, v)),
  );
  return h('label', {}, label, s);
}

function progressCell(r: RunSummary): HTMLElement | string {
  const p = r.progress;
  if (!p || r.state !== 'running') return '';
  const f = p.totalSteps ? Math.min(1, p.step / p.totalSteps) : 0;
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'progress', title: `${p.step} / ${p.totalSteps} steps` },
      h('div', { style: `width:${(f * 100).toFixed(1)}%` }),
    ),
    h('span', { class: 'note' }, `epoch ${p.epoch}/${p.epochs} · ETA ${duration(p.eta)}`),
  );
}

function matches(r: RunSummary): boolean {
  const f = filters;
  if (f.state && r.state !== f.state) return false;
  if (f.method && (r.command === 'train' ? 'train' : r.method) !== f.method) return false;
  if (f.scenario && (r.scenario ?? '') !== f.scenario) return false;
  if (f.precision && r.precision !== f.precision) return false;
  if (f.executor && (r.executor ?? 'single run') !== f.executor) return false;
  if (f.text) {
    const hay = [r.path, r.method, r.data, r.forget, r.model].join(' ').toLowerCase();
    if (!hay.includes(f.text.toLowerCase())) return false;
  }
  return true;
}

/**
 * One of the page's list tables, in its scrolling box: a header row (a string is a plain header
 * cell), the body `rows`, then `after` (below the table, in the box).
 */
function listTable(
  id: string,
  head: (string | HTMLElement)[],
  rows: HTMLElement[],
  after: HTMLElement | null = null,
): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'list', id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((t) => (typeof t === 'string' ? h('th', {}, t) : t)),
        ),
      ),
      h('tbody', {}, rows),
    ),
    after,
  );
}

function runsTable(runs: RunSummary[]): HTMLElement {
  const rows = runs
    .filter(matches)
    .map((r) =>
      h(
        'tr',
        { class: 'run', 'data-path': r.path, 'data-state': r.state },
        h('td', { class: 'path' }, link(`/run?path=${q(r.path)}`, r.path)),
        h('td', {}, stateBadge(r.state, r.reason)),
        h('td', {}, r.command === 'train' ? 'train' : (r.method ?? '—')),
        h('td', {}, r.scenario ?? '—'),
        h('td', {}, r.precision ?? '—'),
        h('td', {}, r.executor ?? 'single run'),
        h('td', { class: 'num' }, pct(r.metrics?.forget)),
        h('td', { class: 'num' }, pct(r.metrics?.retain)),
        h('td', { class: 'num' }, pct(r.metrics?.test)),
        h('td', { class: 'num' }, fixed(r.metrics?.gapAvg)),
        h('td', { class: 'num' }, r.metrics ? duration(r.metrics.seconds) : ''),
        h('td', {}, progressCell(r)),
        h(
          'td',
          {},
          r.hasReport ? link(`/report?path=${q(r.path)}`, 'report') : null,
          r.hasPredictions && r.command === 'unlearn'
            ? [' · ', link(`/forget?path=${q(r.path)}`, 'forget set')]
            : null,
        ),
      ),
    );
  return listTable(
    'runs',
    [
      ...['Run', 'State', 'Method', 'Scenario', 'Precision', 'Executor'],
      ...['Forget', 'Retain', 'Test', 'Avg Gap', 'Time'].map((t) => h('th', { class: 'num' }, t)),
      'Progress',
      '',
    ],
    rows,
    rows.length === 0 ? h('p', { class: 'muted' }, 'No run matches the filters.') : null,
  );
}

function comparisonsTable(list: ComparisonSummary[]): HTMLElement {
  return listTable(
    'comparisons',
    ['Comparison', 'State', 'Data', 'Forget', 'Methods', 'Seeds', 'Executor', 'Jobs', ''],
    list.map((c) =>
      h(
        'tr',
        { class: 'comparison', 'data-path': c.path },
        h('td', { class: 'path' }, link(`/comparison?path=${q(c.path)}`, c.path || '(root)')),
        h('td', {}, stateBadge(c.state, c.reason)),
        h('td', {}, c.data ?? '—'),
        h('td', {}, c.forget ?? '—'),
        h('td', {}, c.methods.join(', ')),
        h('td', { class: 'num' }, c.seeds.length),
        h('td', {}, c.executor),
        h(
          'td',
          {},
          h(
            'div',
            { class: 'progress', title: `${c.jobs.finished}/${c.jobs.total}` },
            h('div', {
              style: `width:${c.jobs.total ? ((100 * c.jobs.finished) / c.jobs.total).toFixed(1) : 0}%`,
            }),
          ),
          h(
            'span',
            { class: 'note' },
            `${c.jobs.finished}/${c.jobs.total} finished${c.jobs.running ? `, ${c.jobs.running} running` : ''}${c.jobs.failed ? `, ${c.jobs.failed} failed` : ''}`,
          ),
        ),
        h('td', {}, c.hasReport ? link(`/report?path=${q(c.path)}`, 'report') : ''),
      ),
    ),
  );
}

function auditsTable(list: AuditSummary[]): HTMLElement {
  return listTable(
    'audits',
    ['Audit', 'State', 'Attack', 'Data', 'Scenario', 'Shadows', 'Targets', 'Methods'],
    list.map((a) =>
      h(
        'tr',
        { class: 'audit' },
        h('td', { class: 'path' }, a.path),
        h('td', {}, stateBadge(a.state, a.reason)),
        h('td', {}, a.attack ?? '—'),
        h('td', {}, a.data ?? '—'),
        h('td', {}, a.scenario ?? '—'),
        h('td', { class: 'num' }, a.shadows ?? '—'),
        h('td', { class: 'num' }, a.targets ?? '—'),
        h('td', {}, a.methods.join(', ')),
      ),
    ),
  );
}

export function indexPage(initial: { index: ServedIndex }): void {
  const app = document.getElementById('app')!;
  let index = initial.index;
  const render = (): void => {
    const runs = index.runs;
    const uniq = (f: (r: RunSummary) => string | undefined): string[] =>
      [...new Set(runs.map(f).filter((v): v is string => !!v))].sort();
    const count = (s: string): number => runs.filter((r) => r.state === s).length;
    document.getElementById('subtitle')!.textContent =
      `${index.root} · ${runs.length} runs (${['running', 'finished', 'interrupted', 'failed', 'unreadable'].map((s) => `${count(s)} ${s}`).join(', ')}) · ${index.comparisons.length} comparisons · ${index.audits.length} audits`;
    const search = h('input', {
      type: 'search',
      id: 'filter-text',
      placeholder: 'path, method, data…',
      value: filters.text,
      oninput: (e: Event) => {
        filters.text = (e.target as HTMLInputElement).value;
        renderRuns();
      },
    });
    const runsBox = h('div', {});
    const renderRuns = (): void => clear(runsBox, runsTable(runs));
    clear(
      app,
      ...(index.comparisons.length
        ? [h('h2', {}, 'Comparisons'), comparisonsTable(index.comparisons)]
        : []),
      h('h2', {}, 'Runs'),
      h(
        'div',
        { class: 'filters' },
        h('label', {}, 'Search', search),
        select(
          'state',
          'State',
          ['running', 'finished', 'interrupted', 'failed', 'unreadable'],
          renderRuns,
        ),
        select(
          'method',
          'Method',
          uniq((r) => (r.command === 'train' ? 'train' : r.method)),
          renderRuns,
        ),
        select(
          'scenario',
          'Scenario',
          uniq((r) => r.scenario),
          renderRuns,
        ),
        select(
          'precision',
          'Precision',
          uniq((r) => r.precision),
          renderRuns,
        ),
        select(
          'executor',
          'Executor',
          uniq((r) => r.executor ?? 'single run'),
          renderRuns,
        ),
      ),
      runsBox,
      ...(index.audits.length ? [h('h2', {}, 'Membership audits'), auditsTable(index.audits)] : []),
    );
    renderRuns();
  };
  render();
  follow('/api/index/stream', {
    index: (data) => {
      index = data as ServedIndex;
      const focused = document.activeElement?.id;
      render();
      if (focused) (document.getElementById(focused) as HTMLElement | null)?.focus();
    },
  });
}
