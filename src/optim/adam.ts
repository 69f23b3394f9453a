/** Adam, as `torch.optim.Adam` (PyTorch 1.13, single-tensor path). */
import { keep, zerosLike, type Tensor } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';
import {
  checkBoolean,
  checkNonNegative,
  definedOnly,
  Optimizer,
  show,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.js';

/** Adam's and AdamW's hyper-parameters (PyTorch's keyword names in camelCase). */
export interface AdamOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator for stability. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad?: boolean;
  /** Ascend instead of descend. Default false. */
  maximize?: boolean;
}

/** Adam's resolved hyper-parameters, as held by each group. */
export type AdamHyperParams = Required<AdamOptions>;

/** Adam's defaults (PyTorch 1.13's). */
export const ADAM_DEFAULTS: Readonly<AdamHyperParams> = Object.freeze({
  lr: 1e-3,
  betas: Object.freeze([0.9, 0.999]) as unknown as [number, number],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
});

/** @internal shared by Adam and AdamW */
export function validateAdam(h: AdamHyperParams): void {
  checkNonNegative('lr', h.lr);
  checkNonNegative('eps', h.eps);
  if (!Array.isArray(h.betas) || h.betas.length !== 2) {
    throw new OptionError(`Expected a pair of numbers for betas but received ${show(h.betas)}`);
  }
  h.betas.forEach((b, i) => {
    if (typeof b !== 'number' || !(b >= 0 && b < 1)) {
      throw new OptionError(`Expected a number in [0, 1) for betas[${i}] but received ${show(b)}`);
    }
  });
  checkNonNegative('weightDecay', h.weightDecay);
  checkBoolean('amsgrad', h.amsgrad);
  checkBoolean('maximize', h.maximize);
}

/** @internal resolves options against defaults, copying `betas` so groups never share it */
export function resolveAdam(
  defaults: Readonly<AdamHyperParams>,
  options: AdamOptions,
): AdamHyperParams {
  const h = { ...defaults, ...definedOnly(options) } as AdamHyperParams;
  return Array.isArray(h.betas) ? { ...h, betas: [...h.betas] as [number, number] } : h;
}

/**
 * @internal One Adam/AdamW step on `p`, PyTorch 1.13's arithmetic op for op (the per-step
 * constants are computed in double precision, as Python does).
 */
export function adamUpdate(
  p: Tensor,
  grad: Tensor,
  state: ParamState,
  group: AdamHyperParams,
  decoupled: boolean,
): void {
  const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
  const [beta1, beta2] = betas;
  let g = maximize ? grad.neg() : grad;
  if (state.exp_avg === undefined) {
    state.step = 0;
    state.exp_avg = keep(zerosLike(p));
    state.exp_avg_sq = keep(zerosLike(p));
    if (amsgrad) state.max_exp_avg_sq = keep(zerosLike(p));
  }
  const expAvg = state.exp_avg as Tensor;
  const expAvgSq = state.exp_avg_sq as Tensor;
  const step = (state.step as number) + 1;
  state.step = step;
  if (decoupled) p.mul_(1 - lr * weightDecay);
  else if (weightDecay !== 0) g = g.add(p, weightDecay);
  expAvg.mul_(beta1).add_(g, 1 - beta1);
  expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const stepSize = lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  let second = expAvgSq;
  if (amsgrad) {
    // A group switched to amsgrad after its first step starts its running maximum at zero.
    const max =
      (state.max_exp_avg_sq as Tensor | undefined) ?? (state.max_exp_avg_sq = keep(zerosLike(p)));
    max.copy_(max.maximum(expAvgSq));
    second = max;
  }
  const denom = second.sqrt().div_(biasCorrection2Sqrt).add_(eps);
  p.addcdiv_(expAvg, denom, -stepSize);
}

/**
 * @internal The state Adam and AdamW keep per parameter once they have stepped, for a saved
 * group: the moments and the step count, and the running maximum with amsgrad. Null for a group
 * that is not theirs (it has no `betas`).
 */
export function adamStateKeys(group: Record<string, unknown>): string[] | null {
  if (!('betas' in group)) return null;
  return ['exp_avg', 'exp_avg_sq', 'step', ...(group.amsgrad === true ? ['max_exp_avg_sq'] : [])];
}

/**
 * @internal Adam's and AdamW's optimizer: the same options, checks and step; they differ in their
 * defaults and in how weight decay enters (`decoupled`: AdamW's `p *= 1 − lr·wd`).
 */
export abstract class AdamBase extends Optimizer<AdamHyperParams> {
  /** The state Adam and AdamW keep per parameter, for a saved group ({@link adamStateKeys}). */
  static readonly stateKeys = adamStateKeys;

  private readonly decoupled: boolean;

  protected constructor(
    params: Tensor[] | ParamGroupInput<AdamHyperParams>[],
    options: AdamOptions & OptimizerOptions,
    defaults: Readonly<AdamHyperParams>,
    decoupled: boolean,
  ) {
    const { gradMask, ...hyper } = options;
    super(params, resolveAdam(defaults, hyper), validateAdam, { gradMask });
    this.decoupled = decoupled;
  }

  protected update(
    p: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<AdamHyperParams>,
  ): void {
    adamUpdate(p, grad, state, group, this.decoupled);
  }
}

/**
 * Adam (Kingma & Ba) with PyTorch's L2-style `weightDecay` (added to the gradient). For
 * decoupled weight decay use `AdamW`. State per parameter: `step` (a number), `exp_avg`,
 * `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
 *
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  constructor(
    params: Tensor[] | ParamGroupInput<AdamHyperParams>[],
    options: AdamOptions & OptimizerOptions = {},
  ) {
    super(params, options, ADAM_DEFAULTS, false);
  }
}
