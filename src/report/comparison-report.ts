/**
 * The comparison HTML report: one row per method, mean ± std over seeds of every metric, and
 * charts of accuracies against the retrain oracle, MIA, Avg Gap and time.
 */
import type { Comparison, MeanStd } from '../records/metrics.js';
import { OptionError } from '../util/errors.js';
import { chartBox, escapeHtml, renderPage, secondsDigits } from './html.js';

/** What {@link renderComparisonReport} needs. */
export interface ComparisonReportInput {
  /** The comparison's `comparison.json`. */
  comparison: Comparison;
  /** The method that is the retrain oracle; default `'retrain'`. */
  oracleMethod?: string;
  /** Page title; defaults to `Lethe comparison: <data> / <model> / <forget>`. */
  title?: string;
  /** Timestamp in the footer; defaults to now. */
  generatedAt?: Date;
}

/** How a metric is shown and which direction is better. */
export interface MetricInfo {
  label: string;
  /** `fraction`: shown in percent; `seconds`; `ratio`: shown in percent; `score`: 4 decimals. */
  kind: 'fraction' | 'seconds' | 'ratio' | 'score';
  /** `oracle`: closest to the retrain oracle's mean is best. */
  better: 'oracle' | 'lower' | 'higher' | 'none';
  /**
   * Computed once over all of a method's models (the NeurIPS 2023 figures): every seed carries
   * the same value, so it is shown without a spread.
   */
  once?: true;
}

/** Known comparison metrics in display order; other keys follow alphabetically. */
export const METRICS: Readonly<Record<string, MetricInfo>> = {
  'accuracy.forget': { label: 'Forget acc.', kind: 'fraction', better: 'oracle' },
  'accuracy.retain': { label: 'Retain acc.', kind: 'fraction', better: 'oracle' },
  'accuracy.test': { label: 'Test acc.', kind: 'fraction', better: 'oracle' },
  'accuracy.val': { label: 'Val acc.', kind: 'fraction', better: 'oracle' },
  'mia.simple': { label: 'Simple MIA', kind: 'fraction', better: 'oracle' },
  'mia.efficacy': { label: 'MIA-efficacy', kind: 'fraction', better: 'oracle' },
  'gap.forget': { label: 'Gap forget', kind: 'fraction', better: 'lower' },
  'gap.retain': { label: 'Gap retain', kind: 'fraction', better: 'lower' },
  'gap.test': { label: 'Gap test', kind: 'fraction', better: 'lower' },
  'gap.mia': { label: 'Gap MIA', kind: 'fraction', better: 'lower' },
  'gap.avg': { label: 'Avg Gap', kind: 'fraction', better: 'lower' },
  'neurips.forgettingQuality': { label: 'NeurIPS F', kind: 'score', better: 'higher', once: true },
  'neurips.score': { label: 'NeurIPS score', kind: 'score', better: 'higher', once: true },
  'neurips.retainRatio': { label: 'RA_U / RA_R', kind: 'score', better: 'none', once: true },
  'neurips.testRatio': { label: 'TA_U / TA_R', kind: 'score', better: 'none', once: true },
  seconds: { label: 'Time', kind: 'seconds', better: 'lower' },
  timeRatio: { label: 'Time / retrain', kind: 'ratio', better: 'lower' },
};

/** The display info for a metric key; unknown keys get a generic entry. */
export function metricInfo(key: string): MetricInfo {
  return METRICS[key] ?? { label: key, kind: 'score', better: 'none' };
}

function unit(info: MetricInfo): string {
  return info.kind === 'fraction' || info.kind === 'ratio'
    ? '%'
    : info.kind === 'seconds'
      ? 's'
      : '';
}

/**
 * Formats a mean ± std for the table: fractions and ratios in percent with 2 decimals
 * (`87.65 ± 1.23`), seconds with 0–2 decimals by size (`12.3 ± 0.4`), scores with 4 decimals.
 * The unit sits in the column header. A non-finite std (a single seed), or a figure computed once
 * over all models ({@link MetricInfo.once}), shows the mean alone.
 */
export function formatMeanStd(key: string, ms: MeanStd): string {
  const info = metricInfo(key);
  let scale = 1;
  let digits = 4;
  if (info.kind === 'fraction' || info.kind === 'ratio') {
    scale = 100;
    digits = 2;
  } else if (info.kind === 'seconds') {
    digits = secondsDigits(ms.mean);
  } else if (info.kind === 'score' && !(key in METRICS)) {
    digits = Math.abs(ms.mean) >= 100 ? 1 : 4;
  }
  const f = (x: number): string =>
    Number.isFinite(x) ? (x * scale).toFixed(digits).replace(/^-/, '−') : '—';
  return Number.isFinite(ms.std) && !info.once ? `${f(ms.mean)} ± ${f(ms.std)}` : f(ms.mean);
}

/** {@link formatMeanStd} as table-cell HTML, the ± part set smaller so wide tables still fit. */
function meanStdCell(key: string, ms: MeanStd): string {
  const [mean, std] = formatMeanStd(key, ms).split(' ± ');
  return std === undefined ? mean : `${mean} <span class="std">± ${std}</span>`;
}

function validate(input: ComparisonReportInput): void {
  const c = input?.comparison as Partial<Comparison> | undefined;
  if (c === null || typeof c !== 'object') {
    throw new OptionError(
      `Expected an object for comparison but received ${c === null ? 'null' : typeof c}`,
    );
  }
  if (!Array.isArray(c.entries)) {
    throw new OptionError(
      `Expected an array for comparison.entries but received ${c.entries === null ? 'null' : typeof c.entries}`,
    );
  }
  c.entries.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof e.method !== 'string') {
      throw new OptionError(
        `Expected a string for comparison.entries[${i}].method but received ${e === null || typeof e !== 'object' ? String(e) : typeof e.method}`,
      );
    }
    if (e.metrics === null || typeof e.metrics !== 'object') {
      throw new OptionError(
        `Expected an object for comparison.entries[${i}].metrics but received ${e.metrics === null ? 'null' : typeof e.metrics}`,
      );
    }
  });
}

/** Metric keys present in any entry: known ones in {@link METRICS} order, then the rest sorted. */
export function metricKeys(comparison: Comparison): string[] {
  const present = new Set<string>();
  for (const e of comparison.entries) for (const k of Object.keys(e.metrics)) present.add(k);
  const known = Object.keys(METRICS).filter((k) => present.has(k));
  const other = [...present].filter((k) => !(k in METRICS)).sort();
  return [...known, ...other];
}

/** For each metric with a direction, the method judged best (ties: the first); oracle excluded. */
function bestMethods(
  comparison: Comparison,
  keys: string[],
  oracle: string | undefined,
): Map<string, string> {
  const best = new Map<string, string>();
  const oracleEntry = comparison.entries.find((e) => e.method === oracle);
  const rivals = comparison.entries.filter((e) => e.method !== oracle);
  if (rivals.length < 2) return best;
  for (const key of keys) {
    const info = metricInfo(key);
    let cost: ((m: number) => number) | undefined;
    if (info.better === 'lower') cost = (m) => m;
    else if (info.better === 'higher') cost = (m) => -m;
    else if (info.better === 'oracle') {
      const target = oracleEntry?.metrics[key]?.mean;
      if (target !== undefined && Number.isFinite(target)) cost = (m) => Math.abs(m - target);
    }
    if (!cost) continue;
    let bestCost = Infinity;
    let who: string | undefined;
    for (const e of rivals) {
      const m = e.metrics[key]?.mean;
      if (m === undefined || !Number.isFinite(m)) continue;
      const c = cost(m);
      if (c < bestCost) {
        bestCost = c;
        who = e.method;
      }
    }
    if (who !== undefined) best.set(key, who);
  }
  return best;
}

function betterHint(info: MetricInfo): string {
  switch (info.better) {
    case 'oracle':
      return 'closest to the oracle is best';
    case 'lower':
      return 'lower is better';
    case 'higher':
      return 'higher is better';
    default:
      return '';
  }
}

/** Each method's verdict against the oracle (the rule of src/eval/verdict.ts, on the means). */
function verdictSection(comparison: Comparison, oracle: string | undefined): string {
  const judged = comparison.entries.filter((e) => e.method !== oracle && e.verdict);
  if (judged.length === 0) return '';
  const items = judged
    .map(
      (e) =>
        `<li data-method="${escapeHtml(e.method)}" data-outcomes="${escapeHtml(e.verdict!.outcomes.join(' '))}"><code>${escapeHtml(e.method)}</code>: ${escapeHtml(e.verdict!.label)}</li>`,
    )
    .join('\n');
  const m = judged[0].verdict!.margins;
  return `<section id="verdicts"><h2>Verdict against the retrain oracle</h2><ul class="verdicts">
${items}
</ul><p class="note">On the mean over seeds. <em>Damaged the model</em>: retain or test accuracy more than ${(m.damage * 100).toFixed(0)} points below the oracle's; <em>over-forgot</em>: forget accuracy more than ${(m.forget * 100).toFixed(0)} points below the oracle's or MIA-efficacy more than ${(m.mia * 100).toFixed(0)} points above; <em>under-forgot</em> the other way; <em>forgot like retraining</em> only when none holds.</p></section>`;
}

/**
 * Renders a comparison of methods as a single self-contained HTML page: a table of mean ± std
 * over seeds for every metric, with the retrain oracle's row set apart and the best method per
 * metric in bold, and charts of accuracies vs the oracle, MIA, Avg Gap and time. The comparison
 * is embedded as JSON in `<script type="application/json" id="lethe-data">`.
 *
 * @example
 * const html = renderComparisonReport({ comparison: JSON.parse(await readFile('comparison.json', 'utf8')) });
 */
export function renderComparisonReport(input: ComparisonReportInput): string {
  validate(input);
  const { comparison } = input;
  const oracleName = input.oracleMethod ?? 'retrain';
  const hasOracle = comparison.entries.some((e) => e.method === oracleName);
  const oracle = hasOracle ? oracleName : undefined;
  const keys = metricKeys(comparison);
  const best = bestMethods(comparison, keys, oracle);
  const title =
    input.title ??
    `Lethe comparison: ${[comparison.data, comparison.model, comparison.forget].filter(Boolean).join(' / ')}`;

  // The oracle row first: every other row is read against it.
  const entries = [...comparison.entries].sort(
    (a, b) => Number(b.method === oracle) - Number(a.method === oracle),
  );

  const head = keys
    .map((k) => {
      const info = metricInfo(k);
      const u = unit(info);
      const hint = betterHint(info);
      return `<th class="num" data-key="${escapeHtml(k)}"${hint ? ` title="${hint}"` : ''}>${escapeHtml(info.label)}${u ? ` <span class="muted">(${u})</span>` : ''}</th>`;
    })
    .join('');
  const rows = entries
    .map((e) => {
      const isOracle = e.method === oracle;
      const cells = keys
        .map((k) => {
          const ms = e.metrics[k];
          if (!ms) return '<td class="num muted">—</td>';
          const isBest = best.get(k) === e.method;
          return `<td class="num${isBest ? ' best' : ''}" data-key="${escapeHtml(k)}"${isBest ? ` title="best: ${betterHint(metricInfo(k))}"` : ''}>${meanStdCell(k, ms)}</td>`;
        })
        .join('');
      const seeds = e.seeds?.length ?? 0;
      return `<tr class="${isOracle ? 'oracle' : ''}" data-method="${escapeHtml(e.method)}"><th scope="row"><code>${escapeHtml(e.method)}</code>${isOracle ? ' <span class="muted">(oracle)</span>' : ''}</th><td class="num">${seeds}</td>${cells}</tr>`;
    })
    .join('\n');

  const has = (k: string): boolean => keys.includes(k);
  const charts: string[] = [];
  if (has('accuracy.forget') || has('accuracy.retain') || has('accuracy.test')) {
    charts.push(
      `<div>${chartBox('chart-accuracy', 'Accuracy per method against the retrain oracle', { note: oracle ? `Grey: the retrain oracle (<code>${escapeHtml(oracle)}</code>). A good method matches it; it does not drive forget accuracy to zero.` : 'No retrain oracle in this comparison.' })}</div>`,
    );
  }
  if (has('mia.simple') || has('mia.efficacy')) {
    charts.push(
      `<div>${chartBox('chart-mia', 'Membership inference per method', { note: 'Simple MIA (NeurIPS 2023 kit, loss feature, D_f vs test): ideal ≈ 0.5, dashed. MIA-efficacy (confidence feature, trained D_r vs test): fraction of D_f predicted non-member; compare with the oracle.' })}</div>`,
    );
  }
  if (has('gap.avg')) {
    charts.push(
      `<div>${chartBox('chart-gap', 'Avg Gap to the retrain oracle per method', { note: 'Mean absolute gap to the oracle in forget, retain, test accuracy and MIA; lower is better.' })}</div>`,
    );
  }
  if (has('seconds')) {
    charts.push(
      `<div>${chartBox('chart-time', 'Wall time per method', { note: 'Unlearning wall time, metric computation excluded.' })}</div>`,
    );
  }

  const subtitle = [
    comparison.data ? `data <code>${escapeHtml(comparison.data)}</code>` : '',
    comparison.model ? `model <code>${escapeHtml(comparison.model)}</code>` : '',
    comparison.forget ? `forget <code>${escapeHtml(comparison.forget)}</code>` : '',
    `${comparison.entries.length} method${comparison.entries.length === 1 ? '' : 's'}`,
  ]
    .filter(Boolean)
    .join(' · ');

  const body = `<section id="table"><h2>Mean ± std over seeds</h2>
<div class="scroll"><table class="comparison"><thead><tr><th>Method</th><th class="num">Seeds</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></div>
<p class="note">Eval-mode accuracies on full sets; sample standard deviation over seeds.${oracle ? ` The first row is the retrain oracle; bold marks the best other method per column (closest to the oracle for accuracies and MIA, lowest gap and time, highest NeurIPS score).` : ` No retrain oracle (<code>${escapeHtml(oracleName)}</code>) in this comparison, so gaps cannot be judged against it.`}</p>
</section>
${verdictSection(comparison, oracle)}
${charts.length > 0 ? `<section id="charts"><h2>Charts</h2><div class="grid2">${charts.join('\n')}</div><p class="note">Error bars: ± one standard deviation over seeds.</p></section>` : ''}`;

  return renderPage({
    title,
    subtitleHtml: subtitle,
    bodyHtml: body,
    data: { kind: 'comparison', title, comparison, oracleMethod: oracle ?? null, metricKeys: keys },
    generatedAt: input.generatedAt ?? new Date(),
  });
}
