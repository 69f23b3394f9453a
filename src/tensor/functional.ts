/**
 * Functional neural-network operations, as `torch.nn.functional`. Options objects take PyTorch's
 * keyword names in camelCase, with PyTorch's defaults.
 */
import { native, TensorArgumentError } from './native.js';
import { OPS } from './ops.js';
import { Tensor, wrap } from './tensor.js';

export type Reduction = 'none' | 'mean' | 'sum';
type Pair = number | [number, number];

function reductionCode(r: Reduction | 'batchmean'): number {
  switch (r) {
    case 'none':
      return 0;
    case 'mean':
      return 1;
    case 'sum':
    case 'batchmean':
      return 2;
    default:
      throw new TensorArgumentError(
        `Expected reduction 'none', 'mean' or 'sum' but received '${String(r)}'`,
      );
  }
}

const opt = (t: Tensor | null | undefined): unknown => (t == null ? null : t.handle);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  o: Conv2dOptions = {},
): Tensor {
  if (input.ndim !== 4 && input.ndim !== 3) {
    throw new TensorArgumentError(
      `conv2d: expected input of shape [N, C, H, W] but received [${input.shape}]`,
    );
  }
  return wrap(
    native.call(
      OPS.conv2d,
      input.handle,
      weight.handle,
      opt(bias),
      o.stride ?? 1,
      o.padding ?? 0,
      o.dilation ?? 1,
      o.groups ?? 1,
    ),
  );
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with batch statistics and update the running ones (true), or use the running ones. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalisation; in training mode `runningMean`/`runningVar` are updated in place. */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  o: BatchNormOptions = {},
): Tensor {
  return wrap(
    native.call(
      OPS.batchNorm,
      input.handle,
      opt(o.weight),
      opt(o.bias),
      opt(runningMean),
      opt(runningVar),
      o.training ?? false,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
      true,
    ),
  );
}

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.call(OPS.linear, input.handle, weight.handle, opt(bias)));
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return wrap(native.call(OPS.leakyRelu, x.handle, negativeSlope));
}

export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return wrap(native.call(OPS.gelu, x.handle, approximate));
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export interface MaxPool2dOptions extends PoolOptions {
  dilation?: Pair;
}

export interface AvgPool2dOptions extends PoolOptions {
  countIncludePad?: boolean;
}

export function maxPool2d(x: Tensor, kernelSize: Pair, o: MaxPool2dOptions = {}): Tensor {
  return wrap(
    native.call(
      OPS.maxPool2d,
      x.handle,
      kernelSize,
      o.stride ?? kernelSize,
      o.padding ?? 0,
      o.dilation ?? 1,
      o.ceilMode ?? false,
    ),
  );
}

export function avgPool2d(x: Tensor, kernelSize: Pair, o: AvgPool2dOptions = {}): Tensor {
  return wrap(
    native.call(
      OPS.avgPool2d,
      x.handle,
      kernelSize,
      o.stride ?? kernelSize,
      o.padding ?? 0,
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
    ),
  );
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return wrap(native.call(OPS.adaptiveAvgPool2d, x.handle, outputSize));
}

/** Zeroes elements with probability `p` (scaling the rest by 1/(1-p)) when `training`. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1))
    throw new TensorArgumentError(`dropout: expected p in [0, 1] but received ${p}`);
  return wrap(native.call(OPS.dropout, x.handle, p, training));
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

/**
 * Runs the native `op` on `target`'s handle as class indices and wraps its tensor. libtorch's
 * losses need int64 class indices: int32 labels from the data layer go through an int64 copy,
 * freed afterwards.
 */
function withLabels(target: Tensor, op: (labels: unknown) => unknown): Tensor {
  const long = target.dtype === 'int64' || target.dtype.startsWith('float') ? null : target.long();
  try {
    return wrap(op((long ?? target).handle));
  } finally {
    long?.dispose();
  }
}

/** A classification loss's weight, reduction and ignored index as the native losses take them. */
function classLossArgs(o: Omit<CrossEntropyOptions, 'labelSmoothing'>): unknown[] {
  return [opt(o.weight), reductionCode(o.reduction ?? 'mean'), o.ignoreIndex ?? -100];
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross-entropy between logits `[N, C]` and class indices `[N]` (or class probabilities). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return withLabels(target, (t) =>
    native.call(OPS.crossEntropy, logits.handle, t, ...classLossArgs(o), o.labelSmoothing ?? 0),
  );
}

export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {},
): Tensor {
  return withLabels(target, (t) =>
    native.call(OPS.nllLoss, logProbs.handle, t, ...classLossArgs(o)),
  );
}

export interface KlDivOptions {
  /** 'batchmean' divides the sum by the batch size: the mathematically correct KL. */
  reduction?: Reduction | 'batchmean';
  logTarget?: boolean;
}

/**
 * `KLDivLoss`: `input` holds log-probabilities (e.g. logSoftmax of the student), `target` holds
 * probabilities (or log-probabilities with `logTarget`).
 */
export function klDiv(input: Tensor, target: Tensor, o: KlDivOptions = {}): Tensor {
  const reduction = o.reduction ?? 'mean';
  const out = wrap(
    native.call(
      OPS.klDiv,
      input.handle,
      target.handle,
      reductionCode(reduction),
      o.logTarget ?? false,
    ),
  );
  if (reduction !== 'batchmean') return out;
  const batch = input.ndim > 0 ? input.shape[0] : 1;
  const scaled = out.div(batch);
  out.dispose();
  return scaled;
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(native.call(OPS.mseLoss, input.handle, target.handle, reductionCode(reduction)));
}

export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return wrap(native.call(OPS.cosineSimilarity, x1.handle, x2.handle, dim, eps));
}

/** `x / max(‖x‖_p, eps)` along `dim`. */
export function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const n = x.norm(p, dim, true);
  const d = n.clamp(eps);
  const out = x.div(d);
  n.dispose();
  d.dispose();
  return out;
}

export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return withLabels(indices, (t) => native.call(OPS.oneHot, t, numClasses));
}
