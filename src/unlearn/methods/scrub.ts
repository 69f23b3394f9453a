/**
 * SCRUB (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023): the student, a
 * copy of the original, alternates *max* steps that push it away from the frozen teacher on D_f
 * (minimise −KL_T(teacher ‖ student)) and *min* steps that keep it close on D_r (minimise
 * γ·CE + α·KL_T). The two are never summed into one loss.
 *
 * Epochs map onto the authors' `sgda_epochs` loop exactly: epoch e runs a full max pass over D_f
 * (only while e ≤ `msteps`) and then a full min pass over D_r (the loop's `'forget-then-retain'`
 * iteration; later epochs iterate D_r alone). With the defaults, 3 epochs and msteps 2 run
 * max, min, max, min, min. The history therefore gets one evaluation per SCRUB epoch.
 *
 * KL_T is the authors' `DistillKL`: KL(softmax(t/T) ‖ softmax(s/T)) summed over classes, averaged
 * over the batch and multiplied by T². The teacher is the original in eval mode.
 */
import { F, type Tensor } from '../../tensor/index.js';
import { OptionError } from '../../util/errors.js';
import { frozenTeacher, teacherLogits } from '../teacher.js';
import type {
  Iteration,
  LoopOptions,
  MethodContext,
  MethodRun,
  StepInput,
  UnlearnMethod,
} from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface ScrubOptions extends LoopOptions {
  /** Epochs (from the first) that start with a max pass over D_f; later epochs only minimise. */
  msteps: number;
  /** Distillation temperature T. */
  temperature: number;
  /** Weight γ of cross-entropy in the min steps. */
  gamma: number;
  /** Weight α of KL_T(teacher ‖ student) in the min steps. */
  alpha: number;
  /** Name prefixes of the parameters that train; empty: all. */
  trainable: string[];
}

/**
 * baselines.md: SGD lr 5e-4, momentum 0.9, wd 5e-4, 3 epochs, msteps 2, T 4, γ 0.99, α 0.001,
 * retain batch 128, forget batch 32. The rate is constant: the authors' decay epochs lie beyond 3.
 */
export const SCRUB_DEFAULTS: Readonly<ScrubOptions> = Object.freeze({
  ...loopDefaults({ epochs: 3, lr: 5e-4, batchSize: 128, forgetBatchSize: 32 }),
  msteps: 2,
  temperature: 4,
  gamma: 0.99,
  alpha: 0.001,
  trainable: [],
});

/** The authors' `DistillKL`: T²·KL(softmax(t/T) ‖ softmax(s/T)), batchmean. */
export function distillKL(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  const s = student.div(temperature).logSoftmax(1);
  const t = teacher.div(temperature).softmax(1);
  return F.klDiv(s, t, { reduction: 'batchmean' }).mul(temperature * temperature);
}

export const scrub: UnlearnMethod<ScrubOptions> = {
  id: 'scrub',
  summary:
    'SCRUB: alternating max epochs (−KL to the teacher on D_f) and min epochs (γ·CE + α·KL on D_r)',
  defaults: SCRUB_DEFAULTS,
  iteration: 'forget-then-retain',
  prepare(ctx: MethodContext, o: ScrubOptions): MethodRun {
    if (!Number.isInteger(o.msteps) || o.msteps < 0) {
      throw new OptionError(
        `Expected a non-negative integer for msteps of scrub but received ${JSON.stringify(o.msteps)}`,
      );
    }
    checkRange('scrub', 'temperature', o.temperature, 0, Infinity, { min: true });
    checkRange('scrub', 'gamma', o.gamma, 0, Infinity);
    checkRange('scrub', 'alpha', o.alpha, 0, Infinity);
    trainOnly(ctx.model, o.trainable);
    const teacher = frozenTeacher(ctx);
    return {
      iterationFor: (epoch: number): Iteration =>
        epoch <= o.msteps ? 'forget-then-retain' : 'retain',
      step({ retain, forget }: StepInput) {
        if (forget) {
          const s = ctx.model.forward(forget.x);
          const loss = distillKL(s, teacherLogits(ctx, teacher, forget), o.temperature).neg();
          return { loss, forgetLogits: s };
        }
        const s = ctx.model.forward(retain!.x);
        const kl = distillKL(s, teacherLogits(ctx, teacher, retain!), o.temperature);
        const loss = F.crossEntropy(s, retain!.y).mul(o.gamma).add(kl, o.alpha);
        return { loss, retainLogits: s };
      },
      dispose: () => teacher.dispose(),
    };
  },
};
