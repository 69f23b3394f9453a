/**
 * The shared unlearning loop. It owns the optimizer, the schedule, the epochs, the pairing of
 * retain batches with cycling forget batches, the seed's per-iteration training-batch accuracies
 * and the per-epoch eval-mode accuracies on the full sets. A method supplies only its step.
 */
import type { DatasetPair } from '../data/dataset.js';
import {
  pairedLoader,
  partitionBatch,
  splitLoaders,
  type Batch,
  type SplitLoaders,
} from '../data/loader.js';
import type { Split } from '../data/split.js';
import {
  accuracyOf,
  predictSets,
  toTensors,
  type SetPredictions,
  type TensorBatch,
} from '../models/predict.js';

export { perClassOf } from '../models/predict.js';

export type { SetPredictions };
import { PrecisionPlugin, prepareModel } from '../models/precision.js';
import type { Compute } from '../records/compute.js';
import type { Module } from '../nn/module.js';
import {
  CosineAnnealingLR,
  createOptimizer,
  type Adam,
  type AdamW,
  type Scheduler,
  type SGD,
} from '../optim/index.js';

type AnyOptimizer = SGD | Adam | AdamW;
import type { EpochRecord, History, StepRecord } from '../records/metrics.js';
import { manualSeed, tidy, dispose, type Tensor } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { checkResumable, type LoopState } from './checkpoint.js';

export type { LoopState };
import type {
  EventHandler,
  MethodRun,
  Iteration,
  LoopOptions,
  MethodContext,
  StepInput,
  UnlearnMethod,
} from './types.js';

export interface LoopInput<O extends LoopOptions> {
  method: UnlearnMethod<O>;
  options: O;
  /** The original model (never modified). */
  original: Module;
  /** Builds a fresh, randomly initialised model of the same architecture (for `retrain`). */
  createModel: () => Module;
  data: DatasetPair;
  split: Split;
  /**
   * The run's seed, device, precision and memory format, resolved (`resolveCompute`). Under
   * `bf16-mixed` or `fp16-mixed` (CUDA only, with loss scaling) the forward passes of training and
   * prediction run under autocast; weights, optimizer state, losses and metrics stay float32.
   */
  compute: Compute;
  onEvent?: EventHandler;
  /** Evaluate on the full sets after every epoch (default true); the final evaluation always runs. */
  evalEveryEpoch?: boolean;
  /** The original model's eval-mode predictions, when the caller already has them. */
  originalPredictions?: SetPredictions;
  /**
   * Called after every epoch but the last with the state a resumed run continues from. Its
   * tensors belong to the loop and are valid only during the call: save them, do not keep them.
   */
  onCheckpoint?: (state: LoopState) => void;
  /**
   * Continue a run from a state `onCheckpoint` produced for the same method, options, data,
   * split and seed: the remaining epochs then give the same model, bit for bit, as an
   * uninterrupted run on the same device. The caller keeps the tensors (they are copied).
   */
  resume?: LoopState;
}

export interface LoopResult {
  model: Module;
  history: History;
  /** Wall time of the unlearning itself: evaluation excluded. */
  seconds: number;
  /** The compute settings the run used (to record with it). */
  compute: Compute;
  final: SetPredictions;
  original: SetPredictions;
}

function record(epoch: number, p: SetPredictions): EpochRecord {
  return {
    epoch,
    forget: accuracyOf(p.forget),
    retain: accuracyOf(p.retain),
    test: accuracyOf(p.test),
  };
}

/** Accuracy of logits `[n, C]` against labels, on tensors; returns a number. */
function batchAccuracy(logits: Tensor | undefined, batch: TensorBatch | undefined): number {
  if (!logits || !batch) return NaN;
  return tidy(() => logits.argmax(1).eq(batch.y).float().mean().item());
}

function buildOptimizer(options: LoopOptions, params: Tensor[]): AnyOptimizer {
  if (params.length === 0) throw new OptionError('The method left no parameter to train');
  switch (options.optimizer) {
    case 'sgd':
      return createOptimizer('sgd', params, {
        lr: options.lr,
        momentum: options.momentum,
        weightDecay: options.weightDecay,
      });
    case 'adam':
      return createOptimizer('adam', params, { lr: options.lr, weightDecay: options.weightDecay });
    case 'adamw':
      return createOptimizer('adamw', params, { lr: options.lr, weightDecay: options.weightDecay });
    default:
      throw new OptionError(
        `Expected optimizer 'sgd', 'adam' or 'adamw' but received '${String(options.optimizer)}'`,
      );
  }
}

function stepsPerEpoch(iteration: Iteration, loaders: SplitLoaders): number {
  if (iteration === 'forget') return loaders.forget.numBatches;
  if (iteration === 'forget-then-retain')
    return loaders.forget.numBatches + loaders.retain.numBatches;
  if (iteration === 'union') return loaders.union.numBatches;
  if (iteration === 'none') return 0;
  return loaders.retain.numBatches;
}

/** Yields one epoch's batches as tensors, freeing them after each step. */
function* batches(
  iteration: Iteration,
  loaders: SplitLoaders,
  epoch: number,
  compute: Compute,
  isForget: Uint8Array,
): Generator<Omit<StepInput, 'epoch'>> {
  const wrap = (b: Batch): TensorBatch => toTensors(b, compute.device, compute.memoryFormat);
  if (iteration === 'forget-then-retain') {
    let step = 0;
    for (const b of batches('forget', loaders, epoch, compute, isForget))
      yield { ...b, step: step++ };
    for (const b of batches('retain', loaders, epoch, compute, isForget))
      yield { ...b, step: step++ };
    return;
  }
  if (iteration === 'retain' || iteration === 'forget') {
    let step = 0;
    for (const b of loaders[iteration].epoch(epoch)) {
      const t = wrap(b);
      try {
        yield { [iteration]: t, step: step++ };
      } finally {
        dispose([t.x, t.y]);
      }
    }
    return;
  }
  if (iteration === 'union') {
    let step = 0;
    for (const b of loaders.union.epoch(epoch)) {
      const parts = partitionBatch(b, isForget);
      const forget = parts.forget && wrap(parts.forget);
      const retain = parts.retain && wrap(parts.retain);
      try {
        yield { forget, retain, step: step++ };
      } finally {
        for (const t of [forget, retain]) if (t) dispose([t.x, t.y]);
      }
    }
    return;
  }
  if (iteration === 'paired') {
    for (const { retain: r, forget: f, step } of pairedLoader(loaders.retain, loaders.forget).epoch(
      epoch,
    )) {
      const retain = wrap(r);
      const forget = wrap(f);
      try {
        yield { retain, forget, step };
      } finally {
        dispose([retain.x, retain.y, forget.x, forget.y]);
      }
    }
  }
}

/**
 * Runs a method: prepares it, trains for its epochs (or applies its one-shot edit), records the
 * history and returns the changed model (the original is untouched).
 */
export function runLoop<O extends LoopOptions>(input: LoopInput<O>): LoopResult {
  const { method, options, original, data, split, compute } = input;
  const { seed } = compute;
  const emit = input.onEvent ?? (() => {});
  validateLoopOptions(options);
  method.validate?.(options, data.train.numClasses);
  manualSeed(deriveSeed(seed, `torch:${method.id}`));

  const isForget = new Uint8Array(split.trainSize);
  for (const k of split.forget) isForget[k] = 1;
  const loaders = splitLoaders(data, split, {
    batchSize: options.batchSize,
    forgetBatchSize: options.forgetBatchSize,
    seed: deriveSeed(seed, `loaders:${method.id}`),
    augment: options.augment ? defaultAugment(data) : undefined,
  });

  // The original's eval-mode outputs: epoch 0 of the history, the reference accuracies, and a
  // frozen teacher's logits for every training example (one pass instead of one per step).
  let originalPredictions = input.originalPredictions;
  if (!originalPredictions) {
    emit({ type: 'evaluate', epoch: 0, what: 'original model' });
    originalPredictions = predictOriginal(original, data, split, compute);
  }
  const originalTrainLogits = options.augment
    ? null
    : trainLogits(originalPredictions, split.trainSize);

  const model = method.fromScratch ? input.createModel() : original.clone();
  // The model's outputs are cast to float32 while it trains; the hook goes before it is returned.
  const castOutputs = prepareModel(model, compute);
  const ctx: MethodContext = {
    model,
    original,
    data,
    split,
    loaders,
    compute,
    numClasses: data.train.numClasses,
    rng: new Rng(deriveSeed(seed, `method:${method.id}`)),
    originalTrainLogits,
    originalPredictions,
  };
  const history: History = { epochs: [], steps: [] };
  const start0 = method.fromScratch ? null : record(0, originalPredictions);
  if (start0) {
    history.epochs.push(start0);
    emit({ type: 'epoch', record: start0 });
  }

  let run: MethodRun;
  try {
    run = method.prepare(ctx, options);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const perEpoch = stepsPerEpoch(method.iteration, loaders);
  emit({
    type: 'start',
    method: method.id,
    epochs: options.epochs,
    stepsPerEpoch: perEpoch,
    options: { ...options } as Record<string, unknown>,
    ...(input.resume ? { resumed: { epoch: input.resume.epoch, step: input.resume.step } } : {}),
  });
  let seconds = 0;
  let final: SetPredictions | null = null;
  let optimizer: AnyOptimizer | null = null;
  const precision = new PrecisionPlugin(compute);
  try {
    const t0 = performance.now();
    if (run.apply) {
      if (input.resume)
        throw new OptionError(`${method.id} has no epochs to resume: it is one edit of the model`);
      run.apply();
      seconds += (performance.now() - t0) / 1000;
    } else {
      optimizer = buildOptimizer(
        options,
        run.parameters ? run.parameters() : model.trainableParameters(),
      );
      const masks = run.gradMasks?.() ?? null;
      if (masks) optimizer.setGradMask(masks);
      // Per-batch schedules span every step of the run; a method may iterate differently per epoch.
      let batchesInRun = 0;
      for (let e = 1; e <= options.epochs; e++)
        batchesInRun += Math.max(
          stepsPerEpoch(run.iterationFor?.(e) ?? method.iteration, loaders),
          1,
        );
      const totalSteps =
        options.scheduleStep === 'batch' ? Math.max(1, batchesInRun) : options.epochs;
      const scheduler: Scheduler | null =
        options.schedule === 'cosine'
          ? new CosineAnnealingLR(optimizer, { tMax: totalSteps })
          : null;
      let globalStep = 0;
      let firstEpoch = 1;
      const resume = input.resume;
      if (resume) {
        checkResumable(resume, options.epochs, scheduler !== null, optimizer);
        model.loadStateDict(resume.model);
        // The saved hyper-parameters are validated by the optimizer that loads them.
        optimizer.fromTensors(resume.optimizer.tensors, resume.optimizer.meta as never);
        if (scheduler) scheduler.loadStateDict(resume.scheduler!);
        precision.loadStateDict(resume);
        ctx.rng.setState(resume.rng);
        history.epochs = resume.history.epochs.map((r) => ({ ...r }));
        history.steps = resume.history.steps.map((r) => ({ ...r }));
        globalStep = resume.step;
        seconds = resume.seconds;
        firstEpoch = resume.epoch + 1;
      }
      seconds += (performance.now() - t0) / 1000;
      // Set when the method says it has done enough (`MethodRun.done`): the run ends there.
      let stopped = false;
      for (let epoch = firstEpoch; epoch <= options.epochs && !stopped; epoch++) {
        const e0 = performance.now();
        run.epochStart?.(epoch);
        const iteration = run.iterationFor?.(epoch) ?? method.iteration;
        model.train(options.studentMode === 'train');
        for (const batch of batches(iteration, loaders, epoch - 1, compute, isForget)) {
          const stepRecord = tidy((): StepRecord => {
            // The forward pass and the loss under autocast; backward outside it, as in PyTorch.
            const out = precision.forward(() => run.step({ ...batch, epoch }));
            const facc = batchAccuracy(out.forgetLogits, batch.forget);
            const racc = batchAccuracy(out.retainLogits, batch.retain);
            const loss = out.loss.item();
            optimizer!.zeroGrad(true);
            precision.backwardAndStep(out.loss, optimizer!);
            return { step: globalStep, facc, racc, loss };
          });
          if (options.scheduleStep === 'batch') scheduler?.step();
          globalStep++;
          history.steps.push(stepRecord);
          emit({ type: 'step', epoch, record: stepRecord, stepsPerEpoch: perEpoch });
          // With loss scaling, a non-finite loss is a skipped step (the scale backs off).
          if (!precision.skipsNonFiniteSteps && !Number.isFinite(stepRecord.loss)) {
            throw new OptionError(
              `${method.id}: the loss became ${stepRecord.loss} at step ${globalStep}; lower the learning rate`,
            );
          }
          if (run.done?.()) {
            stopped = true;
            break;
          }
        }
        if (options.scheduleStep === 'epoch') scheduler?.step();
        seconds += (performance.now() - e0) / 1000;
        const last = epoch === options.epochs || stopped;
        if (input.evalEveryEpoch !== false || last) {
          emit({ type: 'evaluate', epoch, what: 'forget / retain / test sets' });
          // The val set is predicted once, after the last epoch.
          final = predictSets(model, data, split, compute, { val: last });
          const r = record(epoch, final);
          history.epochs.push(r);
          emit({ type: 'epoch', record: r });
        }
        if (input.onCheckpoint && !last) {
          const state = model.stateDict();
          try {
            input.onCheckpoint({
              epoch,
              step: globalStep,
              seconds,
              history,
              rng: ctx.rng.getState(),
              model: state,
              optimizer: optimizer.toTensors(),
              scheduler: scheduler ? scheduler.stateDict() : null,
              ...precision.stateDict(),
            });
          } finally {
            dispose([...state.values()]);
          }
        }
      }
    }
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    optimizer?.dispose();
    run.dispose();
    castOutputs.remove();
  }
  model.eval();
  if (!final) {
    emit({ type: 'evaluate', epoch: options.epochs, what: 'forget / retain / test sets' });
    final = predictSets(model, data, split, compute);
    const r = record(Math.max(options.epochs, 1), final);
    history.epochs.push(r);
    emit({ type: 'epoch', record: r });
  }
  emit({ type: 'end', seconds });
  return { model, history, seconds, final, original: originalPredictions, compute };
}

/**
 * The original's predictions on the split's sets, made by a copy laid out in the compute's memory
 * format. `predict` leaves a model as it is, and an original loaded from a checkpoint is
 * contiguous: its pass over every training example (the teacher's logits) ran NCHW in a
 * channels-last run. The copy is a few hundred kilobytes; the caller's model and its parameter
 * handles stay untouched.
 */
function predictOriginal(
  original: Module,
  data: DatasetPair,
  split: Split,
  compute: Compute,
): SetPredictions {
  const copy = original.clone();
  try {
    prepareModel(copy, compute);
    return predictSets(copy, data, split, compute);
  } finally {
    copy.dispose();
  }
}

/** The original's logits for every training example, placed by data-set index. */
function trainLogits(p: SetPredictions, trainSize: number): Float32Array {
  const c = p.retain.numClasses;
  const out = new Float32Array(trainSize * c);
  for (const part of [p.retain, p.forget]) {
    for (let i = 0; i < part.indices.length; i++) {
      out.set(part.logits.subarray(i * c, (i + 1) * c), part.indices[i] * c);
    }
  }
  return out;
}

/** Random crop (padding 4 for 32×32, 2 for 28×28) and, for colour images, horizontal flips. */
export function defaultAugment(data: DatasetPair): { cropPadding: number; flip: boolean } {
  const [c, h] = data.train.shape;
  return { cropPadding: h >= 32 ? 4 : 2, flip: c === 3 };
}

function validateLoopOptions(o: LoopOptions): void {
  const positiveInt = (name: string, v: unknown): void => {
    if (!Number.isInteger(v) || (v as number) < 0)
      throw new OptionError(
        `Expected a non-negative integer for ${name} but received ${String(v)}`,
      );
  };
  positiveInt('epochs', o.epochs);
  positiveInt('batchSize', o.batchSize);
  if (o.batchSize < 1)
    throw new OptionError(`Expected a positive batchSize but received ${o.batchSize}`);
  if (!(o.lr >= 0))
    throw new OptionError(`Expected a non-negative number for lr but received ${String(o.lr)}`);
  if (o.studentMode !== 'train' && o.studentMode !== 'eval') {
    throw new OptionError(
      `Expected studentMode 'train' or 'eval' but received '${String(o.studentMode)}'`,
    );
  }
  if (o.schedule !== 'cosine' && o.schedule !== 'constant') {
    throw new OptionError(
      `Expected schedule 'cosine' or 'constant' but received '${String(o.schedule)}'`,
    );
  }
}
