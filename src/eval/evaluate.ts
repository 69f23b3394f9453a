/**
 * Did it forget? Membership inference, gaps to the retrain oracle and the NeurIPS 2023 score,
 * computed from models' eval-mode predictions on a run's forget / retain / test sets.
 */
import { accuraciesOf, type Predictions, type SetPredictions } from '../models/predict.js';
import type { Accuracies, GapResult, MiaResult, NeuripsResult } from '../records/metrics.js';
import { DataError } from '../util/errors.js';
import {
  avgGap,
  forgettingQuality,
  logitScaledConfidence,
  miaEfficacy,
  neuripsScore,
  simpleMia,
} from './stats/index.js';

/** Per-example cross-entropy loss (float64, stable log-sum-exp). */
export function perSampleLoss(p: Predictions): Float64Array {
  const c = p.numClasses;
  const out = new Float64Array(p.labels.length);
  for (let i = 0; i < out.length; i++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, p.logits[i * c + k]);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(p.logits[i * c + k] - max);
    out[i] = max + Math.log(sum) - p.logits[i * c + p.labels[i]];
  }
  return out;
}

/** Per-example probability of the true class (the `confidence` feature of MIA-efficacy). */
export function trueClassConfidence(p: Predictions): Float64Array {
  const loss = perSampleLoss(p);
  return loss.map((l) => Math.exp(-l));
}

/**
 * Both membership-inference attacks on one model:
 * - `simple`: the NeurIPS 2023 starting kit's logistic regression on per-example loss, D_f
 *   (members) vs test (non-members), class-balanced, 10 splits; ~0.5 means indistinguishable.
 * - `efficacy`: a classifier on the true-class confidence trained with D_r as members and test as
 *   non-members, applied to D_f; the fraction of D_f predicted non-member.
 */
export function membershipInference(p: SetPredictions, seed: number): MiaResult {
  if (p.forget.labels.length < 2)
    throw new DataError('Membership inference needs at least 2 forget examples');
  return {
    simple: simpleMia(perSampleLoss(p.forget), perSampleLoss(p.test), { seed }),
    efficacy: miaEfficacy(
      trueClassConfidence(p.retain),
      trueClassConfidence(p.test),
      trueClassConfidence(p.forget),
      { seed },
    ),
  };
}

/**
 * SalUn's Avg Gap: absolute gaps to the oracle on forget / retain / test accuracy and on
 * MIA-efficacy (the MIA SalUn's summary uses), and their mean.
 */
export function gapToOracle(
  run: { accuracy: Accuracies; mia: MiaResult },
  oracle: { accuracy: Accuracies; mia: MiaResult },
): GapResult {
  return avgGap(
    {
      forget: run.accuracy.forget,
      retain: run.accuracy.retain,
      test: run.accuracy.test,
      mia: run.mia.efficacy,
    },
    {
      forget: oracle.accuracy.forget,
      retain: oracle.accuracy.retain,
      test: oracle.accuracy.test,
      mia: oracle.mia.efficacy,
    },
  );
}

/**
 * The NeurIPS 2023 forgetting quality F and final score from N unlearned and N retrained models'
 * predictions on the same forget set (N ≥ 2 each).
 */
export function neuripsEvaluation(
  unlearned: SetPredictions[],
  retrained: SetPredictions[],
): NeuripsResult {
  if (unlearned.length < 2 || retrained.length < 2) {
    throw new DataError(
      `The NeurIPS score needs at least 2 unlearned and 2 retrained models; received ${unlearned.length} and ${retrained.length}`,
    );
  }
  const reference = unlearned[0].forget.indices;
  for (const p of [...unlearned, ...retrained]) {
    if (
      p.forget.indices.length !== reference.length ||
      p.forget.indices.some((v, i) => v !== reference[i])
    ) {
      throw new DataError('The NeurIPS score needs every model evaluated on the same forget set');
    }
  }
  const f = (p: SetPredictions): Float64Array =>
    logitScaledConfidence(p.forget.logits, p.forget.labels);
  const { F } = forgettingQuality(unlearned.map(f), retrained.map(f));
  const u = unlearned.map(accuraciesOf);
  const r = retrained.map(accuraciesOf);
  return neuripsScore(
    F,
    u.map((a) => a.retain),
    u.map((a) => a.test),
    r.map((a) => a.retain),
    r.map((a) => a.test),
  );
}
