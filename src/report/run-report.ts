/**
 * The single-run HTML report: headline accuracies against the original model, the seed's
 * training-batch curves, eval-mode accuracy per epoch, per-class accuracy, "Did it forget?" and
 * the run's settings.
 */
import type { Accuracies, PerClass, RunMetrics, StepRecord } from '../records/metrics.js';
import { VERDICT_MARGINS } from '../eval/verdict.js';
import { OptionError } from '../util/errors.js';
import {
  type AccuracyDisagreement,
  DISAGREEMENT_DEFAULTS,
  findAccuracyDisagreements,
  movingAverage,
  readForgetGap,
  oracleSidesText,
  CLOSE_TO_ORACLE,
  MIA_EFFICACY_CLOSE,
  smoothingWindow,
  unlearningVerdict,
  verdictOf,
} from './analysis.js';
import {
  chartBox,
  configTable,
  escapeHtml,
  formatFixed,
  formatPercent,
  formatPoints,
  formatSeconds,
  renderPage,
} from './html.js';

/** What {@link renderRunReport} needs. */
export interface RunReportInput {
  /** The run's `metrics.json`. */
  metrics: RunMetrics;
  /** The run's resolved settings, shown as a table (nested objects become dotted keys). */
  config: Record<string, unknown>;
  /** Class names by class id, used as per-class chart labels; `class <id>` where absent. */
  classNames?: string[];
  /** Page title; defaults to `Lethe run: <method>`. */
  title?: string;
  /**
   * The retrain oracle's accuracies, when known. Only sharpens the verdict: `metrics.gap` holds
   * absolute gaps, so without this the side of the forget gap is inferred.
   */
  oracle?: Accuracies;
  /**
   * Other runs of the same split evaluated against the same oracle (the demo's baselines), shown
   * next to this one with the side of the oracle each fell on.
   */
  peers?: RunMetrics[];
  /** Timestamp in the footer; defaults to now. */
  generatedAt?: Date;
}

/** The JSON embedded in a run report as `<script type="application/json" id="lethe-data">`. */
export interface RunReportData {
  kind: 'run';
  title: string;
  metrics: RunMetrics;
  config: Record<string, unknown>;
  classNames: string[];
  oracle: Accuracies | null;
  derived: {
    /** Trailing moving-average window over steps; 1 = no smoothing drawn. */
    smoothingWindow: number;
    smoothed: { facc: (number | null)[]; racc: (number | null)[]; loss: (number | null)[] };
    disagreements: AccuracyDisagreement[];
  };
}

function expectNumber(v: unknown, name: string): void {
  if (typeof v !== 'number') {
    throw new OptionError(`Expected a number for ${name} but received ${describe(v)}`);
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Checks the parts of {@link RunMetrics} that the report cannot do without. */
function validate(input: RunReportInput): void {
  if (input === null || typeof input !== 'object') {
    throw new OptionError(
      `Expected an object for the run report input but received ${describe(input)}`,
    );
  }
  const m = input.metrics as Partial<RunMetrics> | undefined;
  if (m === null || typeof m !== 'object') {
    throw new OptionError(`Expected an object for metrics but received ${describe(m)}`);
  }
  if (typeof m.method !== 'string') {
    throw new OptionError(
      `Expected a string for metrics.method but received ${describe(m.method)}`,
    );
  }
  if (m.accuracy === null || typeof m.accuracy !== 'object') {
    throw new OptionError(
      `Expected an object for metrics.accuracy but received ${describe(m.accuracy)}`,
    );
  }
  for (const k of ['forget', 'retain', 'test'] as const) {
    // A training run has no forget set: its forget accuracy is recorded as null.
    if (k === 'forget' && m.method === 'train' && m.accuracy.forget === null) continue;
    expectNumber(m.accuracy[k], `metrics.accuracy.${k}`);
  }
  if (m.history === null || typeof m.history !== 'object') {
    throw new OptionError(
      `Expected an object for metrics.history but received ${describe(m.history)}`,
    );
  }
  for (const k of ['steps', 'epochs'] as const) {
    if (!Array.isArray(m.history[k])) {
      throw new OptionError(
        `Expected an array for metrics.history.${k} but received ${describe(m.history[k])}`,
      );
    }
  }
  if (input.config === null || typeof input.config !== 'object' || Array.isArray(input.config)) {
    throw new OptionError(`Expected an object for config but received ${describe(input.config)}`);
  }
  if (input.classNames !== undefined && !Array.isArray(input.classNames)) {
    throw new OptionError(
      `Expected an array of strings for classNames but received ${describe(input.classNames)}`,
    );
  }
}

type SetKey = 'forget' | 'retain' | 'test' | 'val';
const SET_LABEL: Record<SetKey, string> = {
  forget: 'Forget (D_f)',
  retain: 'Retain (D_r)',
  test: 'Test',
  val: 'Val',
};

function headlineCards(metrics: RunMetrics): string {
  const keys: SetKey[] = ['forget', 'retain', 'test'];
  if (metrics.accuracy.val !== undefined) keys.push('val');
  const cards = keys.map((k) => {
    const v = metrics.accuracy[k];
    const o = metrics.original?.[k];
    let sub = '<span class="muted">original model not recorded</span>';
    if (o !== undefined) {
      const d = (v ?? NaN) - o;
      // Lower forget accuracy is the aim, not a loss, so only retain/test/val drops are coloured.
      const cls = k === 'forget' || Math.abs(d) < 0.005 ? 'neutral' : d < 0 ? 'down' : 'up';
      sub = `original ${formatPercent(o)} · <span class="delta ${cls}">${formatPoints(d)}</span>`;
    }
    return `<div class="card ${k}" data-set="${k}"><div class="label">${SET_LABEL[k]}</div><div class="value">${formatPercent(v)}</div><div class="sub">${sub}</div></div>`;
  });
  return `<div class="cards">${cards.join('')}</div>`;
}

function disagreementCallout(ds: AccuracyDisagreement[]): string {
  if (ds.length === 0) return '';
  const lines = ds.map((d) => {
    const name = d.set === 'forget' ? 'facc' : 'racc';
    const direction = d.difference < 0 ? 'below' : 'above';
    return `<li>Over the last ${d.tailSteps} step${d.tailSteps === 1 ? '' : 's'}, mean training-batch ${d.set} accuracy (<code>${name}</code>) was ${formatPercent(d.trainBatchMean, 1)}, ${formatPoints(Math.abs(d.difference)).replace(/^[+−±]/, '')} ${direction} the finished model's eval-mode accuracy on the full ${d.set} set (${formatPercent(d.evalAccuracy, 1)}).</li>`;
  });
  return `<div class="callout" id="disagreement" role="note"><strong>Training-batch accuracy and eval-mode accuracy disagree.</strong>
<ul>${lines.join('')}</ul>
<p><code>facc</code>/<code>racc</code> are measured on one batch at a time, on the student in train mode, before each update: batch normalisation uses that batch's own statistics, so a batch made only of forget images is normalised differently from how the deployed model sees them. The eval-mode numbers use the model as it will be used (running batch-norm statistics, whole sets). <strong>To decide "has it forgotten?", trust the eval-mode forget accuracy</strong> — and compare it with the retrain oracle's, not with zero.</p></div>`;
}

/** A trained original's memorization, and a warning when it missed its scenario's target. */
function memorizationSection(metrics: RunMetrics): string {
  const m = metrics.memorization;
  if (!m) return '';
  const target = m.target
    ? ` The scenario asks for train accuracy ≥ ${formatPercent(m.target.minTrainAccuracy, 1)} and a gap ≥ ${formatPercent(m.target.minGap, 1)}.`
    : '';
  const body = `Train accuracy ${formatPercent(m.train, 1)}, test accuracy ${formatPercent(m.test, 1)}: a memorization gap of ${(m.gap * 100).toFixed(1)} pp.${target}`;
  if (m.reached === false)
    return `<section id="memorization"><h2>Memorization</h2><div class="callout" id="memorization-warning" role="note"><strong>The original did not reach its scenario's memorization target.</strong> ${escapeHtml(body)} A random forget set of a model that did not memorize has little to forget: a retrained model gets it about as right as the original.</div></section>`;
  return `<section id="memorization"><h2>Memorization</h2><p>${escapeHtml(body)}${m.reached ? ' Target reached.' : ''} A model retrained without part of its training set gets that part about test-accuracy right; the gap is what unlearning has to remove.</p></section>`;
}

/** This run next to the others evaluated against the same oracle, with the side each fell on. */
function peersSection(metrics: RunMetrics, peers: RunMetrics[]): string {
  if (peers.length === 0 || !metrics.oracle) return '';
  const o = metrics.oracle;
  const cells = (m: RunMetrics): string =>
    [m.accuracy.forget, m.accuracy.retain, m.accuracy.test]
      .map((v) => `<td class="num">${formatPercent(v, 1)}</td>`)
      .join('') +
    `<td class="num">${m.mia ? formatPercent(m.mia.efficacy, 1) : '–'}</td><td class="num">${m.gap ? formatPercent(m.gap.avg, 2) : '–'}</td>`;
  const row = (m: RunMetrics, label: string): string =>
    `<tr><th scope="row">${escapeHtml(label)}</th>${cells(m)}<td>${escapeHtml(oracleSidesText(m))}</td></tr>`;
  const oracleRow = `<tr class="oracle"><th scope="row">retrain oracle</th>${[o.accuracy.forget, o.accuracy.retain, o.accuracy.test].map((v) => `<td class="num">${formatPercent(v, 1)}</td>`).join('')}<td class="num">${formatPercent(o.mia.efficacy, 1)}</td><td class="num">–</td><td>the target</td></tr>`;
  return `<section id="peers"><h2>Next to the baselines</h2><table class="peers"><thead><tr><th>model</th><th class="num">forget</th><th class="num">retain</th><th class="num">test</th><th class="num">MIA-efficacy</th><th class="num">Avg Gap</th><th>against the oracle</th></tr></thead><tbody>
${oracleRow}
${row(metrics, `${metrics.method} (this run)`)}
${peers.map((p) => row(p, p.method)).join('\n')}
</tbody></table><p class="note">Eval-mode accuracies on the full sets. The verdict's rule: a method <em>damaged the model</em> when its retain or test accuracy is more than ${formatPercent(VERDICT_MARGINS.damage, 0)} below the oracle's; it <em>over-forgot</em> when its forget accuracy is more than ${formatPercent(CLOSE_TO_ORACLE, 0)} below the oracle's or its MIA-efficacy more than ${formatPercent(MIA_EFFICACY_CLOSE, 0)} above, <em>under-forgot</em> the other way, and <em>forgot like retraining</em> only when none of these holds.</p></section>`;
}

function didItForget(input: RunReportInput): string {
  const { metrics, oracle } = input;
  const { mia, gap, neurips, timeRatio } = metrics;
  if (!mia && !gap && !neurips && timeRatio === undefined) return '';
  const parts: string[] = ['<section id="did-it-forget"><h2>Did it forget?</h2>'];
  const verdict = unlearningVerdict(metrics, oracle);
  const rule = verdictOf(metrics, oracle);
  if (verdict)
    parts.push(
      `<div class="callout info verdict" id="verdict"${rule ? ` data-outcomes="${escapeHtml(rule.outcomes.join(' '))}"` : ''}><strong>Verdict${rule ? `: ${escapeHtml(rule.label)}` : ''}</strong>${escapeHtml(verdict)}</div>`,
    );
  parts.push('<div class="grid2">');

  if (mia) {
    parts.push(`<div><h3>Membership inference</h3><dl class="facts">
<dt>Simple MIA</dt><dd><strong>${formatFixed(mia.simple, 3)}</strong> <span class="muted">(ideal ≈ 0.5)</span></dd>
<dt>MIA-efficacy</dt><dd><strong>${formatPercent(mia.efficacy, 1)}</strong> <span class="muted">of D_f predicted non-member</span></dd>
</dl>
<p class="note"><strong>Simple MIA</strong> is the NeurIPS 2023 starting kit's attack: logistic regression on the per-sample cross-entropy loss, D_f (member) against test (non-member), class-balanced, mean held-out accuracy over 10 splits. About 0.5 — what a retrained model scores — means D_f looks like unseen data; well above 0.5 means the attack can pick D_f out.</p>
<p class="note"><strong>MIA-efficacy</strong> (SalUn / Unlearn-Sparse) trains a classifier on the confidence feature (probability of the true class) with D_r as members and test as non-members, then reports the fraction of D_f it predicts non-member. Higher means more forgotten; compare it with the oracle's value, not with 100%.</p></div>`);
  }

  if (gap) {
    const rows: [string, number][] = [
      ['Forget accuracy', gap.forget],
      ['Retain accuracy', gap.retain],
      ['Test accuracy', gap.test],
      ['MIA', gap.mia],
    ];
    const reading = readForgetGap(metrics, oracle);
    const side = reading
      ? reading.direction === 'close'
        ? 'close to the oracle'
        : `${reading.direction === 'over' ? 'below' : 'above'} the oracle${reading.inferred ? ' (side inferred)' : ''}`
      : '';
    parts.push(`<div><h3>Gap to the retrain oracle</h3><table class="gaps"><thead><tr><th>|unlearned − retrained|</th><th class="num">gap</th></tr></thead><tbody>
${rows.map(([l, v]) => `<tr><th scope="row">${l}${l === 'Forget accuracy' && side ? ` <span class="muted">— ${side}</span>` : ''}</th><td class="num">${formatPercent(v)}</td></tr>`).join('\n')}
<tr><th scope="row"><strong>Avg Gap</strong></th><td class="num"><strong>${formatPercent(gap.avg)}</strong></td></tr>
</tbody></table><p class="note">Absolute differences from a model retrained from scratch on D_r only, and their mean (SalUn's Avg Gap; lower is better). A good unlearned model is close to the oracle, not at zero forget accuracy.</p></div>`);
  }

  if (neurips) {
    parts.push(`<div><h3>NeurIPS 2023 challenge metric</h3><dl class="facts">
<dt>Forgetting quality F</dt><dd><strong>${formatFixed(neurips.forgettingQuality, 4)}</strong></dd>
<dt>Score</dt><dd><strong>${formatFixed(neurips.score, 4)}</strong></dd>
<dt>RA_U / RA_R</dt><dd>${formatFixed(neurips.retainRatio, 4)}</dd>
<dt>TA_U / TA_R</dt><dd>${formatFixed(neurips.testRatio, 4)}</dd>
<dt>Models</dt><dd>${neurips.n} unlearned + ${neurips.n} retrained</dd>
</dl><p class="note">F is 1 when no threshold attack on the forget examples' logit-scaled confidences can tell the unlearned models from retrained ones, 0 when every example is told apart. Score = F × (RA_U / RA_R) × (TA_U / TA_R).</p></div>`);
  }

  if (timeRatio !== undefined || gap || mia) {
    parts.push(`<div><h3>Cost</h3><dl class="facts">
<dt>Unlearning time</dt><dd>${formatSeconds(metrics.seconds)}</dd>
${timeRatio !== undefined ? `<dt>Of retrain time</dt><dd>${formatPercent(timeRatio, 1)}</dd>` : ''}
</dl><p class="note">Wall time of the unlearning run alone, metric computation excluded. The NeurIPS 2023 challenge rejected methods slower than about 20% of retraining.</p></div>`);
  }
  parts.push('</div></section>');
  return parts.join('\n');
}

function classLabels(perClass: RunMetrics['perClass'], names: string[] | undefined): string[] {
  const lists: (PerClass | undefined)[] = perClass
    ? [perClass.test, perClass.forget, perClass.originalTest, perClass.originalForget]
    : [];
  const n = Math.max(names?.length ?? 0, ...lists.map((l) => l?.length ?? 0));
  return Array.from({ length: n }, (_, i) => names?.[i] ?? `class ${i}`);
}

function perClassTable(perClass: NonNullable<RunMetrics['perClass']>, labels: string[]): string {
  const cols: [string, PerClass | undefined][] = [
    ['Test', perClass.test],
    ['Test (original)', perClass.originalTest],
    ['Forget', perClass.forget],
    ['Forget (original)', perClass.originalForget],
  ];
  const present = cols.filter(([, v]) => v !== undefined);
  const head = present.map(([l]) => `<th class="num">${l}</th>`).join('');
  const body = labels
    .map(
      (name, i) =>
        `<tr><th scope="row">${escapeHtml(name)}</th>${present.map(([, v]) => `<td class="num">${formatPercent(v?.[i] ?? null, 1)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<details><summary>Per-class numbers</summary><div class="scroll"><table class="per-class"><thead><tr><th>Class</th>${head}</tr></thead><tbody>
${body}
</tbody></table></div></details>`;
}

/** Smoothed curves are drawn, not read: 6 significant digits keep large runs' pages small. */
function rounded(xs: (number | null)[]): (number | null)[] {
  return xs.map((x) => (x === null ? null : Number(x.toPrecision(6))));
}

/**
 * Renders one run as a single self-contained HTML page (Chart.js and all data inlined; nothing
 * is fetched when it opens). The data behind every chart is embedded as JSON in
 * `<script type="application/json" id="lethe-data">` (see {@link RunReportData}).
 *
 * @example
 * const html = renderRunReport({ metrics, config: settings, classNames: CIFAR10_CLASSES });
 * await writeReport('runs/srfl/report.html', html);
 */
export function renderRunReport(input: RunReportInput): string {
  validate(input);
  const { metrics, config } = input;
  const title = input.title ?? `Lethe run: ${metrics.method}`;
  const steps = metrics.history.steps;
  const epochs = metrics.history.epochs;
  const window = smoothingWindow(steps.length);
  const disagreements = findAccuracyDisagreements(metrics);
  const labels = classLabels(metrics.perClass, input.classNames);
  const smooth = (pick: (s: StepRecord) => number): (number | null)[] =>
    rounded(movingAverage(steps.map(pick), window));

  const data: RunReportData = {
    kind: 'run',
    title,
    metrics,
    config,
    classNames: labels,
    oracle: input.oracle ?? null,
    derived: {
      smoothingWindow: window,
      smoothed:
        window > 1
          ? {
              facc: smooth((s) => s.facc),
              racc: smooth((s) => s.racc),
              loss: smooth((s) => s.loss),
            }
          : { facc: [], racc: [], loss: [] },
      disagreements,
    },
  };

  const nEpochs = epochs.filter((e) => e.epoch > 0).length;
  const subtitle = [
    `method <code>${escapeHtml(metrics.method)}</code>`,
    `${nEpochs} epoch${nEpochs === 1 ? '' : 's'}`,
    `${steps.length} step${steps.length === 1 ? '' : 's'}`,
    `unlearning time ${formatSeconds(metrics.seconds)}`,
  ].join(' · ');

  const tailPct = Math.round(DISAGREEMENT_DEFAULTS.tailFraction * 100);
  const body: string[] = [];
  body.push(`<section id="accuracy"><h2>Accuracy <span class="muted">(eval mode, full sets)</span></h2>
${headlineCards(metrics)}
<p class="note">The finished model in eval mode on the whole forget, retain and test sets${metrics.original ? ', next to the original model before unlearning (Δ in percentage points)' : ''}.</p>
${disagreementCallout(disagreements)}
</section>`);
  body.push(memorizationSection(metrics));
  body.push(didItForget(input));
  body.push(peersSection(metrics, input.peers ?? []));

  body.push(
    `<section id="training"><h2>Training-batch accuracy <span class="muted">(the seed's figure)</span></h2>`,
  );
  if (steps.length === 0) {
    body.push('<p class="muted">No per-step history was recorded for this run.</p>');
  } else {
    body.push(
      chartBox('chart-steps', 'Training-batch forget and retain accuracy per step', {
        tall: true,
        note: `<code>facc</code> / <code>racc</code>: the student's accuracy on the current forget / retain batch, in the mode the method trains it, measured before each update — the seed's plot.${window > 1 ? ` Thin lines are the raw values; thick lines a trailing ${window}-step moving average.` : ''} Dashed lines: the finished model's eval-mode accuracy on the full sets (forget, retain, and the held-out val set)${input.oracle ? "; the thick grey dashed line is the retrain oracle's forget accuracy, the target: a model that never saw D_f gets that much of it right" : ''}. The callout above fires when the mean of the last ${tailPct}% of steps differs from it by more than ${formatPercent(DISAGREEMENT_DEFAULTS.threshold, 0)}.`,
      }),
    );
    body.push(
      chartBox('chart-loss', 'Training loss per step', {
        note: "The method's training loss per step (it can be negative: sRFL subtracts a cosine similarity).",
      }),
    );
  }
  body.push('</section>');

  body.push(`<section id="epochs"><h2>Eval-mode accuracy per epoch</h2>`);
  if (epochs.length === 0) {
    body.push('<p class="muted">No per-epoch evaluation was recorded for this run.</p>');
  } else {
    body.push(
      chartBox('chart-epochs', 'Eval-mode forget, retain and test accuracy per epoch', {
        note: `Full forget, retain and test sets after each epoch; epoch 0 is before unlearning.${metrics.original ? ' Dashed lines: the original model.' : ''}`,
      }),
    );
  }
  body.push('</section>');

  if (metrics.perClass) {
    body.push(`<section id="per-class"><h2>Per-class accuracy</h2>
${chartBox('chart-per-class', 'Per-class accuracy on the test and forget sets', { tall: true, note: 'Solid bars: this model; light bars: the original. Classes absent from a set have no bar.' })}
${perClassTable(metrics.perClass, labels)}
</section>`);
  }

  body.push(`<section id="settings"><h2>Settings</h2>${configTable(config)}</section>`);

  return renderPage({
    title,
    subtitleHtml: subtitle,
    bodyHtml: body.filter((s) => s !== '').join('\n'),
    data,
    generatedAt: input.generatedAt ?? new Date(),
  });
}
