/**
 * sRFL, "simple Rolling in Forget Logits" (the user's method; docs/srfl.md pins it down):
 * a frozen teacher copy; only the first two backbone stages train; the teacher's forget logits are
 * rolled along the class dimension by a random shift, and the student is pulled toward the rolled
 * logits on D_f (KL minus cosine similarity) while it distils the unrolled teacher on D_r.
 *
 *   loss = w_f·KL(softmax(roll(z_t^f)/T) ‖ softmax(z_s^f/T)) − w_c·mean cos(roll(z_t^f), z_s^f)
 *        + w_r·KL(softmax(z_t^r/T) ‖ softmax(z_s^r/T))
 *
 * KL is `KLDivLoss(reduction="batchmean")` with log_softmax(student) input and softmax(teacher)
 * target. The temperature divides logits only (no T² factor).
 */
import { cat, F, isAutocastEnabled, tensor, type Tensor } from '../../tensor/index.js';
import type { Rng } from '../../util/rng.js';
import { OptionError } from '../../util/errors.js';
import type { Module } from '../../nn/module.js';
import { frozenTeacher, teacherLogits } from '../teacher.js';
import type {
  LoopOptions,
  MethodContext,
  MethodRun,
  StepInput,
  StepOutput,
  UnlearnMethod,
} from '../types.js';
import { loopDefaults } from '../types.js';

export interface SrflOptions extends LoopOptions {
  /** Name prefixes of the parameters that train; everything else stays frozen. */
  trainable: string[];
  /** Roll shifts drawn uniformly (0 is never useful: it would not disturb the labels). */
  shifts: number[];
  /** One shift per batch (the seed) or one per sample. */
  perSample: boolean;
  /** Weight of KL(rolled teacher ‖ student) on D_f. */
  forgetWeight: number;
  /** Weight of the cosine-similarity term on D_f (subtracted). */
  cosineWeight: number;
  /** Weight of KL(teacher ‖ student) on D_r. */
  retainWeight: number;
  /** Softmax temperature of the KL terms. */
  temperature: number;
}

/**
 * Defaults: the seed's loss as written — every term weighted 1, temperature 1, shifts {−1, +1}
 * drawn once per batch, only `layer1.` and `layer2.` training — and, for what the seed leaves
 * open, Lethe's choices with their reasons:
 * - `lr` 1e-3, SGD with momentum 0.9, 1 epoch: the author's published code (docs/srfl.md);
 * - weight decay 5e-4: the NeurIPS 2023 kit's fine-tuning baseline (the author's code uses 1e-4;
 *   at lr 1e-3 either shrinks the weights by under 1e-6 per step);
 * - cosine schedule stepped per batch: one epoch has a single epoch boundary, so a per-epoch
 *   cosine would never move; per batch it anneals across the run;
 * - batch 128 for both D_r and D_f: the kit's batch size; an epoch is one pass over D_r and forget
 *   batches cycle (docs/srfl.md, step 3);
 * - no augmentation: the teacher's logits are targets for the exact images the student sees;
 * - student in eval mode (batch-norm running statistics frozen): in train mode a forget batch
 *   has batch statistics of its own, its training-batch accuracy collapses at once and the
 *   eval-mode model has not forgotten (README, "Batch-norm mode matters").
 *
 * What Lethe once tuned is a named variant, never the default: `srfl-tuned` (retain weight 3).
 */
export const SRFL_DEFAULTS: Readonly<SrflOptions> = Object.freeze({
  ...loopDefaults({
    epochs: 1,
    lr: 1e-3,
    schedule: 'cosine',
    scheduleStep: 'batch',
    batchSize: 128,
    studentMode: 'eval',
  }),
  trainable: ['layer1.', 'layer2.'],
  shifts: [-1, 1],
  perSample: false,
  forgetWeight: 1,
  cosineWeight: 1,
  retainWeight: 1,
  temperature: 1,
});

/** Rolls each row of `logits` by its shift along the class dimension (`torch.roll(z, s, 1)`). */
export function rollRows(logits: Tensor, shifts: number[]): Tensor {
  const [n, c] = logits.shape;
  if (shifts.length === 1) return logits.roll(shifts[0], 1);
  // out[i, j] = logits[i, (j - s_i) mod c]
  const index = new BigInt64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) index[i * c + j] = BigInt((((j - shifts[i]) % c) + c) % c);
  }
  const idx = tensor(index, [n, c], { device: logits.device });
  const out = logits.gather(1, idx);
  idx.dispose();
  return out;
}

/** Draws the roll shifts for a batch of `n`: one per batch, or one per sample. */
export function drawShifts(rng: Rng, shifts: number[], n: number, perSample: boolean): number[] {
  const draw = (): number => shifts[rng.int(shifts.length)];
  return perSample ? Array.from({ length: n }, draw) : [draw()];
}

export function validateShifts(shifts: number[], numClasses: number): void {
  if (!Array.isArray(shifts) || shifts.length === 0 || shifts.some((s) => !Number.isInteger(s))) {
    throw new OptionError(
      `Expected a non-empty list of integer shifts but received ${JSON.stringify(shifts)}`,
    );
  }
  if (shifts.some((s) => ((s % numClasses) + numClasses) % numClasses === 0)) {
    throw new OptionError(
      `Expected shifts that move every class (not multiples of ${numClasses}) but received ${JSON.stringify(shifts)}`,
    );
  }
}

/** KL(softmax(target/T) ‖ softmax(input/T)), batchmean. */
export function distill(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  const s = temperature === 1 ? student : student.div(temperature);
  const t = temperature === 1 ? teacher : teacher.div(temperature);
  return F.klDiv(s.logSoftmax(1), t.softmax(1), { reduction: 'batchmean' });
}

/** The seed's sRFL loss on one retain and one forget batch. */
export function srflLoss(
  student: { forget: Tensor; retain: Tensor },
  teacher: { rolledForget: Tensor; retain: Tensor },
  o: Pick<SrflOptions, 'forgetWeight' | 'cosineWeight' | 'retainWeight' | 'temperature'>,
): Tensor {
  const klForget = distill(student.forget, teacher.rolledForget, o.temperature);
  const cosine = F.cosineSimilarity(teacher.rolledForget, student.forget, 1).mean();
  const klRetain = distill(student.retain, teacher.retain, o.temperature);
  return klForget.mul(o.forgetWeight).sub(cosine, o.cosineWeight).add(klRetain, o.retainWeight);
}

type ForgetRetain = { forget: Tensor; retain: Tensor };

/** A step's logits, shared by both sRFL variants: teacher (plain and rolled) and student. */
export function srflLogits(
  ctx: MethodContext,
  teacher: Module,
  { retain, forget }: StepInput,
  o: Pick<SrflOptions, 'shifts' | 'perSample'>,
): {
  teacher: { forget: Tensor; rolledForget: Tensor; retain: Tensor };
  student: ForgetRetain;
} {
  const tf = teacherLogits(ctx, teacher, forget!);
  const rolledForget = rollRows(tf, drawShifts(ctx.rng, o.shifts, forget!.size, o.perSample));
  return {
    teacher: { forget: tf, rolledForget, retain: teacherLogits(ctx, teacher, retain!) },
    student: studentLogits(ctx.model, forget!.x, retain!.x),
  };
}

/**
 * The student's logits on both batches. Under mixed precision, in eval mode (sRFL's default), one
 * forward pass over both: no batch statistics tie a row to its batch, so the logits are the same
 * up to float rounding, in 6% less time (bf16 channels-last, 2 × 128 rows). In float32 one pass
 * measured no faster, so the two passes stay (and their results bit for bit); in training mode
 * each batch keeps its own batch-norm statistics.
 */
export function studentLogits(model: Module, forget: Tensor, retain: Tensor): ForgetRetain {
  if (model.training || !isAutocastEnabled(forget.device))
    return { forget: model.forward(forget), retain: model.forward(retain) };
  const both = model.forward(cat([forget, retain]));
  const n = forget.shape[0];
  return { forget: both.narrow(0, 0, n), retain: both.narrow(0, n, retain.shape[0]) };
}

/** The seed's step, shared by `srfl` and its named variants (which differ only in defaults). */
export function prepareSrfl(ctx: MethodContext, o: SrflOptions): MethodRun {
  const teacher = frozenTeacher(ctx);
  ctx.model.setTrainable(o.trainable);
  return {
    step(input: StepInput): StepOutput {
      const { teacher: t, student } = srflLogits(ctx, teacher, input, o);
      const loss = srflLoss(student, t, o);
      return { loss, forgetLogits: student.forget, retainLogits: student.retain };
    },
    dispose: () => teacher.dispose(),
  };
}

export const srfl: UnlearnMethod<SrflOptions> = {
  id: 'srfl',
  summary:
    "sRFL (the seed's pseudo code, every loss weight 1): KL to rolled teacher forget logits − cosine + KL to the teacher on retain; trains layer1/layer2",
  defaults: SRFL_DEFAULTS,
  iteration: 'paired',
  validate: (o, numClasses) => validateShifts(o.shifts, numClasses),
  prepare: prepareSrfl,
};
