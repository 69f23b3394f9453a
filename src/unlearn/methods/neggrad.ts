/**
 * NegGrad, gradient ascent on the forget set: minimise −CE(f(x_f), y_f) over D_f alone. The
 * simplest baseline; with a learning rate that is too high it destroys the whole model, with one
 * too low it forgets nothing, so its `lr` is the option to tune first.
 */
import type { Module } from '../../nn/module.js';
import { F } from '../../tensor/index.js';
import { OptionError } from '../../util/errors.js';
import type { LoopOptions, MethodContext, MethodRun, StepInput, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';

export interface NegGradOptions extends LoopOptions {
  /**
   * Name prefixes of the parameters that train (e.g. `['layer1.', 'layer2.']`, as sRFL); the
   * others stay frozen. Empty: every parameter trains.
   */
  trainable: string[];
}

/**
 * baselines.md: lr 1e-4 (raise to 5e-4–1e-3 if forget accuracy does not drop), 5 epochs; SGD with
 * momentum 0.9 and weight decay 5e-4, constant rate, batch 256 and train-mode batch norm, as in
 * SalUn's code, which hosts the common implementation.
 */
export const NEGGRAD_DEFAULTS: Readonly<NegGradOptions> = Object.freeze({
  ...loopDefaults({ epochs: 5, lr: 1e-4 }),
  trainable: [],
});

/**
 * Makes the parameters under `prefixes` trainable and freezes the rest; an empty list trains
 * every parameter. Shared by the baselines' `trainable` option.
 */
export function trainOnly(model: Module, prefixes: string[]): void {
  if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string')) {
    throw new OptionError(
      `Expected a list of name prefixes for trainable but received ${JSON.stringify(prefixes)}`,
    );
  }
  if (prefixes.length === 0) model.unfreeze();
  else model.setTrainable(prefixes);
}

/** Throws unless `value` is a finite number in `[min, max]` (bounds open where `open` says so). */
export function checkRange(
  method: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
  open: { min?: boolean; max?: boolean } = {},
): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (open.min ? value > min : value >= min) &&
    (open.max ? value < max : value <= max);
  if (!ok) {
    const range = `${open.min ? '(' : '['}${min}, ${max === Infinity ? '∞' : max}${open.max || max === Infinity ? ')' : ']'}`;
    throw new OptionError(
      `Expected a number in ${range} for ${name} of ${method} but received ${JSON.stringify(value)}`,
    );
  }
}

export const neggrad: UnlearnMethod<NegGradOptions> = {
  id: 'neggrad',
  summary: 'Gradient ascent on D_f: minimise −CE on the forget set',
  defaults: NEGGRAD_DEFAULTS,
  iteration: 'forget',
  prepare(ctx: MethodContext, o: NegGradOptions): MethodRun {
    trainOnly(ctx.model, o.trainable);
    return {
      step({ forget }: StepInput) {
        const logits = ctx.model.forward(forget!.x);
        return { loss: F.crossEntropy(logits, forget!.y).neg(), forgetLogits: logits };
      },
      dispose() {},
    };
  },
};
