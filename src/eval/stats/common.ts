/**
 * Small numeric helpers shared by the metric modules. Internal: not re-exported.
 */
import { DataError } from '../../util/errors.js';

/** Any read-only run of numbers the metric functions accept. */
export type NumericArray = ArrayLike<number>;

/** Copies `values` into a fresh Float64Array, so callers' arrays are never mutated. */
export function toFloat64(values: NumericArray): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/** Throws unless every value is finite; `what` names the argument in the message. */
export function assertFinite(values: NumericArray, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new DataError(
        `Expected finite values for ${what} but received ${values[i]} at index ${i}`,
      );
    }
  }
}

/** Throws unless `values` holds at least `min` entries. */
export function assertMinLength(values: NumericArray, min: number, what: string): void {
  if (values.length < min) {
    throw new DataError(
      `Expected at least ${min} value${min === 1 ? '' : 's'} for ${what} but received ${values.length}`,
    );
  }
}

/** Arithmetic mean; the caller guarantees a non-empty input. */
export function mean(values: NumericArray): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Median with numpy's convention (mean of the two middle values for an even count). */
export function median(sorted: Float64Array): number {
  const n = sorted.length;
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
}

/** A sorted float64 copy. */
export function sortedCopy(values: NumericArray): Float64Array {
  return toFloat64(values).sort();
}

/** Number of entries of ascending `sorted` that are strictly less than `x`. */
export function countLess(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of entries of ascending `sorted` that are less than or equal to `x`. */
export function countLessOrEqual(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * numpy's `linspace(start, stop, num)`: `num` evenly spaced values with both ends included
 * exactly (the last value is set to `stop`, as numpy does, so ties at the ends behave alike).
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(Math.max(0, num));
  if (num <= 0) return out;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  out[num - 1] = stop;
  return out;
}
