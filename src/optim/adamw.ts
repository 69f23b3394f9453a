/** AdamW, as `torch.optim.AdamW` (PyTorch 1.13, single-tensor path). */
import type { Tensor } from '../tensor/index.js';
import { AdamBase, type AdamHyperParams, type AdamOptions } from './adam.js';
import type { OptimizerOptions, ParamGroupInput } from './optimizer.js';

/** AdamW's options: Adam's, with decoupled `weightDecay`. */
export type AdamWOptions = AdamOptions;

/** AdamW's defaults (PyTorch 1.13's): Adam's, but `weightDecay` 1e-2. */
export const ADAMW_DEFAULTS: Readonly<AdamHyperParams> = Object.freeze({
  lr: 1e-3,
  betas: Object.freeze([0.9, 0.999]) as unknown as [number, number],
  eps: 1e-8,
  weightDecay: 1e-2,
  amsgrad: false,
  maximize: false,
});

/**
 * AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the parameter directly,
 * `p *= 1 − lr·wd`, instead of entering the gradient. Same state as `Adam`.
 *
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamBase {
  constructor(
    params: Tensor[] | ParamGroupInput<AdamHyperParams>[],
    options: AdamWOptions & OptimizerOptions = {},
  ) {
    super(params, options, ADAMW_DEFAULTS, true);
  }
}
