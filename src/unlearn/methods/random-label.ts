/**
 * Random labels (Golatkar et al.; SalUn's "RL"): cross-entropy toward a random wrong label
 * y′ ≠ y on each forget example, plus ordinary cross-entropy on D_r. As in SalUn's code, an epoch
 * is one shuffled pass over D_f ∪ D_r, each batch one forward pass, and the loss the batch mean
 * (with both weights 1) of the per-example cross-entropies. Labels are redrawn every time a
 * forget example is seen, from the run's seeded generator.
 */
import { cat, F, tensor, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/rng.js';
import { OptionError } from '../../util/errors.js';
import type { LoopOptions, MethodContext, MethodRun, StepInput, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface RandomLabelOptions extends LoopOptions {
  /** Weight of CE toward the random labels on D_f. */
  forgetWeight: number;
  /** Weight of CE on D_r. */
  retainWeight: number;
  /** Name prefixes of the parameters that train; empty: all. */
  trainable: string[];
}

/** baselines.md: lr ~0.01, 10 epochs; SGD momentum 0.9, wd 5e-4, batch 256 as in SalUn's code. */
export const RANDOM_LABEL_DEFAULTS: Readonly<RandomLabelOptions> = Object.freeze({
  ...loopDefaults({ epochs: 10, lr: 0.01 }),
  forgetWeight: 1,
  retainWeight: 1,
  trainable: [],
});

/**
 * A uniformly drawn label different from each of `labels` (int64 `[n]`), as an int64 tensor on
 * `device`: y′ = (y + 1 + k) mod C with k uniform in 0..C−2.
 */
export function randomOtherLabels(
  labels: Tensor,
  numClasses: number,
  rng: Rng,
  device: string,
): Tensor {
  if (numClasses < 2)
    throw new OptionError(
      `Random labels need at least 2 classes but the data set has ${numClasses}`,
    );
  const y = labels.data<'int64'>();
  const out = new BigInt64Array(y.length);
  for (let i = 0; i < y.length; i++)
    out[i] = BigInt((Number(y[i]) + 1 + rng.int(numClasses - 1)) % numClasses);
  return tensor(out, [y.length], { device });
}

/**
 * One forward pass over a batch's forget and retain rows together (batch norm sees the mixed
 * batch, as in SalUn's code); the loss is (w_f·Σ CE(f, y′) + w_r·Σ CE(r, y)) / n. SalUn reuses it.
 */
export function randomLabelRun(
  ctx: MethodContext,
  o: Pick<RandomLabelOptions, 'forgetWeight' | 'retainWeight'>,
  method: string,
): MethodRun {
  checkRange(method, 'forgetWeight', o.forgetWeight, 0, Infinity);
  checkRange(method, 'retainWeight', o.retainWeight, 0, Infinity);
  return {
    step({ retain, forget }: StepInput) {
      const nf = forget?.size ?? 0;
      const nr = retain?.size ?? 0;
      const xs = [forget?.x, retain?.x].filter((x): x is Tensor => x !== undefined);
      const logits = xs.length === 1 ? ctx.model.forward(xs[0]) : ctx.model.forward(cat(xs));
      const f = nf ? logits.narrow(0, 0, nf) : undefined;
      const r = nr ? logits.narrow(0, nf, nr) : undefined;
      const terms: Tensor[] = [];
      if (f) {
        const yRandom = randomOtherLabels(forget!.y, ctx.numClasses, ctx.rng, ctx.compute.device);
        terms.push(F.crossEntropy(f, yRandom, { reduction: 'sum' }).mul(o.forgetWeight));
      }
      if (r) terms.push(F.crossEntropy(r, retain!.y, { reduction: 'sum' }).mul(o.retainWeight));
      const loss = (terms.length === 2 ? terms[0].add(terms[1]) : terms[0]).div(nf + nr);
      return { loss, retainLogits: r, forgetLogits: f };
    },
    dispose() {},
  };
}

export const randomLabel: UnlearnMethod<RandomLabelOptions> = {
  id: 'random-label',
  summary: 'CE toward random wrong labels on D_f plus CE on D_r',
  defaults: RANDOM_LABEL_DEFAULTS,
  iteration: 'union',
  prepare(ctx: MethodContext, o: RandomLabelOptions): MethodRun {
    trainOnly(ctx.model, o.trainable);
    return randomLabelRun(ctx, o, 'random-label');
  },
};
