/**
 * How a model computes under a run's {@link Compute}: on its device, in its memory format, under
 * its precision. The settings themselves (and their defaults) are the ground floor's
 * (`records/compute.ts`); this module applies them to models and tensors.
 *
 * Mixed precision follows PyTorch's recipe: parameters, gradients, optimizer state stay float32;
 * the forward pass runs under libtorch's autocast (convolutions and linear layers in the lower
 * precision); a model's outputs are cast back to float32, so softmax, KL, cosine, losses and
 * metrics are computed in float32. `fp16-mixed` also scales the loss (`GradScaler`). The
 * training loop meets all of it through one object, {@link PrecisionPlugin}, as Lightning's
 * precision plugins do.
 */
import type { Module, RemovableHandle } from '../nn/module.js';
import { GradScaler, type GradScalerState, type ScalableOptimizer } from '../optim/index.js';
import type { Compute } from '../records/compute.js';
import { autocast, type Tensor } from '../tensor/index.js';

/** Where and how a model computes: the part of a {@link Compute} that models and tensors use. */
export type Placement = Pick<Compute, 'device' | 'precision' | 'memoryFormat'>;

/** Runs `fn` (a forward pass and its loss) under the precision's autocast; fp32 runs it as is. */
export function withPrecision<T>(compute: Placement, fn: () => T): T {
  if (compute.precision === 'fp32') return fn();
  return autocast(
    {
      device: compute.device,
      dtype: compute.precision === 'fp16-mixed' ? 'float16' : 'bfloat16',
    },
    fn,
  );
}

/**
 * Puts a model on the compute's device and memory format, and (for mixed precision) casts its
 * outputs to float32 with a forward hook. Returns the hook's handle (remove it to stop casting).
 */
export function prepareModel(model: Module, compute: Placement): RemovableHandle {
  model.to({ device: compute.device, memoryFormat: compute.memoryFormat });
  if (compute.precision === 'fp32') return { remove: () => {} };
  return model.registerForwardHook((_m, _x, out) => toFloat32(out));
}

/** A floating tensor in float32 (the same tensor when it already is). */
export function toFloat32(t: Tensor): Tensor {
  return t.dtype === 'bfloat16' || t.dtype === 'float16' ? t.float() : t;
}

/** A batch of images in the compute's memory format (the same tensor when it already is). */
export function toMemoryFormat(x: Tensor, compute: Placement): Tensor {
  if (compute.memoryFormat !== 'channelsLast' || x.ndim !== 4) return x;
  return x.contiguous({ memoryFormat: 'channelsLast' });
}

/**
 * A run's precision as one object, as Lightning's precision plugins: the forward context
 * (autocast), the backward pass and optimizer step (with loss scaling for `fp16-mixed`: float16
 * gradients of small losses underflow), and the scaler's state for checkpoints.
 */
export class PrecisionPlugin {
  private readonly scaler: GradScaler | null;

  constructor(readonly compute: Placement) {
    this.scaler = compute.precision === 'fp16-mixed' ? new GradScaler() : null;
  }

  /** Runs a forward pass and its loss under the precision's autocast. */
  forward<T>(fn: () => T): T {
    return withPrecision(this.compute, fn);
  }

  /** Backward from `loss`, then the optimizer's step (skipped by the scaler on inf/NaN gradients). */
  backwardAndStep(loss: Tensor, optimizer: ScalableOptimizer): void {
    if (!this.scaler) {
      loss.backward();
      optimizer.step();
      return;
    }
    this.scaler.scale(loss).backward();
    this.scaler.step(optimizer);
    this.scaler.update();
  }

  /**
   * Whether a non-finite loss is a step the precision skips (loss scaling backs off and tries
   * again) rather than a run gone wrong.
   */
  get skipsNonFiniteSteps(): boolean {
    return this.scaler !== null;
  }

  /** What a checkpoint keeps of it: the loss scaler's state (`fp16-mixed` only). */
  stateDict(): { scaler?: GradScalerState } {
    return this.scaler ? { scaler: this.scaler.stateDict() as GradScalerState } : {};
  }

  /** Continues from {@link stateDict}'s record. */
  loadStateDict(state: { scaler?: GradScalerState }): void {
    if (this.scaler && state.scaler) this.scaler.loadStateDict(state.scaler);
  }
}
