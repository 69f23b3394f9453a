/**
 * Bad teacher (Chundawat et al., "Can bad teaching induce forgetting?", AAAI 2023): the student
 * (a copy of the original) distils a randomly initialised "bad" teacher on D_f and the original,
 * "competent" teacher on a random subset of D_r, with KL at temperature τ.
 *
 * The authors train on one shuffled mix of D_f and a 30% subset of D_r, each example once per
 * epoch, the loss averaged over the mixed batch. Here the loop pairs every retain batch with a
 * cycling forget batch, so:
 * - the retain subset is fixed at the start (a seeded draw of `retainFraction·|D_r|` examples);
 *   retain examples outside it are forwarded (for the training-batch accuracy) but carry zero
 *   weight in the loss;
 * - the forget and retain batches are forwarded together, as one mixed batch (batch-norm
 *   statistics of the mix, as in the authors' code), and the loss is the per-example KL summed over
 *   the forget examples and the weighted retain examples, divided by their count;
 * - D_f cycles, so one epoch visits D_f about |D_r| / |D_f| times (the authors' visits it once).
 *
 * The bad teacher is the original's architecture re-initialised in place with PyTorch's default
 * initialisation (see {@link reinitialize}), from libtorch's generator, which the loop seeds.
 */
import { BatchNorm2d } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import { cat, empty, F, noGrad, tensor, type Tensor } from '../../tensor/index.js';
import { frozenTeacher, teacherLogits } from '../teacher.js';
import type { LoopOptions, MethodContext, MethodRun, StepInput, UnlearnMethod } from '../types.js';
import { loopDefaults } from '../types.js';
import { checkRange, trainOnly } from './neggrad.js';

export interface BadTeacherOptions extends LoopOptions {
  /** Softmax temperature τ of both KL terms. */
  temperature: number;
  /** Share of D_r (a fixed, seeded random subset) distilled from the original teacher, in (0, 1]. */
  retainFraction: number;
  /** Name prefixes of the parameters that train; empty: all. */
  trainable: string[];
}

/** baselines.md: Adam lr 1e-4, 1 epoch, batch 256, τ = 1, a 30% subset of D_r. */
export const BAD_TEACHER_DEFAULTS: Readonly<BadTeacherOptions> = Object.freeze({
  ...loopDefaults({ epochs: 1, optimizer: 'adam', lr: 1e-4, momentum: 0, weightDecay: 0 }),
  temperature: 1,
  retainFraction: 0.3,
  trainable: [],
});

/**
 * Re-initialises every parameter of `model` in place, as a freshly built PyTorch model would be:
 * batch norm to weight 1, bias 0 and fresh running statistics; every other weight and its bias
 * uniform in ±1/√fan_in (PyTorch's default for convolutions and linear layers). A 1-D parameter
 * with no weight matrix beside it becomes 1 if named `weight`, else 0.
 */
export function reinitialize(model: Module): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      const own = m.namedParameters().filter(([n]) => !n.includes('.'));
      if (m instanceof BatchNorm2d) {
        for (const [n, p] of own) p.fill_(n === 'weight' ? 1 : 0);
        for (const [n, b] of m.namedBuffers().filter(([k]) => !k.includes('.')))
          b.fill_(n === 'running_var' ? 1 : 0);
        continue;
      }
      const matrix = own.find(([, p]) => p.ndim >= 2)?.[1];
      const fanIn = matrix ? matrix.numel() / matrix.shape[0] : 0;
      for (const [n, p] of own) {
        if (fanIn > 0) {
          // Drawn in row-major order and copied, so a channels-last weight gets the same values.
          const bound = 1 / Math.sqrt(fanIn);
          const fresh = empty(p.shape, { device: p.device }).uniform_(-bound, bound);
          p.copy_(fresh);
          fresh.dispose();
        } else p.fill_(n === 'weight' ? 1 : 0);
      }
    }
  });
}

/** KL(softmax(t/τ) ‖ softmax(s/τ)) per example: `[n]`. */
function klPerExample(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  const s = student.div(temperature).logSoftmax(1);
  const t = teacher.div(temperature).softmax(1);
  return F.klDiv(s, t, { reduction: 'none' }).sum(1);
}

export const badTeacher: UnlearnMethod<BadTeacherOptions> = {
  id: 'bad-teacher',
  summary: 'KL to a randomly initialised teacher on D_f and to the original on a subset of D_r',
  defaults: BAD_TEACHER_DEFAULTS,
  iteration: 'paired',
  prepare(ctx: MethodContext, o: BadTeacherOptions): MethodRun {
    checkRange('bad-teacher', 'temperature', o.temperature, 0, Infinity, { min: true });
    checkRange('bad-teacher', 'retainFraction', o.retainFraction, 0, 1, { min: true });
    trainOnly(ctx.model, o.trainable);
    const teacher = frozenTeacher(ctx);
    const bad = frozenTeacher(ctx);
    reinitialize(bad);
    // The retain subset: a seeded draw, fixed for the whole run.
    const inSubset = new Uint8Array(ctx.split.trainSize);
    const order = ctx.rng.permutation(ctx.split.retain.length);
    const keep = Math.round(o.retainFraction * ctx.split.retain.length);
    for (let i = 0; i < keep; i++) inSubset[ctx.split.retain[order[i]]] = 1;
    return {
      step({ retain, forget }: StepInput) {
        const nf = forget!.size;
        const nr = retain!.size;
        const weights = new Float32Array(nr);
        for (let i = 0; i < nr; i++) weights[i] = inSubset[retain!.indices[i]];
        const kept = weights.reduce((a, b) => a + b, 0);
        const logits = ctx.model.forward(cat([forget!.x, retain!.x]));
        const sf = logits.narrow(0, 0, nf);
        const sr = logits.narrow(0, nf, nr);
        const badLogits = noGrad(() => bad.forward(forget!.x));
        const goodLogits = teacherLogits(ctx, teacher, retain!);
        const w = tensor(weights, [nr], { device: ctx.compute.device });
        const total = klPerExample(sf, badLogits, o.temperature)
          .sum()
          .add(klPerExample(sr, goodLogits, o.temperature).mul(w).sum());
        return { loss: total.div(nf + kept), forgetLogits: sf, retainLogits: sr };
      },
      dispose() {
        teacher.dispose();
        bad.dispose();
      },
    };
  },
};
