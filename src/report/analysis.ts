/**
 * The judgements a run report makes in words: where training-batch and eval-mode accuracy
 * disagree, and whether the run looks like unlearning when held against the retrain oracle.
 * Pure functions of {@link RunMetrics}, so they are tested on hand-made numbers.
 */
import { judge, VERDICT_MARGINS } from '../eval/verdict.js';
import type { Accuracies, RunMetrics, StepRecord, Verdict } from '../records/metrics.js';
import { formatFixed, formatPercent, formatPoints } from './html.js';

/** Defaults for {@link findAccuracyDisagreements}. */
export const DISAGREEMENT_DEFAULTS = {
  /** Absolute difference of fractions above which the two accuracies are said to disagree. */
  threshold: 0.2,
  /** Share of the last steps whose training-batch accuracy is averaged. */
  tailFraction: 0.1,
} as const;

/** One disagreement between the seed's training-batch accuracy and eval-mode accuracy. */
export interface AccuracyDisagreement {
  /** `forget` compares facc with eval-mode forget accuracy; `retain` compares racc with retain. */
  set: 'forget' | 'retain';
  /** Mean facc (or racc) over the last `tailSteps` steps. */
  trainBatchMean: number;
  /** The finished model's eval-mode accuracy on the full set. */
  evalAccuracy: number;
  /** `trainBatchMean − evalAccuracy`. */
  difference: number;
  tailSteps: number;
}

/** The last `ceil(fraction · n)` steps (at least one). */
export function tailSteps(steps: readonly StepRecord[], fraction: number): StepRecord[] {
  if (steps.length === 0) return [];
  const k = Math.min(steps.length, Math.max(1, Math.ceil(steps.length * fraction)));
  return steps.slice(steps.length - k);
}

function meanOf(xs: number[]): number {
  const finite = xs.filter(Number.isFinite);
  return finite.length === 0 ? NaN : finite.reduce((a, b) => a + b, 0) / finite.length;
}

/**
 * Compares the mean training-batch accuracy over the last steps (facc, racc) with the finished
 * model's eval-mode accuracy on the full forget and retain sets, and lists each pair that differs
 * by more than `threshold`. An empty list means the two kinds of accuracy tell the same story.
 *
 * @example
 * findAccuracyDisagreements(metrics); // [{ set: 'forget', trainBatchMean: 0.12, evalAccuracy: 0.78, ... }]
 */
export function findAccuracyDisagreements(
  metrics: RunMetrics,
  options: { threshold?: number; tailFraction?: number } = {},
): AccuracyDisagreement[] {
  const threshold = options.threshold ?? DISAGREEMENT_DEFAULTS.threshold;
  const tail = tailSteps(
    metrics.history.steps,
    options.tailFraction ?? DISAGREEMENT_DEFAULTS.tailFraction,
  );
  if (tail.length === 0) return [];
  const out: AccuracyDisagreement[] = [];
  const pairs: [AccuracyDisagreement['set'], number, number][] = [
    ['forget', meanOf(tail.map((s) => s.facc)), metrics.accuracy.forget],
    ['retain', meanOf(tail.map((s) => s.racc)), metrics.accuracy.retain],
  ];
  for (const [set, trainBatchMean, evalAccuracy] of pairs) {
    if (!Number.isFinite(trainBatchMean) || !Number.isFinite(evalAccuracy)) continue;
    const difference = trainBatchMean - evalAccuracy;
    if (Math.abs(difference) > threshold) {
      out.push({ set, trainBatchMean, evalAccuracy, difference, tailSteps: tail.length });
    }
  }
  return out;
}

/**
 * Trailing moving average (each point averages itself and the `window − 1` before it; the first
 * points average what exists). Non-finite values are skipped, giving null where nothing is left.
 */
export function movingAverage(values: readonly number[], window: number): (number | null)[] {
  const w = Math.max(1, Math.floor(window));
  const out: (number | null)[] = new Array(values.length);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
    if (i >= w) {
      const old = values[i - w];
      if (Number.isFinite(old)) {
        sum -= old;
        count--;
      }
    }
    out[i] = count > 0 ? sum / count : null;
  }
  return out;
}

/** A smoothing window that keeps about 40 windows across the run; 1 (no smoothing) below 120 steps. */
export function smoothingWindow(nSteps: number): number {
  if (nSteps < 120) return 1;
  return Math.max(3, Math.round(nSteps / 40));
}

/** How far the run's forget accuracy sits from the retrain oracle's, and on which side. */
export interface ForgetGapReading {
  direction: 'over' | 'under' | 'close';
  /** |FA − FA_oracle|. */
  gap: number;
  /** The oracle's forget accuracy: exact when the oracle was given, inferred otherwise. */
  oracleForget: number;
  inferred: boolean;
}

/** A gap below this (3 pp) counts as "close to the oracle" (the verdict's forget margin). */
export const CLOSE_TO_ORACLE = VERDICT_MARGINS.forget;
/** A simple-MIA accuracy further than this from 0.5 means D_f can be told from test data. */
export const MIA_DETECTABLE = 0.05;

/**
 * Reads `gap.forget` (an absolute value) as over- or under-forgetting. With the oracle's own
 * accuracies the side is exact; without, it is inferred: a side that would put the oracle outside
 * [0, 1] is impossible; for a single forgotten class the oracle sits near 0; for a random forget set
 * the oracle's forget accuracy is about its test accuracy, estimated by this model's.
 */
export function readForgetGap(
  metrics: RunMetrics,
  oracle?: Accuracies,
): ForgetGapReading | undefined {
  const g = metrics.gap?.forget;
  const fa = metrics.accuracy.forget;
  if (oracle && Number.isFinite(oracle.forget)) {
    const gap = Math.abs(fa - oracle.forget);
    const direction = gap <= CLOSE_TO_ORACLE ? 'close' : fa < oracle.forget ? 'over' : 'under';
    return { direction, gap, oracleForget: oracle.forget, inferred: false };
  }
  if (g === undefined || !Number.isFinite(g) || !Number.isFinite(fa)) return undefined;
  const lo = fa - g;
  const hi = fa + g;
  let oracleForget: number;
  const eps = 1e-9;
  if (lo < -eps && hi <= 1 + eps) oracleForget = hi;
  else if (hi > 1 + eps && lo >= -eps) oracleForget = lo;
  else if (isSingleClassForget(metrics)) oracleForget = lo;
  else {
    const ta = metrics.accuracy.test;
    oracleForget = Math.abs(hi - ta) <= Math.abs(lo - ta) ? hi : lo;
  }
  const direction = g <= CLOSE_TO_ORACLE ? 'close' : oracleForget > fa ? 'over' : 'under';
  return { direction, gap: g, oracleForget, inferred: true };
}

/** True when the forget set's per-class accuracies name exactly one class (class-wise forgetting). */
function isSingleClassForget(metrics: RunMetrics): boolean {
  const pc = metrics.perClass?.forget;
  if (!pc) return false;
  return pc.filter((v) => v !== null).length === 1;
}

/**
 * The run's verdict: the one recorded in its metrics, else the rule applied to the oracle's
 * accuracies given (or recorded); undefined without an oracle.
 */
export function verdictOf(metrics: RunMetrics, oracle?: Accuracies): Verdict | undefined {
  if (metrics.verdict) return metrics.verdict;
  const accuracy = oracle ?? metrics.oracle?.accuracy;
  if (!accuracy) return undefined;
  return judge({
    accuracy: metrics.accuracy,
    miaEfficacy: metrics.mia?.efficacy,
    oracle: { accuracy, miaEfficacy: metrics.oracle?.mia.efficacy },
  });
}

/**
 * One honest sentence on whether the run forgot, from whatever of gap / MIA / NeurIPS / time the
 * metrics hold; `undefined` when they hold none of them.
 */
export function unlearningVerdict(metrics: RunMetrics, oracle?: Accuracies): string | undefined {
  const { mia, gap, neurips, timeRatio } = metrics;
  if (!mia && !gap && !neurips && timeRatio === undefined && !oracle) return undefined;
  const fa = metrics.accuracy.forget;
  const reading = readForgetGap(metrics, oracle);
  const simple = mia?.simple;
  // Compare the attack with what it scores on the oracle (for a forgotten class D_f differs from
  // test data for the oracle too); without an oracle, with chance.
  const oracleSimple = metrics.oracle?.mia.simple;
  const reference = oracleSimple ?? 0.5;
  const detectable =
    simple !== undefined &&
    Number.isFinite(simple) &&
    Math.abs(simple - reference) > MIA_DETECTABLE;
  const miaText =
    simple === undefined
      ? ''
      : oracleSimple === undefined
        ? `simple MIA ${formatFixed(simple, 3)}, ideal ≈ 0.5`
        : `simple MIA ${formatFixed(simple, 3)}, retrain oracle ${formatFixed(oracleSimple, 3)}`;
  const oracleWord = reading?.inferred ? '≈' : '';

  const verdict = verdictOf(metrics, oracle);
  const damage = verdict?.findings.filter((f) => f.outcome === 'damaged-the-model') ?? [];
  const miaFinding = verdict?.findings.find((f) => f.measure === 'mia-efficacy');
  const miaEfficacyText = miaFinding
    ? `MIA-efficacy ${formatPercent(miaFinding.value, 1)} against the oracle's ${formatPercent(miaFinding.oracle, 1)} says it ${miaFinding.outcome === 'over-forgot' ? 'over-forgot' : 'under-forgot'}`
    : '';

  let head: string;
  if (damage.length > 0) {
    // Damage leads, whatever forget accuracy says: a model that lost what it should keep does not
    // behave like a retrained one.
    const lost = damage
      .map(
        (f) =>
          `${f.measure} accuracy ${formatPercent(f.value, 1)} is ${formatPoints(Math.abs(f.difference)).replace(/^[+−±]/, '')} below the retrain oracle's (${formatPercent(f.oracle, 1)})`,
      )
      .join(' and ');
    head = `Damaged the model: ${lost}`;
    if (reading) {
      const vs = `the oracle's (${reading.inferred ? '≈' : ''}${formatPercent(reading.oracleForget, 1)})`;
      head +=
        reading.direction === 'close'
          ? `; forget accuracy ${formatPercent(fa, 1)} sits near ${vs}, but because the model lost accuracy everywhere, not because it forgot D_f alone`
          : reading.direction === 'over'
            ? `; it also over-forgot: forget accuracy ${formatPercent(fa, 1)} is below ${vs}`
            : `; and it under-forgot: forget accuracy ${formatPercent(fa, 1)} is above ${vs}`;
    }
    if (miaEfficacyText) head += `; ${miaEfficacyText}`;
  } else if (reading) {
    const pts = formatPoints(Math.abs(fa - reading.oracleForget)).replace(/^[+−±]/, '');
    const vs = `the retrain oracle's (${oracleWord}${formatPercent(reading.oracleForget, 1)})`;
    if (reading.direction === 'over') {
      head = `Over-forgetting: forget accuracy ${formatPercent(fa, 1)} is ${pts} below ${vs}, so the model does not behave like one that never saw D_f`;
      head += detectable
        ? `, and that is detectable (${miaText})`
        : simple !== undefined
          ? ` (${miaText})`
          : '';
    } else if (reading.direction === 'under') {
      head = `Under-forgetting: forget accuracy ${formatPercent(fa, 1)} is ${pts} above ${vs}, so D_f is still partly remembered`;
      head += detectable
        ? `, and an attacker can tell (${miaText})`
        : simple !== undefined
          ? ` (${miaText})`
          : '';
    } else {
      head = miaEfficacyText
        ? `Forget accuracy ${formatPercent(fa, 1)} is close to ${vs}, but ${miaEfficacyText}`
        : `Close to retraining on forget accuracy: ${formatPercent(fa, 1)} against ${vs}`;
      head += detectable
        ? oracleSimple === undefined
          ? `, but D_f is still distinguishable from test data (${miaText})`
          : `, but the membership attack scores it unlike the oracle (${miaText})`
        : simple === undefined
          ? ''
          : oracleSimple === undefined
            ? `, and the simple MIA is near chance (${formatFixed(simple, 3)})`
            : `, and the membership attack scores it like the oracle (${miaText})`;
    }
  } else if (simple !== undefined) {
    head = detectable
      ? `Without a retrain oracle only the attack speaks, and it tells D_f from test data (${miaText}), so forgetting is detectable`
      : `Without a retrain oracle only the attack speaks, and it cannot tell D_f from test data (${miaText})`;
  } else {
    head = `No retrain oracle or membership attack was run, so forgetting cannot be judged from this run alone`;
  }

  const tail: string[] = [];
  if (gap && Number.isFinite(gap.avg)) tail.push(`Avg Gap ${formatPercent(gap.avg, 2)}`);
  if (neurips && Number.isFinite(neurips.forgettingQuality)) {
    tail.push(
      `NeurIPS forgetting quality F = ${formatFixed(neurips.forgettingQuality, 3)} (1 = indistinguishable from retraining)`,
    );
  }
  if (timeRatio !== undefined && Number.isFinite(timeRatio)) {
    tail.push(
      timeRatio > 0.2
        ? `it took ${formatPercent(timeRatio, 0)} of retrain time, over the challenge's ~20% cut-off`
        : `it took ${formatPercent(timeRatio, 0)} of retrain time`,
    );
  }
  return tail.length > 0 ? `${head}; ${tail.join('; ')}.` : `${head}.`;
}

/** An MIA-efficacy within this (5 points) of the oracle's counts as matching it (the verdict's). */
export const MIA_EFFICACY_CLOSE = VERDICT_MARGINS.mia;

/** The run's verdict in a few words (`damaged the model (retain acc. −11.5 pts)`); '' without an oracle. */
export function oracleSidesText(metrics: RunMetrics): string {
  return verdictOf(metrics)?.label ?? '';
}
