/**
 * Accuracies, per-class accuracies, gaps to the retrain oracle and mean ± std over seeds.
 */
import type { GapResult, MeanStd } from '../../records/metrics.js';
import { DataError } from '../../util/errors.js';
import { assertFinite, mean, type NumericArray } from './common.js';

export { accuracy, perClassAccuracy } from '../../models/accuracy.js';

/**
 * Mean and sample (n − 1) standard deviation; the std of a single value is 0.
 *
 * @example
 * meanStd([1, 2, 3]); // { mean: 2, std: 1, n: 3 }
 */
export function meanStd(values: NumericArray): MeanStd {
  const n = values.length;
  if (n === 0) throw new DataError('Expected at least one value for meanStd but received 0');
  assertFinite(values, 'meanStd');
  const m = mean(values);
  if (n === 1) return { mean: m, std: 0, n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - m) * (values[i] - m);
  return { mean: m, std: Math.sqrt(ss / (n - 1)), n };
}

/** The four numbers compared with the retrain oracle by {@link avgGap}. */
export interface GapInputs {
  /** Forget accuracy (FA). */
  forget: number;
  /** Retain accuracy (RA). */
  retain: number;
  /** Test accuracy (TA). */
  test: number;
  /** An MIA number (the same attack for both sides, e.g. MIA-efficacy as in SalUn). */
  mia: number;
}

/**
 * SalUn's "Avg Gap": absolute differences to the retrain oracle on FA, RA, TA and MIA, and their
 * mean. Lower is better; 0 means indistinguishable from retraining on these four numbers.
 *
 * @example
 * avgGap({ forget: 0.9, retain: 1, test: 0.9, mia: 0.2 },
 *        { forget: 0.85, retain: 1, test: 0.88, mia: 0.3 }).avg; // (0.05 + 0 + 0.02 + 0.1) / 4
 */
export function avgGap(run: GapInputs, oracle: GapInputs): GapResult {
  const keys = ['forget', 'retain', 'test', 'mia'] as const;
  for (const k of keys) {
    if (!Number.isFinite(run[k]) || !Number.isFinite(oracle[k])) {
      throw new DataError(
        `Expected finite ${k} values for avgGap but received ${run[k]} and ${oracle[k]}`,
      );
    }
  }
  const forget = Math.abs(run.forget - oracle.forget);
  const retain = Math.abs(run.retain - oracle.retain);
  const test = Math.abs(run.test - oracle.test);
  const mia = Math.abs(run.mia - oracle.mia);
  return { forget, retain, test, mia, avg: (forget + retain + test + mia) / 4 };
}
