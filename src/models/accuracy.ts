/**
 * Accuracy arithmetic, in one place: overall and per-class accuracy of predicted class ids. The
 * training loop, prediction, evaluation and reports all count correct predictions here.
 */
import type { PerClass } from '../records/metrics.js';
import { DataError } from '../util/errors.js';

function assertSameLength(pred: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (pred.length !== labels.length) {
    throw new DataError(
      `Expected as many predictions as labels (${labels.length}) but received ${pred.length}`,
    );
  }
}

/**
 * Fraction of predictions equal to their labels.
 *
 * @example
 * accuracy(Int32Array.of(0, 1, 1), Int32Array.of(0, 1, 0)); // 2/3
 */
export function accuracy(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  assertSameLength(pred, labels);
  if (labels.length === 0) throw new DataError('Expected at least one label but received 0');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Accuracy within each true class, index = class id; `null` for classes with no sample in the
 * set (a forgotten class is absent from D_r, for instance), so the result is NaN-free.
 *
 * @example
 * perClassAccuracy(Int32Array.of(0, 1, 1), Int32Array.of(0, 1, 0), 3); // [0.5, 1, null]
 */
export function perClassAccuracy(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): PerClass {
  assertSameLength(pred, labels);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new DataError(`Expected a positive integer for numClasses but received ${numClasses}`);
  }
  const total = new Float64Array(numClasses);
  const correct = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new DataError(`Expected a label in [0, ${numClasses}) at index ${i} but received ${y}`);
    }
    total[y]++;
    if (pred[i] === y) correct[y]++;
  }
  const out: PerClass = [];
  for (let c = 0; c < numClasses; c++) out.push(total[c] > 0 ? correct[c] / total[c] : null);
  return out;
}
