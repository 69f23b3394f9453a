/**
 * U-LiRA: the per-example likelihood-ratio attack against unlearning (Hayes, Shumailov,
 * Triantafillou, Khalifa, Papernot 2024, "Inexact unlearning needs more careful evaluations to
 * avoid a false sense of privacy"), built on LiRA (Carlini et al. 2022, "Membership inference
 * attacks from first principles").
 *
 * The question: given a model and one of the examples it was asked to forget, was the example
 * trained on and then unlearned, or was the model trained without it? For each example the
 * attacker fits two Gaussians to the logit-scaled confidence φ = log p_y − log Σ_{c≠y} p_c that
 * *shadow* models give it: those that trained on the example and unlearned it with the method,
 * and those trained without it. A target model is scored by the log likelihood ratio
 * log N(φ; μ_u, σ_u) − log N(φ; μ_r, σ_r) and called "unlearned" when it is positive.
 *
 * This module is pure arithmetic over observations; which models are shadows and which are
 * targets is the caller's (src/run/audit.ts: leave one shadow out as the target, fit on the rest).
 */
import { DataError, OptionError } from '../../util/errors.js';

/** One model's φ on one example, and which group the model is in for that example. */
export interface AuditObservation {
  /** The example's id (an index into the audit's pool). */
  example: number;
  phi: number;
  /** True: the model trained on the example and unlearned it; false: it never trained on it. */
  unlearned: boolean;
}

/** Options of {@link uLira}. */
export interface ULiraOptions {
  /**
   * `global` (default): per-example means, one standard deviation per group pooled over every
   * example — LiRA's advice when there are few shadow models (under ~64), where per-example
   * variances are too noisy; `per-example`: each example's own standard deviations.
   */
  variance?: 'global' | 'per-example';
  /**
   * Fewest shadow observations of each group an example needs to be scored: default 1 with a
   * global variance (only the mean is the example's own), 2 with per-example variances.
   */
  minObservations?: number;
}

/** A Gaussian's fit: observation count, mean and (sample) standard deviation. */
export interface GaussianFit {
  n: number;
  mean: number;
  std: number;
}

/** What the attack makes of one example over all models (shadows and targets alike). */
export interface ExampleAudit {
  example: number;
  unlearned: GaussianFit;
  retrained: GaussianFit;
  /** (μ_u − μ_r) / √((σ_u² + σ_r²) / 2): > 0 means unlearned models are still more confident on it. */
  separation: number;
  /** The attack's accuracy on this example's held-out target observations (0.5 = chance). */
  accuracy: number;
  /** How many held-out target observations scored it. */
  scored: number;
}

/** The attack's result over every target model. */
export interface ULiraResult {
  /** Balanced accuracy (mean of TPR and TNR at threshold 0) per target, their mean and 95% CI. */
  accuracy: { mean: number; ci95: [number, number]; perTarget: number[] };
  /** Area under the ROC curve of all targets' scores pooled. */
  auc: number;
  /** True-positive rate at the largest threshold whose false-positive rate is ≤ 1% / 5%. */
  tprAt1: number;
  tprAt5: number;
  /** Scored (target, example) observations: unlearned and retrained. */
  scored: { unlearned: number; retrained: number };
  examples: ExampleAudit[];
  variance: 'global' | 'per-example';
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

function logNormal(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return -0.5 * z * z - Math.log(std) - LOG_SQRT_2PI;
}

/** Per example and group, the φ values of a set of models. */
class Groups {
  readonly u = new Map<number, number[]>();
  readonly r = new Map<number, number[]>();
  add(o: AuditObservation): void {
    const m = o.unlearned ? this.u : this.r;
    const list = m.get(o.example);
    if (list) list.push(o.phi);
    else m.set(o.example, [o.phi]);
  }
}

function fit(values: readonly number[] | undefined): GaussianFit {
  if (!values || values.length === 0) return { n: 0, mean: NaN, std: NaN };
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { n, mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN };
}

/** The pooled within-example standard deviation of one group (√(Σ squared deviations / Σ(n−1))). */
function pooledStd(groups: Map<number, number[]>): number {
  let ss = 0;
  let dof = 0;
  for (const values of groups.values()) {
    if (values.length < 2) continue;
    const m = values.reduce((s, v) => s + v, 0) / values.length;
    ss += values.reduce((s, v) => s + (v - m) ** 2, 0);
    dof += values.length - 1;
  }
  return dof > 0 ? Math.sqrt(ss / dof) : NaN;
}

/** A floor under every standard deviation, so a group of identical φ does not give ±∞ scores. */
const MIN_STD = 1e-3;

/** Scores each observation of a target against Gaussians fit on the shadows; NaN where unscored. */
function scoreTarget(
  target: readonly AuditObservation[],
  shadows: Groups,
  variance: 'global' | 'per-example',
  minObservations: number,
): number[] {
  const globalU = Math.max(pooledStd(shadows.u), MIN_STD);
  const globalR = Math.max(pooledStd(shadows.r), MIN_STD);
  return target.map((o) => {
    const u = fit(shadows.u.get(o.example));
    const r = fit(shadows.r.get(o.example));
    if (u.n < minObservations || r.n < minObservations) return NaN;
    const su = variance === 'global' ? globalU : Math.max(u.std, MIN_STD);
    const sr = variance === 'global' ? globalR : Math.max(r.std, MIN_STD);
    return logNormal(o.phi, u.mean, su) - logNormal(o.phi, r.mean, sr);
  });
}

/**
 * Runs U-LiRA with each model in turn as the target and the others as shadows (leave-one-out):
 * `models[k]` are the observations model k gives the shadows' fits, `targets[k]` those it is
 * judged on (often the same). Returns the balanced accuracy over targets with a 95% t-interval,
 * the pooled AUC and TPR at 1% / 5% FPR, and per-example fits and accuracies.
 *
 * @example
 * // Two groups far apart: the attack tells them apart (accuracy ≈ 1).
 * uLira(models, models).accuracy.mean;
 */
export function uLira(
  models: readonly (readonly AuditObservation[])[],
  targets: readonly (readonly AuditObservation[])[] = models,
  options: ULiraOptions = {},
): ULiraResult {
  const variance = options.variance ?? 'global';
  const least = variance === 'per-example' ? 2 : 1;
  const minObservations = options.minObservations ?? least;
  if (variance !== 'global' && variance !== 'per-example')
    throw new OptionError(
      `Expected 'global' or 'per-example' for variance but received ${JSON.stringify(variance)}`,
    );
  if (!Number.isInteger(minObservations) || minObservations < least)
    throw new OptionError(
      `Expected an integer ≥ ${least} for minObservations (${variance} variance) but received ${minObservations}`,
    );
  if (models.length < 3)
    throw new DataError(
      `U-LiRA needs at least 3 models (one target, two shadows) but received ${models.length}`,
    );
  if (targets.length !== models.length)
    throw new DataError(
      `Expected one list of target observations per model (${models.length}) but received ${targets.length}`,
    );
  for (const list of [...models, ...targets])
    for (const o of list)
      if (!Number.isFinite(o.phi))
        throw new DataError(`Expected a finite φ for example ${o.example} but received ${o.phi}`);

  const perTarget: number[] = [];
  const positives: number[] = [];
  const negatives: number[] = [];
  const perExample = new Map<number, { correct: number; scored: number }>();
  for (let k = 0; k < models.length; k++) {
    const shadows = new Groups();
    models.forEach((list, j) => j !== k && list.forEach((o) => shadows.add(o)));
    const scores = scoreTarget(targets[k], shadows, variance, minObservations);
    let tp = 0;
    let p = 0;
    let tn = 0;
    let n = 0;
    targets[k].forEach((o, i) => {
      const s = scores[i];
      if (Number.isNaN(s)) return;
      const correct = o.unlearned ? s > 0 : s <= 0;
      if (o.unlearned) {
        p++;
        if (correct) tp++;
        positives.push(s);
      } else {
        n++;
        if (correct) tn++;
        negatives.push(s);
      }
      const e = perExample.get(o.example) ?? { correct: 0, scored: 0 };
      e.correct += correct ? 1 : 0;
      e.scored++;
      perExample.set(o.example, e);
    });
    if (p > 0 && n > 0) perTarget.push(0.5 * (tp / p + tn / n));
  }
  if (perTarget.length === 0)
    throw new DataError(
      `No target had both unlearned and retrained observations with ≥ ${minObservations} shadow observations of each group; audit more shadows or a smaller audit set`,
    );

  const all = new Groups();
  models.forEach((list) => list.forEach((o) => all.add(o)));
  const ids = [...new Set([...all.u.keys(), ...all.r.keys()])].sort((a, b) => a - b);
  const examples: ExampleAudit[] = ids.map((example) => {
    const u = fit(all.u.get(example));
    const r = fit(all.r.get(example));
    const spread = Math.sqrt((u.std ** 2 + r.std ** 2) / 2);
    const e = perExample.get(example);
    return {
      example,
      unlearned: u,
      retrained: r,
      separation: spread > 0 ? (u.mean - r.mean) / spread : NaN,
      accuracy: e ? e.correct / e.scored : NaN,
      scored: e?.scored ?? 0,
    };
  });

  return {
    accuracy: { ...meanCi95(perTarget), perTarget },
    auc: auc(positives, negatives),
    tprAt1: tprAtFpr(positives, negatives, 0.01),
    tprAt5: tprAtFpr(positives, negatives, 0.05),
    scored: { unlearned: positives.length, retrained: negatives.length },
    examples,
    variance,
  };
}

/** Two-sided 97.5% quantiles of Student's t for 1–30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

/** Student's t quantile at 0.975 (the table to 30 degrees of freedom, 1.96 + 2.4/df beyond). */
export function t975(dof: number): number {
  if (!Number.isInteger(dof) || dof < 1)
    throw new OptionError(`Expected an integer ≥ 1 for degrees of freedom but received ${dof}`);
  return dof <= T975.length ? T975[dof - 1] : 1.96 + 2.4 / dof;
}

/** Mean and 95% t-interval of a sample (the interval is the mean itself for one value). */
export function meanCi95(values: readonly number[]): { mean: number; ci95: [number, number] } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, ci95: [mean, mean] };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { mean, ci95: [mean - half, mean + half] };
}

/** Area under the ROC curve: P(positive score > negative score) + ½ P(tie) (Mann–Whitney). */
export function auc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return NaN;
  const all = [...positives.map((s) => ({ s, p: 1 })), ...negatives.map((s) => ({ s, p: 0 }))].sort(
    (a, b) => a.s - b.s,
  );
  // Mid-ranks over ties.
  let rankSumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].s === all[i].s) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k].p) rankSumPos += rank;
    i = j + 1;
  }
  const np = positives.length;
  return (rankSumPos - (np * (np + 1)) / 2) / (np * negatives.length);
}

/**
 * The true-positive rate of the rule "positive when score ≥ t" at the lowest threshold t whose
 * false-positive rate is at most `fpr` (0 when even the strictest threshold exceeds it).
 */
export function tprAtFpr(
  positives: readonly number[],
  negatives: readonly number[],
  fpr: number,
): number {
  if (positives.length === 0 || negatives.length === 0) return NaN;
  const pos = [...positives].sort((a, b) => b - a);
  const neg = [...negatives].sort((a, b) => b - a);
  const thresholds = [...new Set([...pos, ...neg])].sort((a, b) => b - a);
  let best = 0;
  let fp = 0;
  let tp = 0;
  for (const t of thresholds) {
    while (fp < neg.length && neg[fp] >= t) fp++;
    while (tp < pos.length && pos[tp] >= t) tp++;
    if (fp / neg.length > fpr) break;
    best = tp / pos.length;
  }
  return best;
}
