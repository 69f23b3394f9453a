/**
 * ℓ1-sparse unlearning (Jia et al., "Model sparsity can simplify machine unlearning", NeurIPS
 * 2023): fine-tune on D_r with cross-entropy plus γ_t·‖θ‖₁ over the trainable parameters. γ_t
 * decays linearly from γ at the first step to 0 over the run (per batch:
 * γ_t = γ·(1 − t/S) for step t of S), so the sparsity pressure acts early and the end is plain
 * fine-tuning.
 */
import { F } from '../../tensor/index.js';
import type { LoopOptions, MethodContext, MethodRun, StepInput, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface L1SparseOptions extends LoopOptions {
  /** Initial ℓ1 weight γ, decaying linearly to 0 over the run. */
  gamma: number;
  /** Name prefixes of the parameters that train (and are penalised); empty: all. */
  trainable: string[];
}

/**
 * baselines.md: γ 1e-4 (unverified), lr 0.01, 10 epochs; SGD momentum 0.9, wd 5e-4, constant
 * rate, batch 256, as in SalUn's code, which hosts the authors' implementation.
 */
export const L1_SPARSE_DEFAULTS: Readonly<L1SparseOptions> = Object.freeze({
  ...loopDefaults({ epochs: 10, lr: 0.01 }),
  gamma: 1e-4,
  trainable: [],
});

/** γ_t for step `t` (0-based) of a run of `total` steps. */
export function l1Weight(gamma: number, t: number, total: number): number {
  return total > 0 ? gamma * Math.max(0, 1 - t / total) : 0;
}

export const l1Sparse: UnlearnMethod<L1SparseOptions> = {
  id: 'l1-sparse',
  summary: 'CE on D_r plus an ℓ1 penalty on the weights whose weight decays linearly to 0',
  defaults: L1_SPARSE_DEFAULTS,
  iteration: 'retain',
  prepare(ctx: MethodContext, o: L1SparseOptions): MethodRun {
    checkRange('l1-sparse', 'gamma', o.gamma, 0, Infinity);
    trainOnly(ctx.model, o.trainable);
    const params = ctx.model.trainableParameters();
    const perEpoch = ctx.loaders.retain.numBatches;
    const total = o.epochs * perEpoch;
    return {
      step({ retain, epoch, step }: StepInput) {
        const logits = ctx.model.forward(retain!.x);
        const ce = F.crossEntropy(logits, retain!.y);
        const g = l1Weight(o.gamma, (epoch - 1) * perEpoch + step, total);
        if (g === 0) return { loss: ce, retainLogits: logits };
        const l1 = params.map((p) => p.abs().sum()).reduce((a, b) => a.add(b));
        return { loss: ce.add(l1, g), retainLogits: logits };
      },
      dispose() {},
    };
  },
};
