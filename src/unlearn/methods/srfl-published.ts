/**
 * `srfl-published`: the author's published `srfl` (train.py), as docs/srfl.md lists it:
 * shifts {−3, +3} per batch, and
 *
 *   loss = 0.8·KL_forget(rolled) + 0.1·KL_retain + 1.1·CE_w(z_s^r, y_r) + (mean cos(z_s^f, z_t^f) − 1)
 *
 * where the cosine is against the *unrolled* teacher forget logits (minimising it pushes the
 * student away from the teacher's direction). SGD lr 1e-3, momentum 0.9, weight decay 1e-4,
 * cosine schedule per epoch, 1 epoch. The published code leaves the train/eval mode as the caller
 * set it; Lethe puts the student in train mode, as a training script would.
 */
import { F, tensor, type Tensor } from '../../tensor/index.js';
import { frozenTeacher } from '../teacher.js';
import type { MethodContext, MethodRun, StepInput, StepOutput, UnlearnMethod } from '../types.js';
import { distill, srflLogits, SRFL_DEFAULTS, validateShifts, type SrflOptions } from './srfl.js';

export interface SrflPublishedOptions extends SrflOptions {
  /** Weight of cross-entropy on D_r. */
  ceWeight: number;
  /** Optional class weights of that cross-entropy (length = classes). */
  classWeights: number[] | null;
}

/** The published recipe: sRFL's options where the author's code differs from the seed's text. */
export const SRFL_PUBLISHED_DEFAULTS: Readonly<SrflPublishedOptions> = Object.freeze({
  ...SRFL_DEFAULTS,
  weightDecay: 1e-4,
  scheduleStep: 'epoch',
  studentMode: 'train',
  shifts: [-3, 3],
  forgetWeight: 0.8,
  cosineWeight: 1,
  retainWeight: 0.1,
  ceWeight: 1.1,
  classWeights: null,
});

/** The published loss on one retain and one forget batch. */
export function srflPublishedLoss(
  student: { forget: Tensor; retain: Tensor },
  teacher: { forget: Tensor; rolledForget: Tensor; retain: Tensor },
  retainLabels: Tensor,
  o: Pick<
    SrflPublishedOptions,
    'forgetWeight' | 'cosineWeight' | 'retainWeight' | 'temperature' | 'ceWeight'
  >,
  classWeights: Tensor | null = null,
): Tensor {
  const klForget = distill(student.forget, teacher.rolledForget, o.temperature);
  const klRetain = distill(student.retain, teacher.retain, o.temperature);
  const ce = F.crossEntropy(student.retain, retainLabels, { weight: classWeights });
  const cosine = F.cosineSimilarity(F.normalize(student.forget), F.normalize(teacher.forget), 1)
    .mean()
    .sub(1);
  return klForget
    .mul(o.forgetWeight)
    .add(klRetain, o.retainWeight)
    .add(ce, o.ceWeight)
    .add(cosine, o.cosineWeight);
}

export const srflPublished: UnlearnMethod<SrflPublishedOptions> = {
  id: 'srfl-published',
  summary:
    "sRFL as the author's published code runs it: ±3 shifts, 0.8·KL_f + 0.1·KL_r + 1.1·CE + (cos − 1)",
  defaults: SRFL_PUBLISHED_DEFAULTS,
  iteration: 'paired',
  validate: (o, numClasses) => validateShifts(o.shifts, numClasses),
  prepare(ctx: MethodContext, o: SrflPublishedOptions): MethodRun {
    const teacher = frozenTeacher(ctx);
    ctx.model.setTrainable(o.trainable);
    const weights = o.classWeights
      ? tensor(o.classWeights, [o.classWeights.length], { device: ctx.compute.device })
      : null;
    return {
      step(input: StepInput): StepOutput {
        const { teacher: t, student } = srflLogits(ctx, teacher, input, o);
        const loss = srflPublishedLoss(student, t, input.retain!.y, o, weights);
        return { loss, forgetLogits: student.forget, retainLogits: student.retain };
      },
      dispose: () => {
        teacher.dispose();
        weights?.dispose();
      },
    };
  },
};
