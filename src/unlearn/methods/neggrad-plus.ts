/**
 * NegGrad+ (Kurmanji et al., the SCRUB paper's strengthened NegGrad): each step pairs a retain
 * batch with a forget batch and minimises α·CE(D_r) − (1−α)·CE(D_f). Retain batches drive the
 * epoch; forget batches cycle.
 */
import { F } from '../../tensor/index.js';
import type { LoopOptions, MethodContext, MethodRun, StepInput, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface NegGradPlusOptions extends LoopOptions {
  /** Weight α of CE on D_r; the forget term gets 1 − α. In [0, 1]. */
  alpha: number;
  /** Name prefixes of the parameters that train; empty: all. */
  trainable: string[];
}

/** baselines.md: α 0.95–0.999 (0.99 here), lr 0.01, 5–10 epochs (5); SGD momentum 0.9, wd 5e-4. */
export const NEGGRAD_PLUS_DEFAULTS: Readonly<NegGradPlusOptions> = Object.freeze({
  ...loopDefaults({ epochs: 5, lr: 0.01, batchSize: 128 }),
  alpha: 0.99,
  trainable: [],
});

export const neggradPlus: UnlearnMethod<NegGradPlusOptions> = {
  id: 'neggrad+',
  summary: 'α·CE on D_r − (1−α)·CE on D_f, retain batches paired with cycling forget batches',
  defaults: NEGGRAD_PLUS_DEFAULTS,
  iteration: 'paired',
  prepare(ctx: MethodContext, o: NegGradPlusOptions): MethodRun {
    checkRange('neggrad+', 'alpha', o.alpha, 0, 1);
    trainOnly(ctx.model, o.trainable);
    return {
      step({ retain, forget }: StepInput) {
        const r = ctx.model.forward(retain!.x);
        const f = ctx.model.forward(forget!.x);
        const loss = F.crossEntropy(r, retain!.y)
          .mul(o.alpha)
          .sub(F.crossEntropy(f, forget!.y), 1 - o.alpha);
        return { loss, retainLogits: r, forgetLogits: f };
      },
      dispose() {},
    };
  },
};
