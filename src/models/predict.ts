/** Batched inference: a model's logits over a whole loader, in eval mode, without gradients. */
import type { DatasetPair, ImageDataset } from '../data/dataset.js';
import { DataLoader, type Batch, type BatchSource } from '../data/loader.js';
import type { Split } from '../data/split.js';
import { noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import type { Accuracies, PerClass } from '../records/metrics.js';
import { accuracy, perClassAccuracy } from './accuracy.js';
import { toFloat32, toMemoryFormat, withPrecision, type Placement } from './precision.js';

/** A batch as tensors on a device: images `[N, C, H, W]` float32 and int64 labels `[N]`. */
export interface TensorBatch {
  x: Tensor;
  y: Tensor;
  indices: Int32Array;
  size: number;
}

/**
 * Wraps a loader batch into tensors on `device` (the caller disposes them); images in
 * `memoryFormat` (default row-major NCHW).
 */
export function toTensors(
  batch: Batch,
  device: string,
  memoryFormat: 'contiguous' | 'channelsLast' = 'contiguous',
): TensorBatch {
  const labels = new BigInt64Array(batch.size);
  for (let i = 0; i < batch.size; i++) labels[i] = BigInt(batch.y[i]);
  let x = tensor(batch.x, batch.shape, { device });
  if (memoryFormat === 'channelsLast' && x.ndim === 4) {
    const nhwc = x.contiguous({ memoryFormat });
    x.dispose();
    x = nhwc;
  }
  return {
    x,
    y: tensor(labels, [batch.size], { device }),
    indices: batch.indices,
    size: batch.size,
  };
}

/** Logits of every example a loader yields, in its order. */
export interface Predictions {
  /** `[n, numClasses]` row-major. */
  logits: Float32Array;
  labels: Int32Array;
  /** Data-set indices of the rows. */
  indices: Int32Array;
  numClasses: number;
}

/**
 * Runs `model` in eval mode over one pass of `loader` (its epoch 0) and collects the logits, in
 * float32 whatever the precision. Inputs go to the compute's device in its memory format and the
 * forward pass runs under its precision; the model itself is not converted. The model's training
 * mode is restored afterwards.
 */
export function predict(
  model: Module,
  loader: BatchSource<Batch>,
  compute: Placement,
): Predictions {
  const { device } = compute;
  const wasTraining = model.training;
  model.eval();
  const rows: Float32Array[] = [];
  const labels: Int32Array[] = [];
  const indices: Int32Array[] = [];
  let numClasses = 0;
  try {
    for (const batch of loader.epoch(0)) {
      const out = tidy(() => {
        const x = toMemoryFormat(tensor(batch.x, batch.shape, { device }), compute);
        return toFloat32(noGrad(() => withPrecision(compute, () => model.forward(x))));
      });
      numClasses = out.shape[1];
      rows.push(out.data<'float32'>());
      out.dispose();
      labels.push(batch.y);
      indices.push(batch.indices);
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    logits: concat(rows, Float32Array),
    labels: concat(labels, Int32Array),
    indices: concat(indices, Int32Array),
    numClasses,
  };
}

function concat<T extends Float32Array | Int32Array>(parts: T[], Ctor: { new (n: number): T }): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Predicted class per row (argmax of the logits). */
export function argmaxRows(logits: Float32Array, numClasses: number): Int32Array {
  const n = logits.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = logits[i * numClasses];
    for (let c = 1; c < numClasses; c++) {
      const v = logits[i * numClasses + c];
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the label. */
export function accuracyOf(p: Predictions): number {
  if (p.labels.length === 0) return NaN;
  return accuracy(argmaxRows(p.logits, p.numClasses), p.labels);
}

/** Per-class accuracy of predictions (null for classes absent from the set). */
export function perClassOf(p: Predictions): PerClass {
  // A set with no examples (a training run's "original" has none) has no class to score.
  if (p.labels.length === 0) return new Array<null>(p.numClasses).fill(null);
  return perClassAccuracy(argmaxRows(p.logits, p.numClasses), p.labels, p.numClasses);
}

/** Eval-mode accuracies of a set of predictions (val where it was predicted). */
export function accuraciesOf(p: SetPredictions): Accuracies {
  return {
    forget: accuracyOf(p.forget),
    retain: accuracyOf(p.retain),
    test: accuracyOf(p.test),
    ...(p.val ? { val: accuracyOf(p.val) } : {}),
  };
}

/** Eval-mode predictions of a model on a run's three full sets. */
export interface SetPredictions {
  forget: Predictions;
  retain: Predictions;
  test: Predictions;
  /** Absent where the split has no val set, or in runs saved before Lethe recorded it. */
  val?: Predictions;
}

export interface PredictSetsOptions {
  batchSize?: number;
  /** Also predict the val set, when the split has one (default true). */
  val?: boolean;
}

/** Eval-mode predictions on the examples `indices` of a data set, in order, not augmented. */
export function predictIndices(
  model: Module,
  dataset: ImageDataset,
  indices: Int32Array,
  compute: Placement,
  batchSize = 256,
): Predictions {
  return predict(model, new DataLoader(dataset, indices, { batchSize }), compute);
}

/** Eval-mode predictions on the full forget, retain, test and val sets (in order, not augmented). */
export function predictSets(
  model: Module,
  data: DatasetPair,
  split: Split,
  compute: Placement,
  { batchSize = 256, val = true }: PredictSetsOptions = {},
): SetPredictions {
  const over = (ds: ImageDataset, indices: Int32Array): Predictions =>
    predictIndices(model, ds, indices, compute, batchSize);
  return {
    forget: over(data.train, split.forget),
    retain: over(data.train, split.retain),
    test: over(data.test, split.test),
    ...(val && split.val.length > 0 ? { val: over(data.test, split.val) } : {}),
  };
}
