/**
 * A comparison as a Markdown table (`comparison.md`), for READMEs, issues and papers: one row per
 * method, mean ± std over the seeds, in the units of the HTML report.
 */
import type { Comparison } from '../records/metrics.js';
import { formatMeanStd, metricInfo, metricKeys } from './comparison-report.js';

/** The columns of the Markdown table, in order, where any entry has them. */
export const MARKDOWN_COLUMNS: readonly string[] = [
  'accuracy.forget',
  'accuracy.retain',
  'accuracy.test',
  'accuracy.val',
  'mia.simple',
  'mia.efficacy',
  'gap.avg',
  'neurips.forgettingQuality',
  'neurips.score',
  'seconds',
  'timeRatio',
];

function header(key: string): string {
  const info = metricInfo(key);
  const unit =
    info.kind === 'fraction' || info.kind === 'ratio'
      ? ' (%)'
      : info.kind === 'seconds'
        ? ' (s)'
        : '';
  return `${info.label}${unit}`;
}

export function renderComparisonMarkdown(
  comparison: Comparison,
  columns: readonly string[] = MARKDOWN_COLUMNS,
): string {
  const present = new Set(metricKeys(comparison));
  const keys = columns.filter((k) => present.has(k));
  const seeds = [...new Set(comparison.entries.flatMap((e) => e.seeds))].sort((a, b) => a - b);
  const verdicts = comparison.entries.some((e) => e.verdict);
  const lines = [
    `Forget ${comparison.forget} on ${comparison.data} (${comparison.model}); mean ± std over seeds ${seeds.join(', ')}.`,
    '',
    `| method | ${keys.map(header).join(' | ')} |${verdicts ? ' verdict (means vs the oracle) |' : ''}`,
    `|---|${keys.map(() => '---:').join('|')}|${verdicts ? '---|' : ''}`,
    ...comparison.entries.map(
      (e) =>
        `| ${e.method} | ${keys.map((k) => (e.metrics[k] ? formatMeanStd(k, e.metrics[k]) : '–')).join(' | ')} |${verdicts ? ` ${e.verdict?.label ?? (e.method === 'retrain' ? 'the target' : '–')} |` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
