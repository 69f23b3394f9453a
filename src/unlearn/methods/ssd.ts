/**
 * Selective Synaptic Dampening (Foster et al., AAAI 2024): no training. The diagonal of the Fisher
 * information, estimated as the mean over batches of the squared gradient of the batch's mean
 * cross-entropy, is computed on the whole training set (I_D, i.e. D_r ∪ D_f) and on the forget set
 * (I_Df). Every weight with I_Df > α·I_D is dampened: θ ← θ·min(λ·I_D / I_Df, 1); all others are
 * left bit-identical. Both passes run in order, unaugmented, in `studentMode` (default eval, as
 * the authors' `ssd_tuning`).
 */
import { DataLoader } from '../../data/loader.js';
import { toTensors } from '../../models/predict.js';
import type { Module } from '../../nn/module.js';
import {
  dispose,
  grad,
  keep,
  noGrad,
  tidy,
  where,
  zerosLike,
  F,
  type Tensor,
} from '../../tensor/index.js';
import type { LoopOptions, MethodContext, MethodRun, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface SsdOptions extends LoopOptions {
  /** Selection weighting α: a weight is dampened when I_Df > α·I_D. */
  alpha: number;
  /** Dampening constant λ: the factor is min(λ·I_D / I_Df, 1). */
  lambda: number;
  /** Name prefixes of the parameters the edit may change; empty: all. */
  trainable: string[];
}

/**
 * baselines.md: α 10, λ 1. No training (epochs 0; the optimizer options are unused); `batchSize`
 * is the batch of the importance estimates (the Fisher diagonal is a mean over batches of squared
 * batch-mean gradients, so it depends on it).
 */
export const SSD_DEFAULTS: Readonly<SsdOptions> = Object.freeze({
  ...loopDefaults({ epochs: 0, lr: 0, momentum: 0, weightDecay: 0, studentMode: 'eval' }),
  alpha: 10,
  lambda: 1,
  trainable: [],
});

/**
 * The diagonal Fisher importances of `params`: the mean over `loader`'s batches of the squared
 * gradient of the mean cross-entropy. One tensor per parameter, owned by the caller.
 */
export function fisherDiagonal(
  model: Module,
  params: Tensor[],
  loader: DataLoader,
  device: string,
): Tensor[] {
  let sums = params.map((p) => keep(noGrad(() => zerosLike(p))));
  let batches = 0;
  for (const batch of loader.epoch(0)) {
    sums = tidy(() => {
      const b = toTensors(batch, device);
      const grads = grad(F.crossEntropy(model.forward(b.x), b.y), params, { allowUnused: true });
      return noGrad(() =>
        sums.map((s, i) => {
          const next = grads[i] ? s.add(grads[i]!.square()) : s.clone();
          s.dispose();
          return keep(next);
        }),
      );
    });
    batches++;
  }
  return noGrad(() =>
    sums.map((s) => {
      const mean = keep(s.div(Math.max(batches, 1)));
      s.dispose();
      return mean;
    }),
  );
}

/**
 * Dampens `param` in place where `forget > alpha·full`: multiplies by min(lambda·full / forget, 1).
 * Entries not selected keep their exact value.
 */
export function dampen(
  param: Tensor,
  full: Tensor,
  forget: Tensor,
  alpha: number,
  lambda: number,
): void {
  tidy(() =>
    noGrad(() => {
      const selected = forget.gt(full.mul(alpha));
      const factor = full.mul(lambda).div(forget).clamp(null, 1);
      param.copy_(where(selected, param.mul(factor), param));
    }),
  );
}

export const ssd: UnlearnMethod<SsdOptions> = {
  id: 'ssd',
  summary:
    'Selective Synaptic Dampening: shrink weights far more important to D_f than to D (no training)',
  defaults: SSD_DEFAULTS,
  iteration: 'none',
  prepare(ctx: MethodContext, o: SsdOptions): MethodRun {
    checkRange('ssd', 'alpha', o.alpha, 0, Infinity);
    checkRange('ssd', 'lambda', o.lambda, 0, Infinity);
    trainOnly(ctx.model, o.trainable);
    return {
      apply() {
        const model = ctx.model;
        const params = model.trainableParameters();
        const wasTraining = model.training;
        model.train(o.studentMode === 'train');
        let full: Tensor[] = [];
        let forget: Tensor[] = [];
        try {
          forget = fisherDiagonal(
            model,
            params,
            new DataLoader(ctx.data.train, ctx.split.forget, { batchSize: o.batchSize }),
            ctx.compute.device,
          );
          full = fisherDiagonal(
            model,
            params,
            new DataLoader(ctx.data.train, null, { batchSize: o.batchSize }),
            ctx.compute.device,
          );
          params.forEach((p, i) => dampen(p, full[i], forget[i], o.alpha, o.lambda));
        } finally {
          model.train(wasTraining);
          dispose([full, forget]);
        }
      },
      step() {
        throw new Error('ssd has no training step');
      },
      dispose() {},
    };
  },
};
