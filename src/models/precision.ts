/**
 * How a model computes: its device, its precision (Lightning's names) and the memory format of
 * its images and convolution weights. Parsed and defaulted once, by `resolveCompute`, into a
 * record that training, unlearning and prediction all receive.
 *
 * Mixed precision follows PyTorch's recipe: parameters, gradients, optimizer state stay float32;
 * the forward pass runs under libtorch's autocast (convolutions and linear layers in the lower
 * precision); a model's outputs are cast back to float32, so softmax, KL, cosine, losses and
 * metrics are computed in float32. `fp16-mixed` also scales the loss (`GradScaler`).
 */
import type { Module, RemovableHandle } from '../nn/module.js';
import { autocast, type Tensor } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';

/** `fp32`; `bf16-mixed` (CPU and CUDA); `fp16-mixed` (CUDA only, with loss scaling). */
export type Precision = 'fp32' | 'bf16-mixed' | 'fp16-mixed';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16-mixed', 'fp16-mixed'];

/** Layout of 4-D tensors: row-major NCHW, or NHWC strides (`torch.channels_last`). */
export type ModelMemoryFormat = 'contiguous' | 'channelsLast';
export const MEMORY_FORMATS: readonly ModelMemoryFormat[] = ['contiguous', 'channelsLast'];

/** What a caller may set; everything left out takes `computeDefaults(device)`. */
export interface ComputeOptions {
  precision?: Precision;
  memoryFormat?: ModelMemoryFormat;
}

/** The resolved, validated settings. */
export interface Compute {
  device: string;
  precision: Precision;
  memoryFormat: ModelMemoryFormat;
}

/**
 * Defaults per device. Precision is `fp32` everywhere (mixed precision changes the numbers, so
 * it is asked for). The memory format is the faster one where it is known to be: channels-last
 * on the CPU (oneDNN's NHWC kernels: PyTorch 1.13's ResNet-20 step at batch 128 took 89 ms
 * instead of 118 ms here, docs/engine.md), and on CUDA with mixed precision (cuDNN's
 * tensor-core kernels want NHWC); CUDA fp32 stays contiguous.
 */
export function computeDefaults(device: string, precision: Precision = 'fp32'): Compute {
  const channelsLast = device === 'cpu' || precision !== 'fp32';
  return { device, precision, memoryFormat: channelsLast ? 'channelsLast' : 'contiguous' };
}

/** Validates and defaults compute options for a device; fails before any work is done. */
export function resolveCompute(device: string, options: ComputeOptions = {}): Compute {
  const precision = options.precision ?? 'fp32';
  const memoryFormat = options.memoryFormat ?? computeDefaults(device, precision).memoryFormat;
  if (!PRECISIONS.includes(precision)) {
    throw new OptionError(
      `Expected precision ${PRECISIONS.map((p) => `'${p}'`).join(', ')} but received ${JSON.stringify(precision)}`,
    );
  }
  if (!MEMORY_FORMATS.includes(memoryFormat)) {
    throw new OptionError(
      `Expected memoryFormat 'contiguous' or 'channelsLast' but received ${JSON.stringify(memoryFormat)}`,
    );
  }
  if (precision === 'fp16-mixed' && !device.startsWith('cuda')) {
    throw new OptionError(
      `Expected precision 'fp32' or 'bf16-mixed' on device '${device}' but received 'fp16-mixed' (float16 autocast and loss scaling need CUDA)`,
    );
  }
  return { device, precision, memoryFormat };
}

/** Runs `fn` (a forward pass and its loss) under the precision's autocast; fp32 runs it as is. */
export function withPrecision<T>(compute: Compute, fn: () => T): T {
  if (compute.precision === 'fp32') return fn();
  return autocast(
    {
      device: compute.device,
      dtype: compute.precision === 'fp16-mixed' ? 'float16' : 'bfloat16',
    },
    fn,
  );
}

/**
 * Puts a model on the compute's device and memory format, and (for mixed precision) casts its
 * outputs to float32 with a forward hook. Returns the hook's handle (remove it to stop casting).
 */
export function prepareModel(model: Module, compute: Compute): RemovableHandle {
  model.to({ device: compute.device, memoryFormat: compute.memoryFormat });
  if (compute.precision === 'fp32') return { remove: () => {} };
  return model.registerForwardHook((_m, _x, out) => toFloat32(out));
}

/** A floating tensor in float32 (the same tensor when it already is). */
export function toFloat32(t: Tensor): Tensor {
  return t.dtype === 'bfloat16' || t.dtype === 'float16' ? t.float() : t;
}

/** A batch of images in the compute's memory format (the same tensor when it already is). */
export function toMemoryFormat(x: Tensor, compute: Compute): Tensor {
  if (compute.memoryFormat !== 'channelsLast' || x.ndim !== 4) return x;
  return x.contiguous({ memoryFormat: 'channelsLast' });
}
