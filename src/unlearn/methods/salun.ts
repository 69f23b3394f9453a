/**
 * SalUn (Fan et al., ICLR 2024): weight saliency. A mask keeps the weights whose gradient of the
 * forget loss is largest in magnitude; then random-label training (CE toward random wrong labels
 * on D_f plus CE on D_r, as `random-label`) updates only those weights. The masked-out weights stay
 * bit-identical to the original: the optimizer applies the mask after its update, so neither
 * weight decay nor momentum moves them (see `Optimizer.setGradMask`).
 *
 * The saliency is |Σ_batches ∇θ(−CE(f(x_f), y_f))| over one in-order, unaugmented pass of D_f
 * (batch means summed over batches), with the model in eval mode, as in the authors'
 * `generate_mask.py`. The top `maskFraction` of the trainable weights by |∇|, ranked globally
 * across all of them, are the ones that train. The authors' script agrees: it sorts −|∇| in
 * ascending order and sets the mask to 1 where the rank is below `ratio · n`.
 */
import { DataLoader } from '../../data/loader.js';
import { toTensors } from '../../models/predict.js';
import type { Module } from '../../nn/module.js';
import {
  cat,
  dispose,
  grad,
  keep,
  noGrad,
  tidy,
  zerosLike,
  F,
  type Tensor,
} from '../../tensor/index.js';
import type { MethodContext, MethodRun, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';
import { randomLabelRun, type RandomLabelOptions } from './random-label.js';

/** Random labels' options (`trainable` chooses the parameters before masking), and the mask's share. */
export interface SalunOptions extends RandomLabelOptions {
  /** Share of the trainable weights that may change (the most salient ones), in (0, 1]. */
  maskFraction: number;
}

/**
 * baselines.md: mask the top 50%, lr 0.013, 10 epochs, batch 256; SGD momentum 0.9, wd 5e-4,
 * constant rate, as in the authors' CIFAR-10 runs.
 */
export const SALUN_DEFAULTS: Readonly<SalunOptions> = Object.freeze({
  ...loopDefaults({ epochs: 10, lr: 0.013 }),
  maskFraction: 0.5,
  forgetWeight: 1,
  retainWeight: 1,
  trainable: [],
});

/**
 * Saliency masks of `params` (parameters of `model`): 1 for the `fraction` of all their entries
 * with the largest |Σ ∇(−CE)| over `loader`, 0 elsewhere (float32, each of its parameter's
 * shape). The model runs in eval mode; its mode is restored.
 */
export function saliencyMasks(
  model: Module,
  params: Tensor[],
  loader: DataLoader,
  fraction: number,
  device: string,
): Map<Tensor, Tensor> {
  const wasTraining = model.training;
  model.eval();
  let sums = params.map((p) => keep(noGrad(() => zerosLike(p))));
  try {
    for (const batch of loader.epoch(0)) {
      sums = tidy(() => {
        const b = toTensors(batch, device);
        const loss = F.crossEntropy(model.forward(b.x), b.y).neg();
        const grads = grad(loss, params, { allowUnused: true });
        return noGrad(() =>
          sums.map((s, i) => {
            const next = grads[i] ? s.add(grads[i]!) : s.clone();
            s.dispose();
            return keep(next);
          }),
        );
      });
    }
  } finally {
    model.train(wasTraining);
  }
  const masks = tidy(() =>
    noGrad(() => {
      const flat = cat(sums.map((s) => s.abs().flatten()));
      const n = flat.numel();
      const k = Math.round(fraction * n);
      const chosen = flat.sort(0, true).indices.narrow(0, 0, k);
      const mask = zerosLike(flat).scatter(0, chosen, 1);
      let at = 0;
      return params.map((p) => {
        const m = keep(mask.narrow(0, at, p.numel()).reshape(p.shape).contiguous());
        at += p.numel();
        return m;
      });
    }),
  );
  dispose(sums);
  return new Map(params.map((p, i) => [p, masks[i]]));
}

export const salun: UnlearnMethod<SalunOptions> = {
  id: 'salun',
  summary:
    'SalUn: random-label training restricted to the weights most salient for the forget loss',
  defaults: SALUN_DEFAULTS,
  iteration: 'union',
  prepare(ctx: MethodContext, o: SalunOptions): MethodRun {
    checkRange('salun', 'maskFraction', o.maskFraction, 0, 1, { min: true });
    trainOnly(ctx.model, o.trainable);
    const loader = new DataLoader(ctx.data.train, ctx.split.forget, {
      batchSize: o.forgetBatchSize ?? o.batchSize,
    });
    const masks = saliencyMasks(
      ctx.model,
      ctx.model.trainableParameters(),
      loader,
      o.maskFraction,
      ctx.compute.device,
    );
    const run = randomLabelRun(ctx, o, 'salun');
    return {
      ...run,
      gradMasks: () => masks,
      dispose() {
        run.dispose();
        dispose([...masks.values()]);
      },
    };
  },
};
