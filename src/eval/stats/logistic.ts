/**
 * One-feature logistic regression, the attack model of both membership-inference metrics.
 *
 * The objective is exactly scikit-learn's `LogisticRegression()` default:
 * `½·w² + C·Σ logloss(w·x + b, y)` with C = 1, an L2 penalty on the weight and an unpenalised
 * intercept. It is minimised by damped Newton steps on the standardised feature
 * x' = (x − mean) / std, with the penalty rescaled to λ' = 1 / (C·std²) so that the optimum is
 * the same as on the raw feature: standardising improves conditioning, not the answer.
 * scikit-learn stops L-BFGS at tol 1e-4; this converges to the exact optimum, so the two can
 * differ only for points lying on the decision boundary.
 */
import { OptionError } from '../../util/errors.js';

/** Options of {@link fitLogistic1d}. */
export interface LogisticOptions {
  /** Inverse L2 regularisation strength, as scikit-learn's `C`. Default 1. */
  C?: number;
  /** Newton iteration cap. Default 100. */
  maxIter?: number;
}

/** Defaults of {@link LogisticOptions}. */
export const LOGISTIC_DEFAULTS: Required<LogisticOptions> = { C: 1, maxIter: 100 };

/** A fitted 1-D logistic model: P(y = 1 | x) = σ(weight·x + bias). */
export interface Logistic1d {
  /** Weight on the raw (unstandardised) feature. */
  weight: number;
  /** Intercept on the raw feature. */
  bias: number;
  /** Predicts 1 where weight·x + bias > 0 (a score of exactly 0 predicts 0, as scikit-learn). */
  predict(x: number): 0 | 1;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Fits a 1-D L2-regularised logistic regression of `y` (0/1) on `x`.
 *
 * @example
 * const m = fitLogistic1d(Float64Array.of(0, 1, 2, 3), Uint8Array.of(0, 0, 1, 1));
 * m.predict(2.5); // 1
 */
export function fitLogistic1d(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options: LogisticOptions = {},
): Logistic1d {
  const C = options.C ?? LOGISTIC_DEFAULTS.C;
  const maxIter = options.maxIter ?? LOGISTIC_DEFAULTS.maxIter;
  if (!(C > 0) || !Number.isFinite(C)) {
    throw new OptionError(`Expected a positive finite number for C but received ${C}`);
  }
  const n = x.length;
  if (n === 0 || y.length !== n) {
    throw new OptionError(
      `Expected equally long non-empty x and y but received ${n} and ${y.length} values`,
    );
  }

  let mu = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    mu += x[i];
    positives += y[i];
  }
  mu /= n;
  let varSum = 0;
  for (let i = 0; i < n; i++) varSum += (x[i] - mu) * (x[i] - mu);
  const sd = Math.sqrt(varSum / n);

  // One class only: the unpenalised intercept runs off to ±∞; predict that class everywhere.
  if (positives === 0 || positives === n) {
    const label: 0 | 1 = positives === n ? 1 : 0;
    return { weight: 0, bias: label === 1 ? Infinity : -Infinity, predict: () => label };
  }

  // A constant feature carries no information; the penalty pins its weight at 0.
  if (!(sd > 0)) {
    const bias = Math.log(positives / (n - positives));
    return { weight: 0, bias, predict: () => (bias > 0 ? 1 : 0) };
  }

  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = (x[i] - mu) / sd;
  const lambda = 1 / (C * sd * sd);

  const objective = (b: number, w: number): number => {
    let s = 0.5 * lambda * w * w;
    for (let i = 0; i < n; i++) {
      const z = w * xs[i] + b;
      s += softplus(z) - y[i] * z;
    }
    return s;
  };

  let b = 0;
  let w = 0;
  let f = objective(b, w);
  for (let iter = 0; iter < maxIter; iter++) {
    let gb = 0;
    let gw = lambda * w;
    let hbb = 0;
    let hbw = 0;
    let hww = lambda;
    for (let i = 0; i < n; i++) {
      const xi = xs[i];
      const p = sigmoid(w * xi + b);
      const r = p - y[i];
      const s = p * (1 - p);
      gb += r;
      gw += r * xi;
      hbb += s;
      hbw += s * xi;
      hww += s * xi * xi;
    }
    if (Math.abs(gb) + Math.abs(gw) < 1e-13 * n) break;
    // Tiny ridge on the intercept keeps the 2×2 solve defined when every p saturates.
    hbb += 1e-12 * n;
    const det = hbb * hww - hbw * hbw;
    let db = (hww * gb - hbw * gw) / det;
    let dw = (hbb * gw - hbw * gb) / det;
    if (!Number.isFinite(db) || !Number.isFinite(dw)) {
      db = gb / hbb;
      dw = gw / hww;
    }
    // Backtracking: Newton steps can overshoot on nearly separable data. Near the optimum the
    // objective is flat to rounding, so a step that leaves it unchanged to 1e-14 is accepted;
    // otherwise the weight would stall at √ε precision.
    const slack = 1e-14 * (1 + Math.abs(f));
    let t = 1;
    let accepted = false;
    while (t > 1e-12) {
      const nb = b - t * db;
      const nw = w - t * dw;
      const nf = objective(nb, nw);
      if (nf <= f + slack) {
        accepted = true;
        const change = Math.abs(nb - b) + Math.abs(nw - w);
        b = nb;
        w = nw;
        f = nf;
        if (change < 1e-14 * (1 + Math.abs(b) + Math.abs(w))) iter = maxIter;
        break;
      }
      t /= 2;
    }
    if (!accepted) break;
  }

  const weight = w / sd;
  const bias = b - (w * mu) / sd;
  return {
    weight,
    bias,
    // Score in standardised coordinates, the ones the fit was done in.
    predict: (v: number) => (w * ((v - mu) / sd) + b > 0 ? 1 : 0),
  };
}
