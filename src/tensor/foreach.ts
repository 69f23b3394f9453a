/**
 * Multi-tensor operations, as PyTorch's `torch._foreach_*`: one call applies an operation to every
 * tensor of a list. On the CPU libtorch runs them as a loop over the single-tensor kernels, so the
 * numbers are those of the per-tensor operations; what they save is the per-call cost between
 * TypeScript and libtorch (an optimizer step over a ResNet's 65 parameters is ~4 calls instead of
 * ~400).
 */
import { native } from './native.js';
import { OPS } from './ops.js';
import { wrap, type Tensor } from './tensor.js';

const handles = (ts: readonly Tensor[]): unknown[] => ts.map((t) => t.handle);

/** `[a_i + alpha · b_i]` (`torch._foreach_add(a, b, alpha=alpha)`): new tensors. */
export function foreachAdd(a: readonly Tensor[], b: readonly Tensor[], alpha = 1): Tensor[] {
  if (a.length === 0) return [];
  return (native.call(OPS.foreachAdd, handles(a), handles(b), alpha) as unknown[]).map(wrap);
}

/** `a_i += alpha · b_i` in place (`torch._foreach_add_(a, b, alpha=alpha)`). */
export function foreachAdd_(a: readonly Tensor[], b: readonly Tensor[], alpha = 1): void {
  if (a.length > 0) native.callInPlace(OPS.foreachAdd_, handles(a), handles(b), alpha);
}

/** `a_i *= scalar` in place (`torch._foreach_mul_(a, scalar)`). */
export function foreachMul_(a: readonly Tensor[], scalar: number): void {
  if (a.length > 0) native.callInPlace(OPS.foreachMul_, handles(a), scalar);
}

/** `[-a_i]` (`torch._foreach_neg(a)`): new tensors. */
export function foreachNeg(a: readonly Tensor[]): Tensor[] {
  if (a.length === 0) return [];
  return (native.call(OPS.foreachNeg, handles(a)) as unknown[]).map(wrap);
}
