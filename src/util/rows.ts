/** Row-major `[n, width]` matrices held in flat arrays (logits cached per example). */

/** The rows `indices` of a row-major `[n, width]` matrix, in that order. */
export function gatherRows(
  matrix: Float32Array,
  indices: ArrayLike<number>,
  width: number,
): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    out.set(matrix.subarray(i * width, (i + 1) * width), r * width);
  }
  return out;
}
