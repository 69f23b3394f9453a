/** A frozen teacher's logits for a batch: from the original's cached outputs, or a forward pass. */
import { noGrad, tensor, type Tensor } from '../tensor/index.js';
import type { TensorBatch } from '../models/predict.js';
import type { Module } from '../nn/module.js';
import { prepareModel } from '../models/precision.js';
import type { MethodContext } from './types.js';
import { gatherRows } from '../util/rows.js';

/**
 * The original model's eval-mode logits on `batch`. Without augmentation they were computed once
 * for every training example, so this is a gather; otherwise `teacher` runs under no-grad.
 */
export function teacherLogits(ctx: MethodContext, teacher: Module, batch: TensorBatch): Tensor {
  const cache = ctx.originalTrainLogits;
  if (cache) {
    const rows = gatherRows(cache, batch.indices, ctx.numClasses);
    return tensor(rows, [batch.size, ctx.numClasses], { device: ctx.compute.device });
  }
  return noGrad(() => teacher.forward(batch.x));
}

/**
 * A frozen eval-mode copy of the original model (no parameter requires grad), on the run's
 * device and memory format, its outputs in float32 under mixed precision.
 */
export function frozenTeacher(ctx: MethodContext): Module {
  const teacher = ctx.original.clone();
  prepareModel(teacher, ctx.compute);
  teacher.eval();
  teacher.freeze();
  return teacher;
}
