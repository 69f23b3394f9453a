/**
 * The contract between the shared unlearning loop and the methods. The loop owns the optimizer,
 * the schedule, the epochs, the data and the history; a method supplies its step, and its defaults
 * differ from the loop's shared recipe (`loopDefaults`) only where it says so.
 */
import type { DatasetPair } from '../data/dataset.js';
import type { SplitLoaders } from '../data/loader.js';
import type { Split } from '../data/split.js';
import type { Module } from '../nn/module.js';
import type { Compute } from '../records/compute.js';
import type { SetPredictions, TensorBatch } from '../models/predict.js';
import type { Tensor } from '../tensor/index.js';
import type { Rng } from '../util/rng.js';
import type { EpochRecord, StepRecord } from '../records/metrics.js';

/** Batch-norm / dropout mode of the model while a method trains it. */
export type StudentMode = 'train' | 'eval';

/**
 * What the loop iterates per epoch: retain batches paired with cycling forget batches, one set
 * alone, or a full pass over D_f followed by a full pass over D_r (SCRUB's max then min steps:
 * each step then carries one of the two batches), or one shuffled pass over D_f ∪ D_r (SalUn's
 * random labelling: each step carries the batch's forget rows as `forget` and its retain rows as
 * `retain`; either may be absent).
 */
export type Iteration = 'paired' | 'retain' | 'forget' | 'forget-then-retain' | 'union' | 'none';

/** Options every method shares: the loop's recipe. Each method documents its own defaults. */
export interface LoopOptions {
  epochs: number;
  /** 'sgd' | 'adam' | 'adamw' */
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Learning-rate schedule over the run: cosine annealing to 0, or constant. */
  schedule: 'cosine' | 'constant';
  /** Step the schedule per batch or per epoch. */
  scheduleStep: 'batch' | 'epoch';
  batchSize: number;
  /** Forget-batch size (default: batchSize). */
  forgetBatchSize?: number;
  /** Random crop + flip on the training batches (the data set's usual augmentation). */
  augment: boolean;
  /** Batch-norm mode of the model being trained (see docs: the two modes disagree sharply). */
  studentMode: StudentMode;
}

/**
 * The loop's recipe where a method says nothing else: SGD with momentum 0.9 and weight decay 5e-4,
 * a constant rate, batch 256, no augmentation, the student in train mode: the baselines' common
 * setting in SalUn's code, which hosts their usual implementations (baselines.md). Epochs and the
 * learning rate have no common value: every method states its own (see {@link loopDefaults}).
 */
export const LOOP_DEFAULTS: Readonly<Omit<LoopOptions, 'epochs' | 'lr' | 'forgetBatchSize'>> =
  Object.freeze({
    optimizer: 'sgd',
    momentum: 0.9,
    weightDecay: 5e-4,
    schedule: 'constant',
    scheduleStep: 'epoch',
    batchSize: 256,
    augment: false,
    studentMode: 'train',
  });

/**
 * A method's loop options: its epochs and learning rate, and `LOOP_DEFAULTS` where it states
 * nothing else. The keys come in one fixed order (the order config.json records them in, which
 * resume and the cache compare), `forgetBatchSize` only where the method sets it. A method's own
 * options follow: `Object.freeze({ ...loopDefaults({ epochs: 5, lr: 1e-4 }), trainable: [] })`.
 */
export function loopDefaults(
  own: Pick<LoopOptions, 'epochs' | 'lr'> & Partial<LoopOptions>,
): LoopOptions {
  const o = { ...LOOP_DEFAULTS, ...own };
  return {
    epochs: o.epochs,
    optimizer: o.optimizer,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    schedule: o.schedule,
    scheduleStep: o.scheduleStep,
    batchSize: o.batchSize,
    ...(o.forgetBatchSize === undefined ? {} : { forgetBatchSize: o.forgetBatchSize }),
    augment: o.augment,
    studentMode: o.studentMode,
  };
}

/** Everything a method may use. */
export interface MethodContext {
  /** The model being changed (starts as a copy of the original, or fresh for `retrain`). */
  model: Module;
  /** The original model, never modified (methods clone it when they need a teacher). */
  original: Module;
  data: DatasetPair;
  split: Split;
  loaders: SplitLoaders;
  /**
   * The run's seed, device, precision and memory format. The loop runs each step under its
   * autocast and hands over batches in its memory format; models a method builds for itself
   * (teachers) are put on it with `prepareModel` (as `frozenTeacher` does).
   */
  compute: Compute;
  numClasses: number;
  /** Seeded generator for the method's own random choices. */
  rng: Rng;
  /**
   * The original model's eval-mode logits for every training example (`[trainSize, C]`), computed
   * once: a frozen teacher's outputs need no second forward pass when inputs are not augmented.
   */
  originalTrainLogits: Float32Array | null;
  /** The original model's eval-mode predictions on the split's sets (val included when there is one). */
  originalPredictions: SetPredictions;
}

/** The batches of one step; which are present depends on the method's `iteration`. */
export interface StepInput {
  retain?: TensorBatch;
  forget?: TensorBatch;
  epoch: number;
  step: number;
}

/** A step's loss, and the student's logits on each batch (for the seed's training-batch accuracies). */
export interface StepOutput {
  loss: Tensor;
  retainLogits?: Tensor;
  forgetLogits?: Tensor;
}

/** A method prepared for one run. */
export interface MethodRun {
  /** Parameters the optimizer updates (default: those that require grad). */
  parameters?(): Tensor[];
  /** Per-parameter 0/1 masks: masked-out entries never move (SalUn). */
  gradMasks?(): Map<Tensor, Tensor> | null;
  /** Called at the start of every epoch; may return `'skip'` to skip an epoch's steps. */
  epochStart?(epoch: number): void;
  /** Which batches the coming epoch iterates (SCRUB alternates); default the method's `iteration`. */
  iterationFor?(epoch: number): Iteration;
  /** One step's loss (the loop runs backward, the optimizer and the schedule). */
  step(input: StepInput): StepOutput;
  /**
   * Asked after every step: true ends the run there (a method that knows it has done enough).
   * The final evaluation still runs; the learning-rate schedule simply stops where it was.
   */
  done?(): boolean;
  /** For methods with no training loop (SSD): the whole edit. */
  apply?(): void;
  /** Frees whatever the method created (teachers, masks). */
  dispose(): void;
}

/** A registered unlearning method. `O` is its full, defaulted option set. */
export interface UnlearnMethod<O extends LoopOptions = LoopOptions> {
  id: string;
  /** One line for `--help` and reports. */
  summary: string;
  defaults: Readonly<O>;
  iteration: Iteration;
  /** Start from a fresh model (the oracle) instead of a copy of the original. */
  fromScratch?: boolean;
  /** Checks the options before any work is done (throws OptionError naming the option). */
  validate?(options: O, numClasses: number): void;
  prepare(ctx: MethodContext, options: O): MethodRun;
}

/** Events the loop emits; reporters (progress bar, JSON) subscribe. */
export type UnlearnEvent =
  | {
      type: 'start';
      method: string;
      epochs: number;
      stepsPerEpoch: number;
      options: Record<string, unknown>;
      /** Set when the run continues from a saved state: the epochs and steps already done. */
      resumed?: { epoch: number; step: number };
    }
  | { type: 'step'; epoch: number; record: StepRecord; stepsPerEpoch: number }
  | { type: 'evaluate'; epoch: number; what: string }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'end'; seconds: number };

export type EventHandler = (event: UnlearnEvent) => void;
