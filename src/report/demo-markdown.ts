/**
 * The demo's table (`lethe demo`'s "Did it forget?") as Markdown, for the README: one row per
 * model, with the digits the CLI prints, so that a fresh run of the demo can be read against it.
 */
import type { Accuracies, RunMetrics } from '../records/metrics.js';
import { oracleSidesText } from './analysis.js';

export interface DemoTable {
  /** The retrain oracle's own metrics (after evaluation: with its MIA). */
  oracle: RunMetrics;
  /** The unlearning runs in the demo's order (the method, then the baselines), evaluated. */
  runs: { name: string; metrics: RunMetrics }[];
}

const pct = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–';
const fixed = (v: number | null | undefined, digits: number): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';

export function renderDemoMarkdown(table: DemoTable): string {
  const row = (name: string, a: Partial<Accuracies>, rest: (string | number)[]): string =>
    `| ${[name, pct(a.forget), pct(a.retain), pct(a.test), pct(a.val), ...rest].join(' | ')} |`;
  const original = table.runs[0]?.metrics.original;
  const lines = [
    '| model | forget | retain | test | val | simple MIA | MIA-efficacy | Avg Gap | against the oracle | time (s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...(original ? [row('original', original, ['–', '–', '–', '', '–'])] : []),
    row('retrain oracle', table.oracle.accuracy, [
      fixed(table.oracle.mia?.simple, 3),
      fixed(table.oracle.mia?.efficacy, 3),
      '–',
      'the target',
      fixed(table.oracle.seconds, 1),
    ]),
    ...table.runs.map(({ name, metrics: m }) =>
      row(name, m.accuracy, [
        fixed(m.mia?.simple, 3),
        fixed(m.mia?.efficacy, 3),
        fixed(m.gap?.avg, 3),
        oracleSidesText(m),
        fixed(m.seconds, 1),
      ]),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
