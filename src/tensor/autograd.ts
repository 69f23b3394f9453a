/** Grad mode, gradients without `.grad`, seeding and threads. */
import { native } from './native.js';
import { Tensor, wrap } from './tensor.js';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` with gradient recording off (PyTorch's `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with gradient recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of failing. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs`, returned rather than accumulated into `.grad`
 * (`torch.autograd.grad`). Used by saliency masks and Fisher information.
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const result = native.autogradGrad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    options.gradOutputs ? options.gradOutputs.map((t) => (t === null ? null : t.handle)) : null,
    options.retainGraph ?? false,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h === null ? null : wrap(h)));
}

/** Seeds libtorch's generators (CPU and CUDA) so random draws are reproducible. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0)
    throw new RangeError(`Expected a non-negative integer seed but received ${seed}`);
  native.manualSeed(seed);
}

/** Sets libtorch's intra-op thread count. Lethe defaults it to the machine's cores. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`Expected a positive integer thread count but received ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** The libtorch version Lethe was built against, and CUDA availability. */
export function versions(): { libtorch: string; cuda: string } {
  return native.versions();
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  synchronize: (): void => native.cudaSynchronize(),
};
