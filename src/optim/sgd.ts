/** Stochastic gradient descent with momentum, as `torch.optim.SGD` (PyTorch 1.13, single-tensor path). */
import {
  foreachAdd,
  foreachAdd_,
  foreachMul_,
  foreachNeg,
  keep,
  type Tensor,
} from '../tensor/index.js';
import { OptionError } from '../util/errors.js';
import {
  checkBoolean,
  checkNonNegative,
  definedOnly,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.js';

/** SGD's hyper-parameters (PyTorch's keyword names in camelCase). */
export interface SGDOptions {
  /** Learning rate. Required, as in PyTorch. */
  lr: number;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Dampening for momentum. Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
  /** Ascend instead of descend. Default false. */
  maximize?: boolean;
}

/** SGD's resolved hyper-parameters, as held by each group. */
export type SGDHyperParams = Required<SGDOptions>;

/** SGD's defaults (PyTorch 1.13's); `lr` has none and must be given. */
export const SGD_DEFAULTS: Readonly<Omit<SGDHyperParams, 'lr'>> = Object.freeze({
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
});

function validate(h: SGDHyperParams): void {
  checkNonNegative('lr', h.lr);
  checkNonNegative('momentum', h.momentum);
  if (typeof h.dampening !== 'number' || !Number.isFinite(h.dampening)) {
    throw new OptionError(`Expected a number for dampening but received ${String(h.dampening)}`);
  }
  checkNonNegative('weightDecay', h.weightDecay);
  checkBoolean('nesterov', h.nesterov);
  checkBoolean('maximize', h.maximize);
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
    throw new OptionError(
      `Expected momentum > 0 and dampening 0 for nesterov but received momentum ${h.momentum} and dampening ${h.dampening}`,
    );
  }
}

/**
 * SGD with PyTorch's update: `d = g (+ wd·p)`; with momentum `buf = μ·buf + (1 − τ)·d` (the first
 * buffer is `d` itself), `d = buf` or, for Nesterov, `d + μ·buf`; then `p -= lr·d`.
 * State per parameter: `momentum_buffer` (only when momentum ≠ 0).
 *
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDHyperParams> {
  /**
   * The state SGD keeps per parameter once it has stepped, for a saved group: the momentum
   * buffer when momentum ≠ 0. Null for a group that is not SGD's (it has no `momentum`).
   */
  static stateKeys(group: Record<string, unknown>): string[] | null {
    if (!('momentum' in group)) return null;
    return group.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  constructor(
    params: Tensor[] | ParamGroupInput<SGDHyperParams>[],
    options: SGDOptions & OptimizerOptions,
  ) {
    const { gradMask, ...hyper } = options ?? ({} as SGDOptions);
    super(params, { ...SGD_DEFAULTS, ...definedOnly(hyper) } as SGDHyperParams, validate, {
      gradMask,
    });
  }

  protected update(
    p: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<SGDHyperParams>,
  ): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    let d = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) d = d.add(p, weightDecay);
    if (momentum !== 0) {
      let buf = state.momentum_buffer as Tensor | undefined;
      if (buf === undefined) {
        buf = keep(d.clone());
        state.momentum_buffer = buf;
      } else {
        buf.mul_(momentum).add_(d, 1 - dampening);
      }
      d = nesterov ? d.add(buf, momentum) : buf;
    }
    p.add_(d, -lr);
  }

  /** `update` for all unmasked parameters at once (PyTorch's `_multi_tensor_sgd`, same numbers). */
  protected override updateMany(
    params: Tensor[],
    grads: Tensor[],
    states: ParamState[],
    group: ParamGroup<SGDHyperParams>,
  ): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    let d = maximize ? foreachNeg(grads) : grads;
    if (weightDecay !== 0) d = foreachAdd(d, params, weightDecay);
    if (momentum !== 0) {
      const bufs: Tensor[] = [];
      const running: Tensor[] = [];
      const runningD: Tensor[] = [];
      states.forEach((state, i) => {
        let buf = state.momentum_buffer as Tensor | undefined;
        if (buf === undefined) {
          buf = keep(d[i].clone());
          state.momentum_buffer = buf;
        } else {
          running.push(buf);
          runningD.push(d[i]);
        }
        bufs.push(buf);
      });
      foreachMul_(running, momentum);
      foreachAdd_(running, runningD, 1 - dampening);
      d = nesterov ? foreachAdd(d, bufs, momentum) : bufs;
    }
    foreachAdd_(params, d, -lr);
  }
}
