/**
 * A comparison, live: its plan's jobs and their states, the mean ± std table filling in as runs
 * finish, a chart of the accuracies, and the verdict against the oracle once it is complete.
 */
import type { ComparisonEntry } from '../../records/metrics.js';
import type { ComparisonDetail } from '../comparison.js';
import { barChart, chartBox, COLORS } from './charts.js';
import { clear, duration, follow, h, link, q, stateBadge } from './dom.js';

const COLUMNS: { key: string; label: string; kind: 'pct' | 'num' | 's' }[] = [
  { key: 'accuracy.forget', label: 'Forget', kind: 'pct' },
  { key: 'accuracy.retain', label: 'Retain', kind: 'pct' },
  { key: 'accuracy.test', label: 'Test', kind: 'pct' },
  { key: 'mia.simple', label: 'MIA', kind: 'num' },
  { key: 'mia.efficacy', label: 'MIA-eff.', kind: 'pct' },
  { key: 'gap.avg', label: 'Avg Gap', kind: 'num' },
  { key: 'seconds', label: 'Time', kind: 's' },
];

function cell(e: ComparisonEntry, key: string, kind: string): HTMLElement {
  const ms = e.metrics[key];
  if (!ms) return h('td', { class: 'num muted' }, '—');
  const f = (x: number): string =>
    kind === 'pct' ? `${(x * 100).toFixed(2)}` : kind === 's' ? duration(x) : x.toFixed(3);
  return h(
    'td',
    { class: 'num', 'data-key': key },
    f(ms.mean),
    h('span', { class: 'std' }, ms.n > 1 ? `± ${f(ms.std)}` : `n = ${ms.n}`),
  );
}

export function comparisonPage(initial: {
  comparison: ComparisonDetail | null;
  path: string;
}): void {
  const app = document.getElementById('app')!;
  const status = h('div', { id: 'status' });
  const verdict = h('div', { id: 'verdict' });
  const table = h('div', { id: 'table' });
  const jobs = h('div', { id: 'jobs' });
  const acc = chartBox('chart-accuracy', 'Accuracy per method (mean over finished seeds)');
  clear(
    app,
    status,
    verdict,
    h('h2', {}, 'Mean ± std over seeds'),
    table,
    acc.box,
    h('h2', {}, 'Jobs'),
    jobs,
  );
  let chart: ReturnType<typeof barChart> | null = null;

  const render = (d: ComparisonDetail | null): void => {
    if (!d) {
      clear(
        status,
        h(
          'div',
          { class: 'callout' },
          h('strong', {}, 'Not a comparison'),
          `${initial.path} holds no comparison.`,
        ),
      );
      return;
    }
    const s = d.summary;
    document.getElementById('subtitle')!.textContent = [
      s.data,
      s.model,
      s.forget && `forget ${s.forget}`,
      `${s.seeds.length} seeds`,
      `executor ${s.executor}`,
    ]
      .filter(Boolean)
      .join(' · ');
    clear(
      status,
      h(
        'p',
        {},
        stateBadge(s.state, s.reason),
        ` ${s.jobs.finished} of ${s.jobs.total} runs finished`,
        s.jobs.running ? `, ${s.jobs.running} running` : '',
        s.jobs.failed ? `, ${s.jobs.failed} failed` : '',
        s.hasReport ? [' · ', link(`/report?path=${q(s.path)}`, 'report')] : null,
      ),
      h(
        'div',
        { class: 'progress' },
        h('div', {
          style: `width:${s.jobs.total ? ((100 * s.jobs.finished) / s.jobs.total).toFixed(1) : 0}%`,
        }),
      ),
    );
    clear(
      verdict,
      ...(d.complete && d.verdict.length
        ? [
            h(
              'div',
              { class: 'callout info verdict', id: 'verdict-box' },
              h('strong', {}, 'Verdict against retraining'),
              d.verdict.map((v) => h('div', {}, v)),
            ),
          ]
        : d.complete
          ? []
          : [
              h(
                'p',
                { class: 'note' },
                'The verdict comes once every job has finished and the comparison is collected.',
              ),
            ]),
    );
    const keys = COLUMNS.filter((c) => d.table.some((e) => e.metrics[c.key]));
    clear(
      table,
      d.table.length
        ? h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { class: 'comparison', id: 'mean-std' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', {}, 'Method'),
                  h('th', { class: 'num' }, 'Seeds'),
                  keys.map((c) =>
                    h('th', { class: 'num' }, c.label + (c.kind === 'pct' ? ' %' : '')),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                d.table.map((e) =>
                  h(
                    'tr',
                    { class: e.method === 'retrain' ? 'oracle' : '', 'data-method': e.method },
                    h(
                      'th',
                      { scope: 'row' },
                      h('code', {}, e.method),
                      e.method === 'retrain' ? h('span', { class: 'muted' }, ' (oracle)') : null,
                    ),
                    h('td', { class: 'num' }, e.seeds.length),
                    keys.map((c) => cell(e, c.key, c.kind)),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No run has finished yet.'),
    );
    const labels = d.table.map((e) => e.method);
    const series = (['forget', 'retain', 'test'] as const).map((k) => ({
      label: k,
      color: COLORS[k],
      data: d.table.map((e) => e.metrics[`accuracy.${k}`]?.mean ?? null),
    }));
    if (!chart) chart = barChart(acc.canvas, labels, series, 'accuracy');
    else {
      chart.data.labels = labels;
      series.forEach((s2, i) => (chart!.data.datasets[i].data = s2.data));
      chart.update('none');
    }
    clear(
      jobs,
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'list', id: 'job-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Job', 'Method', 'Seed', 'State', 'Host'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            d.jobs.map((j) =>
              h(
                'tr',
                { class: 'job', 'data-state': j.state, 'data-id': j.id },
                h('td', { class: 'path' }, j.path ? link(`/run?path=${q(j.path)}`, j.id) : j.id),
                h('td', {}, j.method),
                h('td', { class: 'num' }, j.seed ?? ''),
                h('td', {}, stateBadge(j.state, j.error)),
                h('td', {}, j.host ?? ''),
              ),
            ),
          ),
        ),
      ),
      ...(d.failed.length
        ? [
            h(
              'p',
              { class: 'note' },
              `Failed: ${d.failed.map((f) => `${f.job}: ${f.error}`).join('; ')}`,
            ),
          ]
        : []),
    );
  };
  render(initial.comparison);
  follow(`/api/comparison/stream?path=${q(initial.path)}`, {
    comparison: (data) => {
      if (data && typeof data === 'object' && 'summary' in data) render(data as ComparisonDetail);
    },
  });
}
