/**
 * `GradScaler`: loss scaling for float16 mixed precision, with the semantics of PyTorch 1.13's
 * `torch.cuda.amp.GradScaler`. float16 gradients of small losses underflow to zero; scaling the
 * loss by a large factor keeps them representable, and the factor is divided out of the float32
 * gradients before the optimizer sees them. A step whose gradients hold inf or NaN (the scale
 * was too large) is skipped and the scale backs off; after `growthInterval` clean steps in a row
 * it grows again.
 *
 * @example
 * const scaler = new GradScaler();
 * scaler.scale(loss).backward();
 * scaler.step(optimizer); // unscales, and skips the step on inf/NaN gradients
 * scaler.update();
 */
import { noGrad, tidy, type Tensor } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';
import { definedOnly, show } from './optimizer.js';

export interface GradScalerOptions {
  /** The first scale factor. */
  initScale: number;
  /** Multiplies the scale after `growthInterval` steps in a row without inf/NaN gradients. */
  growthFactor: number;
  /** Multiplies the scale after a step with inf/NaN gradients (which is skipped). */
  backoffFactor: number;
  /** Clean steps in a row before the scale grows. */
  growthInterval: number;
  /** `false` makes every method a pass-through (`scale` returns the loss, `step` just steps). */
  enabled: boolean;
}

/** PyTorch's defaults: 2^16, ×2 every 2000 clean steps, ×0.5 on overflow. */
export const GRAD_SCALER_DEFAULTS: Readonly<GradScalerOptions> = Object.freeze({
  initScale: 2 ** 16,
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 2000,
  enabled: true,
});

/** The scaler's state under PyTorch's `state_dict()` keys. */
export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/** What the scaler needs of an optimizer: its parameters (for their gradients) and its step. */
export interface ScalableOptimizer {
  readonly paramGroups: readonly { params: Tensor[] }[];
  step(): void;
}

type AnyOptimizer = ScalableOptimizer;

export class GradScaler {
  readonly options: Readonly<GradScalerOptions>;
  private currentScale: number;
  private growthTracker = 0;
  /** Per optimizer in this iteration: unscaled already, and whether it found inf/NaN. */
  private readonly perOptimizer = new Map<AnyOptimizer, { foundInf: boolean }>();

  constructor(options: Partial<GradScalerOptions> = {}) {
    const o = { ...GRAD_SCALER_DEFAULTS, ...definedOnly(options) };
    const positive = (name: keyof GradScalerOptions, v: unknown): void => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        throw new OptionError(`Expected a positive number for ${name} but received ${show(v)}`);
    };
    positive('initScale', o.initScale);
    if (!(o.growthFactor > 1))
      throw new OptionError(
        `Expected growthFactor > 1 for GradScaler but received ${show(o.growthFactor)}`,
      );
    if (!(o.backoffFactor > 0 && o.backoffFactor < 1))
      throw new OptionError(
        `Expected backoffFactor in (0, 1) for GradScaler but received ${show(o.backoffFactor)}`,
      );
    if (!Number.isInteger(o.growthInterval) || o.growthInterval < 1)
      throw new OptionError(
        `Expected a positive integer for growthInterval but received ${show(o.growthInterval)}`,
      );
    if (typeof o.enabled !== 'boolean')
      throw new OptionError(`Expected a boolean for enabled but received ${show(o.enabled)}`);
    this.options = Object.freeze(o);
    this.currentScale = o.initScale;
  }

  isEnabled(): boolean {
    return this.options.enabled;
  }

  /** The current scale factor (PyTorch's `get_scale()`; 1 when disabled). */
  getScale(): number {
    return this.options.enabled ? this.currentScale : 1;
  }

  /** `loss × scale`, a new tensor (the loss itself when disabled). */
  scale(loss: Tensor): Tensor {
    if (!this.options.enabled) return loss;
    return loss.mul(this.currentScale);
  }

  /**
   * Divides the scale out of the gradients of the optimizer's parameters, in place, and records
   * whether any is inf or NaN. Call it before clipping gradients; `step` calls it otherwise.
   * Once per optimizer per iteration, as in PyTorch.
   */
  unscale_(optimizer: AnyOptimizer): void {
    if (!this.options.enabled) return;
    if (this.perOptimizer.has(optimizer)) {
      throw new OptionError(
        'unscale_() has already been called on this optimizer since the last update()',
      );
    }
    // PyTorch multiplies by the float32 reciprocal of the scale: the same here, bit for bit.
    const invScale = Math.fround(1 / this.currentScale);
    const foundInf = noGrad(() =>
      tidy(() => {
        // 1 while every gradient so far is finite; kept on the device until the one read below.
        let allFinite: Tensor | null = null;
        for (const group of optimizer.paramGroups) {
          for (const p of group.params) {
            const g = p.grad;
            if (g === null) continue;
            g.mul_(invScale);
            const finite = g.isfinite().all().float();
            allFinite = allFinite === null ? finite : allFinite.mul(finite);
          }
        }
        // One read per step, as PyTorch's step() does with found_inf.item().
        return allFinite !== null && allFinite.item() === 0;
      }),
    );
    this.perOptimizer.set(optimizer, { foundInf });
  }

  /**
   * Unscales the gradients (unless `unscale_` did) and takes the optimizer's step, unless they
   * hold inf or NaN. Returns whether the step was taken.
   */
  step(optimizer: AnyOptimizer): boolean {
    if (!this.options.enabled) {
      optimizer.step();
      return true;
    }
    if (!this.perOptimizer.has(optimizer)) this.unscale_(optimizer);
    if (this.perOptimizer.get(optimizer)!.foundInf) return false;
    optimizer.step();
    return true;
  }

  /**
   * Updates the scale for the next iteration (`_amp_update_scale_`): backs off if any optimizer
   * found inf/NaN, grows after `growthInterval` clean steps, otherwise counts. With `newScale`,
   * sets the scale instead.
   */
  update(newScale?: number): void {
    if (!this.options.enabled) return;
    if (newScale !== undefined) {
      if (!(newScale > 0) || !Number.isFinite(newScale))
        throw new OptionError(`Expected a positive scale but received ${show(newScale)}`);
      this.currentScale = newScale;
    } else if (this.perOptimizer.size === 0) {
      throw new OptionError('No inf checks were recorded prior to update()');
    } else if ([...this.perOptimizer.values()].some((s) => s.foundInf)) {
      this.currentScale = Math.fround(this.currentScale * this.options.backoffFactor);
      this.growthTracker = 0;
    } else if (this.growthTracker + 1 === this.options.growthInterval) {
      const grown = Math.fround(this.currentScale * this.options.growthFactor);
      // PyTorch keeps the old scale if growing would overflow float32.
      if (Number.isFinite(grown)) this.currentScale = grown;
      this.growthTracker = 0;
    } else {
      this.growthTracker += 1;
    }
    this.perOptimizer.clear();
  }

  /** PyTorch's `state_dict()` (empty when disabled). */
  stateDict(): GradScalerState | Record<string, never> {
    if (!this.options.enabled) return {};
    return {
      scale: this.currentScale,
      growth_factor: this.options.growthFactor,
      backoff_factor: this.options.backoffFactor,
      growth_interval: this.options.growthInterval,
      _growth_tracker: this.growthTracker,
    };
  }

  /** Restores the scale and growth tracker (and checks the factors match this scaler's). */
  loadStateDict(state: GradScalerState): void {
    if (!this.options.enabled) return;
    if (typeof state?.scale !== 'number' || !Number.isInteger(state._growth_tracker)) {
      throw new OptionError(
        `Expected a GradScaler state with scale and _growth_tracker but received ${JSON.stringify(state)}`,
      );
    }
    this.currentScale = state.scale;
    this.growthTracker = state._growth_tracker;
  }
}
