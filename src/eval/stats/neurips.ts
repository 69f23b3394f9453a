/**
 * The NeurIPS 2023 Machine Unlearning challenge's forgetting quality F and final score, after
 * the challenge's released evaluation code (google-deepmind/unlearning_evaluation, metric.py).
 *
 * For each forget example, N unlearned and N retrained models each give one logit-scaled
 * confidence; a family of threshold attacks tries to tell the two samples apart, and the best
 * attack's (ε, δ) privacy degree ε is binned into points. Everything here is float64.
 */
import type { NeuripsResult } from '../../records/metrics.js';
import { DataError, OptionError } from '../../util/errors.js';
import {
  assertFinite,
  assertMinLength,
  linspace,
  mean,
  median,
  sortedCopy,
  countLess,
  countLessOrEqual,
  type NumericArray,
} from './common.js';

/** The challenge's δ of the (ε, δ) guarantee. */
export const DEFAULT_DELTA = 1e-5;
/** Every per-example ε is clipped to [0, EPSILON_CAP]; "peaky" and perfectly separable give it. */
export const EPSILON_CAP = 50;
/** Thresholds are spaced about 1/THRESHOLDS_PER_UNIT apart over the observed range. */
export const THRESHOLDS_PER_UNIT = 100;
/** Width of the ε bins that F awards points for. */
export const EPSILON_BIN_WIDTH = 0.5;
/** Added inside each logarithm of the logit-scaled confidence, as the released code. */
export const LOG_FLOOR = 1e-45;

/** Half-width, in confidence units, of the double-threshold attack's search (released code). */
const DOUBLE_BUFFER = 2;

/**
 * Logit-scaled confidence f = log(p_y + 1e-45) − log(Σ_{c≠y} p_c + 1e-45) of each row, with the
 * softmax computed stably (max subtracted) in float64 from float32 or float64 logits.
 *
 * @param logits row-major `rows × classes` logits; `classes` is `logits.length / labels.length`.
 * @param labels the true class of each row.
 * @example
 * logitScaledConfidence(Float32Array.of(1, 2, 3), Int32Array.of(2)); // [2 − ln(1 + e)] ≈ [0.6867]
 */
export function logitScaledConfidence(
  logits: NumericArray,
  labels: ArrayLike<number>,
): Float64Array {
  const rows = labels.length;
  if (rows === 0) throw new DataError('Expected at least one label for labels but received 0');
  const classes = logits.length / rows;
  if (!Number.isInteger(classes) || classes < 2) {
    throw new DataError(
      `Expected logits of length rows × classes (classes ≥ 2) for ${rows} labels but received length ${logits.length}`,
    );
  }
  const out = new Float64Array(rows);
  const probs = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new DataError(`Expected a label in [0, ${classes}) for row ${r} but received ${y}`);
    }
    const base = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[base + c]);
    if (!Number.isFinite(max)) {
      throw new DataError(`Expected finite logits for row ${r} but received a maximum of ${max}`);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      probs[c] = Math.exp(logits[base + c] - max);
      sum += probs[c];
    }
    // As the released code: normalise first, then sum the wrong classes' probabilities.
    let wrong = 0;
    for (let c = 0; c < classes; c++) if (c !== y) wrong += probs[c] / sum;
    out[r] = Math.log(probs[y] / sum + LOG_FLOOR) - Math.log(wrong + LOG_FLOOR);
  }
  return out;
}

/**
 * Per-threshold ε from counts, with the released code's special cases: FPR = FNR = 0 → ∞;
 * exactly one of them 0 → discarded (NaN); otherwise
 * max(ln(1 − δ − FPR) − ln FNR, ln(1 − δ − FNR) − ln FPR) clipped below at 0, where a
 * logarithm of a negative number is ignored (numpy's nanmax) and both ignored discards.
 */
class EpsilonTable {
  private readonly logP: Float64Array;
  private readonly log1mP: Float64Array;
  private readonly logN: Float64Array;
  private readonly log1mN: Float64Array;

  constructor(nPos: number, nNeg: number, delta: number) {
    const tables = (n: number): [Float64Array, Float64Array] => {
      const lg = new Float64Array(n + 1);
      const l1m = new Float64Array(n + 1);
      for (let k = 0; k <= n; k++) {
        lg[k] = Math.log(k / n);
        l1m[k] = Math.log(1 - delta - k / n); // NaN where 1 − δ − rate < 0
      }
      return [lg, l1m];
    };
    [this.logP, this.log1mP] = tables(nPos);
    [this.logN, this.log1mN] = tables(nNeg);
  }

  /** ε for `fn` false negatives (of nPos) and `fp` false positives (of nNeg). */
  epsilon(fn: number, fp: number): number {
    if (fn === 0 && fp === 0) return Infinity;
    if (fn === 0 || fp === 0) return NaN;
    const e1 = this.log1mN[fp] - this.logP[fn];
    const e2 = this.log1mP[fn] - this.logN[fp];
    const e = Number.isNaN(e1) ? e2 : Number.isNaN(e2) ? e1 : Math.max(e1, e2);
    return Number.isNaN(e) ? NaN : Math.max(0, e);
  }
}

/**
 * The privacy degree ε of one forget example, from the N logit-scaled confidences it gets under
 * the unlearned models and the N it gets under the retrained ones.
 *
 * - The "positive" sample is the one with the larger median (the unlearned one on a tie, as the
 *   released code's strict `retrained > unlearned`).
 * - If the smaller range / the larger range < 0.01 ("peaky"), ε = 50.
 * - Single-threshold attacks (positive if f ≥ t) over `ceil(range · 100)` thresholds evenly
 *   spanning the pooled range, and double-threshold attacks (positive if t_l ≤ f ≤ t_r, the
 *   interval predicting the peakier sample): 400 right thresholds over
 *   [min + width − 2, max + 2] of the peakier sample (width = its range) and, for each, 400
 *   left ones over [t_r − width − 2, t_r − width + 2].
 * - ε = the largest per-threshold ε (see the spec), clipped to [0, 50]. If every threshold is
 *   discarded (no attack has both error rates non-zero), ε = 0: the released code asserts here.
 *
 * Rates are computed in float64 (the released code used float32 means); this can matter only
 * for thresholds whose ε differs in the seventh significant digit.
 *
 * @example
 * epsilonForExample([1, 2, 3, 4], [0, 1, 2, 3]); // ln(2 − 4e-5) ≈ 0.6931
 */
export function epsilonForExample(
  unlearned: NumericArray,
  retrained: NumericArray,
  delta: number = DEFAULT_DELTA,
): number {
  if (!(delta >= 0 && delta < 1)) {
    throw new OptionError(`Expected a number in [0, 1) for delta but received ${delta}`);
  }
  assertMinLength(unlearned, 1, 'unlearned');
  assertMinLength(retrained, 1, 'retrained');
  assertFinite(unlearned, 'unlearned');
  assertFinite(retrained, 'retrained');

  const u = sortedCopy(unlearned);
  const r = sortedCopy(retrained);
  const retrainIsPositive = median(r) > median(u);
  const pos = retrainIsPositive ? r : u;
  const neg = retrainIsPositive ? u : r;

  const posDiff = pos[pos.length - 1] - pos[0];
  const negDiff = neg[neg.length - 1] - neg[0];
  const largest = Math.max(posDiff, negDiff);
  const smallest = Math.min(posDiff, negDiff);
  // 0 / 0 (both samples constant) is not "peaky": the attacks below decide it.
  if (smallest / largest < 0.01) return EPSILON_CAP;

  let best = -Infinity;
  const consider = (e: number): boolean => {
    if (e > best) best = e;
    return e === Infinity;
  };

  // Single threshold: predict positive where f ≥ t.
  {
    const table = new EpsilonTable(pos.length, neg.length, delta);
    const lo = Math.min(pos[0], neg[0]);
    const hi = Math.max(pos[pos.length - 1], neg[neg.length - 1]);
    const thresholds = linspace(lo, hi, Math.ceil((hi - lo) * THRESHOLDS_PER_UNIT));
    for (const t of thresholds) {
      const fn = countLess(pos, t);
      const fp = neg.length - countLess(neg, t);
      if (consider(table.epsilon(fn, fp))) return EPSILON_CAP;
    }
  }

  // Double threshold: predict "the peakier sample" where t_l ≤ f ≤ t_r.
  {
    const [peaky, other] = posDiff >= negDiff ? [neg, pos] : [pos, neg];
    const table = new EpsilonTable(peaky.length, other.length, delta);
    const width = smallest;
    const rLo = peaky[0] + width - DOUBLE_BUFFER;
    const rHi = peaky[peaky.length - 1] + DOUBLE_BUFFER;
    const rights = linspace(rLo, rHi, Math.ceil((rHi - rLo) * THRESHOLDS_PER_UNIT));
    const numLeft = Math.ceil(2 * DOUBLE_BUFFER * THRESHOLDS_PER_UNIT);
    for (const tr of rights) {
      const pIn = countLessOrEqual(peaky, tr);
      const oIn = countLessOrEqual(other, tr);
      const lefts = linspace(tr - width - DOUBLE_BUFFER, tr - width + DOUBLE_BUFFER, numLeft);
      // Left thresholds ascend, so the "strictly below t_l" counts only move forward.
      let pBelow = countLess(peaky, lefts[0]);
      let oBelow = countLess(other, lefts[0]);
      for (const tl of lefts) {
        while (pBelow < peaky.length && peaky[pBelow] < tl) pBelow++;
        while (oBelow < other.length && other[oBelow] < tl) oBelow++;
        const tp = Math.max(0, pIn - pBelow);
        const fp = Math.max(0, oIn - oBelow);
        if (consider(table.epsilon(peaky.length - tp, fp))) return EPSILON_CAP;
      }
    }
  }

  if (best === -Infinity) return 0;
  return Math.min(EPSILON_CAP, Math.max(0, best));
}

/**
 * How many ε bins of width 0.5 earn points for N models: the released code's
 * ceil(ln(N − 1)) / 0.5. For N = 2 that formula gives 0 bins (F would be 0 whatever the
 * method did), so at least one bin is kept: with two models the only attainable ε are 0 and
 * the cap, and F is then the fraction of examples with ε = 0.
 */
export function forgettingQualityBins(n: number): number {
  if (!Number.isInteger(n) || n < 2) {
    throw new OptionError(`Expected an integer N ≥ 2 for the number of models but received ${n}`);
  }
  return Math.max(1, Math.ceil(Math.log(n - 1)) / EPSILON_BIN_WIDTH);
}

/**
 * Points H for one ε: bin k (zero-based) covers [0.5k, 0.5(k + 1)) and earns 2^−k, i.e. 1, ½,
 * ¼, … (the spec's 2 / 2^n with n = k + 1, numpy.digitize's one-based index); 0 beyond the last
 * of `bins` bins.
 */
export function epsilonPoints(epsilon: number, bins: number): number {
  const k = Math.floor(epsilon / EPSILON_BIN_WIDTH);
  return k < bins ? 2 ** -Math.max(0, k) : 0;
}

/** Result of {@link forgettingQuality}. */
export interface ForgettingQuality {
  /** Forgetting quality: mean over forget examples of the points H(ε_s), in [0, 1]. */
  F: number;
  /** ε_s of each forget example, in [0, 50]. */
  epsilons: Float64Array;
}

/**
 * The NeurIPS 2023 forgetting quality F from logit-scaled confidences.
 *
 * @param fUnlearned one array per unlearned model (N ≥ 2), each with one
 *   {@link logitScaledConfidence} per forget example.
 * @param fRetrained the same for the N retrained models, examples in the same order.
 * @example
 * const { F } = forgettingQuality(unlearnedConfs, retrainedConfs); // 1 = indistinguishable
 */
export function forgettingQuality(
  fUnlearned: readonly NumericArray[],
  fRetrained: readonly NumericArray[],
  delta: number = DEFAULT_DELTA,
): ForgettingQuality {
  const n = fUnlearned.length;
  if (n < 2 || fRetrained.length !== n) {
    throw new DataError(
      `Expected the same number N ≥ 2 of unlearned and retrained models but received ${n} and ${fRetrained.length}`,
    );
  }
  const examples = fUnlearned[0].length;
  if (examples === 0) throw new DataError('Expected at least one forget example but received 0');
  for (const [name, set] of [
    ['fUnlearned', fUnlearned],
    ['fRetrained', fRetrained],
  ] as const) {
    set.forEach((row, i) => {
      if (row.length !== examples) {
        throw new DataError(
          `Expected ${examples} confidences for ${name}[${i}] but received ${row.length}`,
        );
      }
    });
  }

  const bins = forgettingQualityBins(n);
  const epsilons = new Float64Array(examples);
  const u = new Float64Array(n);
  const r = new Float64Array(n);
  let points = 0;
  for (let s = 0; s < examples; s++) {
    for (let j = 0; j < n; j++) {
      u[j] = fUnlearned[j][s];
      r[j] = fRetrained[j][s];
    }
    epsilons[s] = epsilonForExample(u, r, delta);
    points += epsilonPoints(epsilons[s], bins);
  }
  return { F: points / examples, epsilons };
}

/**
 * The challenge's final score F × (RA_U / RA_R) × (TA_U / TA_R): mean retain and test accuracy
 * over the unlearned models divided by the same means over the retrained models.
 *
 * @example
 * neuripsScore(0.5, [0.9], [0.8], [1], [0.8]).score; // 0.5 × 0.9 × 1 = 0.45
 */
export function neuripsScore(
  F: number,
  retainAccU: NumericArray,
  testAccU: NumericArray,
  retainAccR: NumericArray,
  testAccR: NumericArray,
): NeuripsResult {
  if (!(F >= 0 && F <= 1)) {
    throw new OptionError(`Expected a forgetting quality in [0, 1] for F but received ${F}`);
  }
  const n = retainAccU.length;
  if (n === 0 || testAccU.length !== n) {
    throw new DataError(
      `Expected equally many (≥ 1) retain and test accuracies of unlearned models but received ${n} and ${testAccU.length}`,
    );
  }
  if (retainAccR.length === 0 || testAccR.length !== retainAccR.length) {
    throw new DataError(
      `Expected equally many (≥ 1) retain and test accuracies of retrained models but received ${retainAccR.length} and ${testAccR.length}`,
    );
  }
  for (const [name, v] of [
    ['retainAccU', retainAccU],
    ['testAccU', testAccU],
    ['retainAccR', retainAccR],
    ['testAccR', testAccR],
  ] as const) {
    assertFinite(v, name);
  }
  const raR = mean(retainAccR);
  const taR = mean(testAccR);
  if (!(raR > 0) || !(taR > 0)) {
    throw new DataError(
      `Expected positive mean accuracies of the retrained models but received retain ${raR} and test ${taR}`,
    );
  }
  const retainRatio = mean(retainAccU) / raR;
  const testRatio = mean(testAccU) / taR;
  return { n, forgettingQuality: F, score: F * retainRatio * testRatio, retainRatio, testRatio };
}
