/**
 * Membership-inference attacks on per-sample scalars (losses or confidences) that the tensor
 * engine has already computed. Pure numerics; all randomness comes from a seeded {@link Rng}.
 */
import { OptionError, DataError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { assertFinite, assertMinLength, type NumericArray } from './common.js';
import { fitLogistic1d } from './logistic.js';

/** Options of {@link simpleMia}. */
export interface SimpleMiaOptions {
  /** Seed of the class-balancing subsample and of the splits. */
  seed: number;
  /** Number of stratified random train/test splits. Default 10 (the starting kit's). */
  splits?: number;
  /** Held-out fraction of each split. Default 0.1 (scikit-learn's StratifiedShuffleSplit). */
  testFraction?: number;
}

/** Defaults of {@link SimpleMiaOptions}. */
export const SIMPLE_MIA_DEFAULTS = { splits: 10, testFraction: 0.1 } as const;

/** Options of {@link miaEfficacy}. */
export interface MiaEfficacyOptions {
  /** Seed of the class-balancing subsample. */
  seed: number;
}

/** Indices of a random subsample of size `k` from `0..n-1` (all of them, in order, if k = n). */
function subsample(n: number, k: number, rng: Rng): Int32Array {
  if (k >= n) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  return rng.permutation(n).slice(0, k);
}

/**
 * Subsamples the larger of two sets to the smaller one's size, so that the attack faces
 * balanced classes and a constant classifier scores exactly 0.5.
 */
function balance(a: NumericArray, b: NumericArray, rng: Rng): [Float64Array, Float64Array] {
  const m = Math.min(a.length, b.length);
  const pick = (v: NumericArray): Float64Array => {
    const idx = subsample(v.length, m, rng);
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) out[i] = v[idx[i]];
    return out;
  };
  return [pick(a), pick(b)];
}

/**
 * The NeurIPS 2023 starting kit's simple MIA: can a 1-D logistic regression on the per-sample
 * loss tell D_f (members, label 1) from the test set (non-members, label 0)?
 *
 * The larger set is randomly subsampled to the smaller one's size. Then, as scikit-learn's
 * `cross_val_score(LogisticRegression(), loss, members, cv=StratifiedShuffleSplit(10))`, the
 * attack is fitted on 90% and scored on the held-out 10% of each of `splits` stratified random
 * splits, and the mean held-out accuracy is returned. The attack model is
 * {@link fitLogistic1d}: scikit-learn's default objective (L2 penalty, C = 1, unpenalised
 * intercept), solved exactly by Newton's method on the standardised loss.
 *
 * Ideal: about 0.5 (what the retrain oracle scores); 1 means D_f is fully recognisable.
 * The held-out part of a split has at least one sample of each class, so each class needs at
 * least 2 samples after balancing.
 *
 * @example
 * const acc = simpleMia(forgetLosses, testLosses, { seed: 0 }); // ≈ 0.5 when forgotten well
 */
export function simpleMia(
  forgetLosses: NumericArray,
  testLosses: NumericArray,
  options: SimpleMiaOptions,
): number {
  const splits = options.splits ?? SIMPLE_MIA_DEFAULTS.splits;
  const testFraction = options.testFraction ?? SIMPLE_MIA_DEFAULTS.testFraction;
  if (!Number.isInteger(splits) || splits < 1) {
    throw new OptionError(`Expected a positive integer for splits but received ${splits}`);
  }
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new OptionError(
      `Expected a number in (0, 1) for testFraction but received ${testFraction}`,
    );
  }
  assertMinLength(forgetLosses, 2, 'forgetLosses');
  assertMinLength(testLosses, 2, 'testLosses');
  assertFinite(forgetLosses, 'forgetLosses');
  assertFinite(testLosses, 'testLosses');

  const rng = new Rng(options.seed);
  const [members, nonMembers] = balance(forgetLosses, testLosses, rng.fork('balance'));
  const m = members.length;
  const n = 2 * m;
  // scikit-learn: n_test = ceil(test_size · n); at least one per class so both are scored.
  const nTest = Math.max(2, Math.ceil(testFraction * n));
  if (n - nTest < 2) {
    throw new DataError(
      `Expected enough samples for a ${testFraction} held-out fraction but received ${m} per class`,
    );
  }

  const splitRng = rng.fork('splits');
  const trainX = new Float64Array(n - nTest);
  const trainY = new Uint8Array(n - nTest);
  let total = 0;
  for (let s = 0; s < splits; s++) {
    // Equal classes: split the held-out count evenly; an odd extra goes to a random class.
    let t1 = nTest >> 1;
    if (nTest % 2 === 1 && splitRng.next() < 0.5) t1 += 1;
    const t0 = nTest - t1;
    const p0 = splitRng.permutation(m);
    const p1 = splitRng.permutation(m);
    let k = 0;
    for (let i = t0; i < m; i++, k++) {
      trainX[k] = nonMembers[p0[i]];
      trainY[k] = 0;
    }
    for (let i = t1; i < m; i++, k++) {
      trainX[k] = members[p1[i]];
      trainY[k] = 1;
    }
    const model = fitLogistic1d(trainX, trainY);
    let correct = 0;
    for (let i = 0; i < t0; i++) if (model.predict(nonMembers[p0[i]]) === 0) correct++;
    for (let i = 0; i < t1; i++) if (model.predict(members[p1[i]]) === 1) correct++;
    total += correct / nTest;
  }
  return total / splits;
}

/**
 * SalUn / Unlearn-Sparse style MIA-efficacy on the `confidence` feature (the predicted
 * probability of the true class): the fraction of D_f that an attack trained on
 * D_r (members) vs test (non-members) predicts to be a *non-member*.
 *
 * Attack: a 1-D L2 logistic regression on the confidence ({@link fitLogistic1d}, C = 1), where
 * SalUn used an RBF SVC (C = 3); on one monotone feature both amount to a threshold. D_r and
 * test are balanced by randomly subsampling the larger to the smaller one's size (SalUn took the
 * first |test| retain samples). Higher means more forgotten; compare with the retrain oracle's
 * value, not with 1.
 *
 * @example
 * const eff = miaEfficacy(retainConf, testConf, forgetConf, { seed: 0 });
 */
export function miaEfficacy(
  retainConf: NumericArray,
  testConf: NumericArray,
  forgetConf: NumericArray,
  options: MiaEfficacyOptions,
): number {
  assertMinLength(retainConf, 1, 'retainConf');
  assertMinLength(testConf, 1, 'testConf');
  assertMinLength(forgetConf, 1, 'forgetConf');
  assertFinite(retainConf, 'retainConf');
  assertFinite(testConf, 'testConf');
  assertFinite(forgetConf, 'forgetConf');

  const rng = new Rng(options.seed);
  const [members, nonMembers] = balance(retainConf, testConf, rng.fork('balance'));
  const m = members.length;
  const x = new Float64Array(2 * m);
  const y = new Uint8Array(2 * m);
  x.set(nonMembers, 0);
  x.set(members, m);
  y.fill(1, m);
  const model = fitLogistic1d(x, y);
  let nonMember = 0;
  for (let i = 0; i < forgetConf.length; i++) if (model.predict(forgetConf[i]) === 0) nonMember++;
  return nonMember / forgetConf.length;
}
