/**
 * The held-out targets of `srfl-calibrated` (see methods/srfl-calibrated.ts): the logit-scaled
 * confidence φ, the forget examples' targets τ_i taken from held-out φ at their rank (or, for a
 * forgotten class, from the confidence a model that never saw it keeps), which examples are still
 * above them, and the teacher's logits lowered to a target. Plain arrays, no tensors.
 */
import { OptionError } from '../util/errors.js';
import { gatherRows } from '../util/rows.js';

/**
 * Logit-scaled confidence per row: φ = z_y − log Σ_{c≠y} exp(z_c), computed stably from logits
 * (`[n, C]`, row-major) without forming probabilities.
 */
export function logitConfidence(
  logits: Float32Array,
  labels: Int32Array,
  numClasses: number,
): Float64Array {
  return Float64Array.from(labels, (y, i) => {
    const row = i * numClasses;
    return logits[row + y] - logSumExpOthers(logits, row, y, numClasses);
  });
}

/** log Σ_{c≠y} exp(z_c) over one row of logits starting at `row`, computed stably. */
function logSumExpOthers(logits: Float32Array, row: number, y: number, numClasses: number): number {
  let max = -Infinity;
  for (let c = 0; c < numClasses; c++) if (c !== y) max = Math.max(max, logits[row + c]);
  let sum = 0;
  for (let c = 0; c < numClasses; c++) if (c !== y) sum += Math.exp(logits[row + c] - max);
  return max + Math.log(sum);
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

/**
 * Classes that D_f holds and D_r does not: a model retrained without D_f never saw them.
 */
export function forgottenClasses(forgetLabels: Int32Array, retainLabels: Int32Array): Set<number> {
  const kept = new Set(retainLabels);
  return new Set(Array.from(forgetLabels).filter((y) => !kept.has(y)));
}

/**
 * What "never seen" looks like for class `c`: the original's φ toward `c` on the held-out
 * examples of other classes that it does not call `c` (φ_c < 0). A model retrained without a
 * class saw every one of its training images only as a negative example of it, so this is the
 * confidence it keeps in that class.
 */
export function absentClassConfidence(
  logits: Float32Array,
  labels: Int32Array,
  c: number,
  numClasses: number,
): Float64Array {
  const others = Array.from(labels.keys()).filter((i) => labels[i] !== c);
  const towardC = new Int32Array(others.length).fill(c);
  return logitConfidence(gatherRows(logits, others, numClasses), towardC, numClasses).filter(
    (v) => v < 0,
  );
}

/**
 * Every forget example's target τ_i (in the order of `forget`). Examples of a class D_r still
 * holds get the held-out φ quantile at their rank among them, from val examples of the kept
 * classes; examples of a class D_r no longer holds get, class by class, the quantile at their rank
 * of `absentClassConfidence`: pushed below the classes the model keeps, as retraining would.
 */
export function forgetTargets(
  forget: { logits: Float32Array; labels: Int32Array },
  val: { logits: Float32Array; labels: Int32Array },
  retainLabels: Int32Array,
  numClasses: number,
): Float64Array {
  const gone = forgottenClasses(forget.labels, retainLabels);
  const teacher = logitConfidence(forget.logits, forget.labels, numClasses);
  const out = new Float64Array(forget.labels.length);
  const fill = (rows: number[], heldOut: Float64Array, what: string): void => {
    if (rows.length === 0) return;
    if (heldOut.length === 0)
      throw new OptionError(`srfl-calibrated needs held-out (val) predictions of ${what}`);
    const t = calibrationTargets(
      Float64Array.from(rows, (i) => teacher[i]),
      heldOut,
    );
    rows.forEach((i, r) => (out[i] = t[r]));
  };
  const all = Array.from(forget.labels.keys());
  const keptVal = Array.from(val.labels.keys()).filter((i) => !gone.has(val.labels[i]));
  fill(
    all.filter((i) => !gone.has(forget.labels[i])),
    logitConfidence(
      gatherRows(val.logits, keptVal, numClasses),
      Int32Array.from(keptVal, (i) => val.labels[i]),
      numClasses,
    ),
    'the classes it keeps',
  );
  for (const c of gone)
    fill(
      all.filter((i) => forget.labels[i] === c),
      absentClassConfidence(val.logits, val.labels, c, numClasses),
      `classes other than the forgotten class ${c}`,
    );
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
  labels.forEach((y, i) => {
    const row = i * numClasses;
    out[row + y] = targets[i] + logSumExpOthers(logits, row, y, numClasses);
  });
  return out;
}
