/**
 * `srfl-calibrated`: sRFL that stops where retraining would.
 *
 * sRFL (the seed) pulls the student's forget logits toward the frozen teacher's logits rolled to
 * a wrong class, with no notion of where to stop: on a model that memorized its training set it
 * drives every forget example, and the model with them, far past what a model retrained without
 * D_f would do (that model still gets D_f about as right as unseen data). Forgetting a random D_f
 * means making D_f look like held-out data, no more.
 *
 * What this variant adds, using only what the user has (the original, D_f, D_r and the val half of
 * the test set; never a retrained model):
 *
 * 1. **A per-example target from held-out data.** The original's logit-scaled confidence
 *    φ(z, y) = z_y − log Σ_{c≠y} e^{z_c} (the NeurIPS 2023 attack's feature) on the val set is what
 *    "unseen" looks like. Forget examples are ranked by the teacher's own φ on them (memorized
 *    examples that were hard still sit lower), and example i of rank r_i gets the val quantile at
 *    (r_i + ½)/|D_f| as its target τ_i. So the targets have the val set's distribution, the easiest
 *    forget examples keep a high confidence and the hardest are meant to end misclassified, as
 *    in a retrained model; about val-accuracy of them keep τ_i > 0 (stay correct).
 * 2. **A target at the right confidence, and a per-example stop.** A forget example still above
 *    its target is distilled (KL, as sRFL's terms) toward the teacher's logits with the true
 *    class's logit *lowered* until φ = τ_i: the teacher's dark knowledge is kept, the confidence
 *    is the held-out one, and a negative τ_i makes the teacher's runner-up class the prediction,
 *    as a model that never saw the example would typically get it wrong. (`target: 'rolled'`
 *    uses sRFL's rolled logits instead; it lowers confidence everywhere, see the defaults.) Once
 *    the student's φ reaches τ_i the example drops out of the forget loss (its weight is 0), and
 *    re-enters if distillation on D_r lifts it back above.
 * 3. **A per-run stop.** The run ends as soon as, over the latest pass over D_f, at most
 *    `stopFraction` of the forget examples are still above their target: the time is spent only
 *    while there is something left to forget.
 * 4. **Distillation on D_r** (sRFL's third term), which keeps retain and test accuracy where the
 *    original had them.
 *
 * It is for random or per-sample deletion. For a whole forgotten class it does nothing useful (on
 * the class-forgetting scenario it kept 92% of the class, the oracle 0%): held-out data of the
 * classes the model keeps cannot say that a model which never saw a class gets it ~0% right.
 *
 * The student trains in eval mode (batch-norm running statistics frozen), so the φ the stop rule
 * reads is the one the evaluation sees. Defaults were chosen on the memorized-fmnist scenario with
 * forget sets drawn from seeds 100 and 101, never the seed-0 split of the committed table (see
 * README, "sRFL that stops where retraining would").
 */
import { F, noGrad, tensor, type Tensor } from '../../tensor/index.js';
import { OptionError } from '../../util/errors.js';
import { frozenTeacher } from '../teacher.js';
import type { MethodContext, MethodRun, StepInput, StepOutput, UnlearnMethod } from '../types.js';
import { distill, srflLogits, SRFL_DEFAULTS, validateShifts, type SrflOptions } from './srfl.js';

export interface SrflCalibratedOptions extends SrflOptions {
  /**
   * What a forget example still above its target is pulled toward: `'lowered'`, the teacher's
   * logits with the true class's logit lowered until φ equals the target (KL, as sRFL's), or
   * `'rolled'`, sRFL's rolled teacher logits (KL − cosine).
   */
  target: 'lowered' | 'rolled';
  /** Distillation on D_r: `'mse'` on logits (keeps their scale), or sRFL's `'kl'`. */
  retainLoss: 'mse' | 'kl';
  /**
   * End the run once at most this fraction of D_f is above its target over the latest pass over
   * D_f (0: train all `epochs`).
   */
  stopFraction: number;
  /** Added to every target τ_i: > 0 stops earlier (forgets less), < 0 later. */
  targetOffset: number;
}

/**
 * Defaults, chosen on the memorized-fmnist scenario with the forget set drawn from seed 100 (and
 * a check on seed 101), never the seed-0 split of the committed table; fp32, one thread. Avg Gap
 * to that split's oracle, in points:
 * - the rolled target (sRFL's KL − cosine) pushes every forget example toward a wrong class and
 *   lowers confidence everywhere: 5.1–6.6 (retain and test fall 1–5 points, forget barely);
 *   with lr 1e-2: 3.8;
 * - the lowered target at lr 1e-3 hardly moves in one epoch (7.2–7.7); MSE on logits instead of
 *   KL diverged at lr 1e-2; lr 3e-2 diverges;
 * - lowered, KL, lr 1e-2: all layers 3.9, layer1/layer2 only 4.2 at half the time (kept);
 *   batch 64 instead of 128 (twice the steps, same images): 3.7; forget weight 2: 2.6, 3: 2.4 (kept);
 *   retain weight 3: 3.7; forget weight 5 diverges; two epochs: 3.3 at twice the time.
 */
export const SRFL_CALIBRATED_DEFAULTS: Readonly<SrflCalibratedOptions> = Object.freeze({
  ...SRFL_DEFAULTS,
  epochs: 1,
  lr: 1e-2,
  batchSize: 64,
  trainable: ['layer1.', 'layer2.'],
  perSample: true,
  forgetWeight: 3,
  retainWeight: 1,
  target: 'lowered',
  retainLoss: 'kl',
  stopFraction: 0.05,
  targetOffset: 0,
});

/**
 * Logit-scaled confidence per row: φ = z_y − log Σ_{c≠y} exp(z_c), computed stably from logits
 * (`[n, C]`, row-major) without forming probabilities.
 */
export function logitConfidence(
  logits: Float32Array,
  labels: Int32Array,
  numClasses: number,
): Float64Array {
  const n = labels.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    const y = labels[i];
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) if (c !== y) max = Math.max(max, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) if (c !== y) sum += Math.exp(logits[row + c] - max);
    out[i] = logits[row + y] - (max + Math.log(sum));
  }
  return out;
}

/**
 * Per-example targets: forget examples ranked by the teacher's φ get the held-out φ quantile at
 * the same rank ((rank + ½) / n, linear interpolation between sorted held-out values).
 */
export function calibrationTargets(
  teacherForget: Float64Array,
  heldOut: Float64Array,
): Float64Array {
  if (heldOut.length === 0)
    throw new OptionError('srfl-calibrated needs held-out (val) predictions to set its targets');
  const sorted = Float64Array.from(heldOut).sort();
  const order = Array.from(teacherForget.keys()).sort(
    (a, b) => teacherForget[a] - teacherForget[b] || a - b,
  );
  const n = teacherForget.length;
  const out = new Float64Array(n);
  order.forEach((i, rank) => {
    const q = ((rank + 0.5) / n) * (sorted.length - 1);
    const lo = Math.floor(q);
    const hi = Math.min(lo + 1, sorted.length - 1);
    out[i] = sorted[lo] + (q - lo) * (sorted[hi] - sorted[lo]);
  });
  return out;
}

/** 1 where an example is still above its target (the rolled terms act on it), else 0. */
export function stillRemembered(phi: Float64Array, target: Float64Array): Float32Array {
  return Float32Array.from(phi, (v, i) => (v > target[i] ? 1 : 0));
}

/**
 * The teacher's logits with the true class's logit set so that φ equals `target`:
 * z*_y = target + log Σ_{c≠y} e^{z_c}, every other logit kept. A negative target leaves the
 * example misclassified as the teacher's runner-up class, as a model that never saw it would
 * typically get it wrong.
 */
export function loweredLogits(
  logits: Float32Array,
  labels: Int32Array,
  targets: Float64Array,
  numClasses: number,
): Float32Array {
  const out = Float32Array.from(logits);
  for (let i = 0; i < labels.length; i++) {
    const row = i * numClasses;
    const y = labels[i];
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) if (c !== y) max = Math.max(max, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) if (c !== y) sum += Math.exp(logits[row + c] - max);
    out[row + y] = targets[i] + max + Math.log(sum);
  }
  return out;
}

/** Per-example mean squared error over the class dimension, masked: Σ_i m_i·mse_i / n. */
export function maskedLogitLoss(student: Tensor, target: Tensor, mask: Tensor): Tensor {
  const perExample = student.sub(target).square().mean(1);
  return perExample.mul(mask).sum().div(student.shape[0]);
}

/**
 * The forget terms per example, masked: Σ_i m_i·(w_f·KL_i(rolled ‖ student) − w_c·cos_i) / n,
 * with the rolled terms of sRFL (softmax temperature T on the KL).
 */
export function maskedForgetLoss(
  student: Tensor,
  rolledTeacher: Tensor,
  mask: Tensor,
  o: Pick<SrflOptions, 'forgetWeight' | 'cosineWeight' | 'temperature'>,
): Tensor {
  const t = o.temperature;
  const s = t === 1 ? student : student.div(t);
  const r = t === 1 ? rolledTeacher : rolledTeacher.div(t);
  const kl = F.klDiv(s.logSoftmax(1), r.softmax(1), { reduction: 'none' }).sum(1);
  const cos = F.cosineSimilarity(rolledTeacher, student, 1);
  const perExample = kl.mul(o.forgetWeight).sub(cos, o.cosineWeight);
  return perExample.mul(mask).sum().div(student.shape[0]);
}

export const srflCalibrated: UnlearnMethod<SrflCalibratedOptions> = {
  id: 'srfl-calibrated',
  summary:
    'sRFL with a per-example stop: rolled-logit terms act on a forget example only while its confidence is above the held-out level at its rank; the run ends when D_f looks held-out',
  defaults: SRFL_CALIBRATED_DEFAULTS,
  iteration: 'paired',
  validate(o, numClasses) {
    validateShifts(o.shifts, numClasses);
    if (!(o.stopFraction >= 0 && o.stopFraction < 1))
      throw new OptionError(
        `Expected a number in [0, 1) for stopFraction but received ${String(o.stopFraction)}`,
      );
    if (o.target !== 'lowered' && o.target !== 'rolled')
      throw new OptionError(
        `Expected target 'lowered' or 'rolled' but received '${String(o.target)}'`,
      );
    if (o.retainLoss !== 'mse' && o.retainLoss !== 'kl')
      throw new OptionError(
        `Expected retainLoss 'mse' or 'kl' but received '${String(o.retainLoss)}'`,
      );
    if (!Number.isFinite(o.targetOffset))
      throw new OptionError(
        `Expected a finite number for targetOffset but received ${String(o.targetOffset)}`,
      );
  },
  prepare(ctx: MethodContext, o: SrflCalibratedOptions): MethodRun {
    const original = ctx.originalPredictions;
    if (!original?.val || original.val.labels.length === 0)
      throw new OptionError(
        "srfl-calibrated needs the original's predictions on a val set (a split with val indices): its targets come from held-out data",
      );
    const c = ctx.numClasses;
    const f = original.forget;
    const targets = calibrationTargets(
      logitConfidence(f.logits, f.labels, c),
      logitConfidence(original.val.logits, original.val.labels, c),
    ).map((v) => v + o.targetOffset);
    // Targets by training-set index, and the latest reading of each forget example.
    const targetOf = new Map<number, number>();
    f.indices.forEach((k, i) => targetOf.set(k, targets[i]));
    const above = new Map<number, number>();
    for (const k of f.indices) above.set(k, 1);
    let aboveCount = f.indices.length;
    let seenInPass = 0;
    let passDone = false;

    const teacher = frozenTeacher(ctx);
    ctx.model.setTrainable(o.trainable);
    return {
      step(input: StepInput): StepOutput {
        const { teacher: t, student } = srflLogits(ctx, teacher, input, o);
        const forget = input.forget!;
        const labels = Int32Array.from(forget.indices, (k) => ctx.data.train.labels[k]);
        const phi = noGrad(() =>
          logitConfidence(student.forget.detach().data() as Float32Array, labels, c),
        );
        const tau = Float64Array.from(forget.indices, (k) => targetOf.get(k)!);
        const maskValues = stillRemembered(phi, tau);
        forget.indices.forEach((k, i) => {
          aboveCount += maskValues[i] - above.get(k)!;
          above.set(k, maskValues[i]);
        });
        seenInPass += forget.size;
        if (seenInPass >= f.indices.length) passDone = true;
        const mask = tensor(maskValues, [forget.size], { device: ctx.device });
        let forgetLoss: Tensor;
        if (o.target === 'rolled') {
          forgetLoss = maskedForgetLoss(student.forget, t.rolledForget, mask, o);
        } else {
          const goal = loweredLogits(t.forget.data() as Float32Array, labels, tau, c);
          forgetLoss = maskedForgetLoss(
            student.forget,
            tensor(goal, [forget.size, c], { device: ctx.device }),
            mask,
            { ...o, cosineWeight: 0 },
          );
        }
        const retainLoss =
          o.retainLoss === 'mse'
            ? student.retain.sub(t.retain).square().mean()
            : distill(student.retain, t.retain, o.temperature);
        const loss = forgetLoss.add(retainLoss, o.retainWeight);
        return { loss, forgetLogits: student.forget, retainLogits: student.retain };
      },
      done: () => o.stopFraction > 0 && passDone && aboveCount <= o.stopFraction * f.indices.length,
      dispose: () => teacher.dispose(),
    };
  },
};
