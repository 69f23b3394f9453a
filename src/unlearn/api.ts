/**
 * The library API the CLI wraps: train a model, and unlearn a forget set from it.
 *
 * @example
 * const { train, test } = await loadDataset('fashion-mnist');
 * const split = makeSplit({ train, testSize: test.labels.length, forgetSpec: 'class:3', seed: 0 });
 * const result = unlearn({ model, data: { train, test }, split, method: 'srfl', onEvent: console.log });
 */
import type { DatasetPair } from '../data/dataset.js';
import { splitTest, type Split } from '../data/split.js';
import { createModel, type ModelOptions } from '../models/registry.js';
import { resolveCompute, type Compute, type ComputeSettings } from '../records/compute.js';
import type { Module } from '../nn/module.js';
import { accuracyOf } from '../models/predict.js';
import type { Accuracies, RunMetrics } from '../records/metrics.js';
import { manualSeed } from '../tensor/index.js';
import { deriveSeed } from '../util/rng.js';
import {
  perClassOf,
  runLoop,
  type LoopInput,
  type LoopResult,
  type SetPredictions,
} from './loop.js';
import { getMethod, resolveOptions } from './registry.js';
import type { EventHandler, LoopOptions } from './types.js';

/**
 * What `unlearn` takes. Its compute settings (`seed`, `device`, `threads`, `precision`: `'fp32'`,
 * `'bf16-mixed'` on CPU and CUDA, `'fp16-mixed'` on CUDA only; `memoryFormat`) are defaulted and
 * checked once, by `resolveCompute`, before any work.
 */
export interface UnlearnInput extends ComputeSettings {
  /** The trained (original) model; it is not modified. */
  model: Module;
  /** Architecture name and options, to build fresh models (the `retrain` oracle). */
  architecture?: { name: string; options: ModelOptions };
  data: DatasetPair;
  split: Split;
  /** A registered method id (`srfl`, `srfl-published`, `finetune`, `retrain`, ...). */
  method: string;
  /** Overrides of the method's defaults. */
  options?: Record<string, unknown>;
  onEvent?: EventHandler;
  evalEveryEpoch?: boolean;
  /** The original's eval-mode predictions on the split's sets, if already computed. */
  originalPredictions?: SetPredictions;
  /** Called after every epoch but the last with the state to resume from (see `runLoop`). */
  onCheckpoint?: LoopInput<LoopOptions>['onCheckpoint'];
  /** Continue from a state `onCheckpoint` produced for the same settings. */
  resume?: LoopInput<LoopOptions>['resume'];
}

export interface UnlearnResult extends LoopResult {
  /** The method's resolved options (defaults + overrides), as recorded in the run. */
  options: LoopOptions;
  metrics: RunMetrics;
}

/** An epoch's accuracies, with val from that epoch's predictions where they cover it. */
function accuracies(
  r: { forget: number; retain: number; test: number },
  p: SetPredictions,
): Accuracies {
  return {
    forget: r.forget,
    retain: r.retain,
    test: r.test,
    ...(p.val ? { val: accuracyOf(p.val) } : {}),
  };
}

/** Metrics of a finished loop, in `metrics.json`'s shape. */
export function loopMetrics(method: string, result: LoopResult, fromScratch: boolean): RunMetrics {
  const last = result.history.epochs[result.history.epochs.length - 1];
  const first = result.history.epochs[0];
  return {
    method,
    accuracy: accuracies(last, result.final),
    original: fromScratch ? undefined : accuracies(first, result.original),
    perClass: {
      test: perClassOf(result.final.test),
      forget: perClassOf(result.final.forget),
      originalTest: perClassOf(result.original.test),
      originalForget: perClassOf(result.original.forget),
    },
    seconds: result.seconds,
    history: result.history,
  };
}

/**
 * Removes the influence of `split.forget` from `model` with a registered method. Returns the new
 * model (the input is untouched), its history (training-batch accuracies per step, eval-mode
 * accuracies per epoch) and metrics.
 */
export function unlearn(input: UnlearnInput): UnlearnResult {
  return unlearnWith(input, resolveCompute(input));
}

function unlearnWith(input: UnlearnInput, compute: Compute): UnlearnResult {
  const method = getMethod(input.method);
  const options = resolveOptions(method, input.options ?? {});
  const { seed } = compute;
  const arch = input.architecture;
  const result = runLoop({
    method,
    options,
    original: input.model,
    createModel: () => {
      if (!arch)
        throw new Error(`${method.id} builds a fresh model: pass 'architecture' to unlearn()`);
      manualSeed(deriveSeed(seed, 'init'));
      return createModel(arch.name, arch.options);
    },
    data: input.data,
    split: input.split,
    compute,
    onEvent: input.onEvent,
    evalEveryEpoch: input.evalEveryEpoch,
    originalPredictions: input.originalPredictions,
    onCheckpoint: input.onCheckpoint,
    resume: input.resume,
  });
  return {
    ...result,
    options,
    metrics: loopMetrics(method.id, result, method.fromScratch === true),
  };
}

/** What `train` takes; its compute settings as `UnlearnInput`'s. */
export interface TrainInput extends ComputeSettings {
  architecture: { name: string; options: ModelOptions };
  data: DatasetPair;
  /** Overrides of the training recipe (`TRAIN_DEFAULTS`). */
  options?: Record<string, unknown>;
  onEvent?: EventHandler;
  /** Evaluate on the full sets after every epoch (default true), not only after the last. */
  evalEveryEpoch?: boolean;
  onCheckpoint?: UnlearnInput['onCheckpoint'];
  resume?: UnlearnInput['resume'];
}

/**
 * Trains a model from scratch on the whole training set with the supervised recipe (the same
 * loop and step as the `retrain` oracle). The "forget" set of this run is empty; `test` is the
 * held-out test half of the split a later unlearning run with the same seed uses.
 */
export function train(input: TrainInput): UnlearnResult & { split: Split } {
  const compute = resolveCompute(input);
  const { seed } = compute;
  const trainSize = input.data.train.labels.length;
  const testSize = input.data.test.labels.length;
  const { val, test } = splitTest(testSize, seed);
  const split: Split = {
    seed,
    forgetSpec: 'none',
    forget: new Int32Array(0),
    retain: Int32Array.from({ length: trainSize }, (_, i) => i),
    val,
    test,
    trainSize,
    testSize,
  };
  manualSeed(deriveSeed(seed, 'init'));
  const placeholder = createModel(input.architecture.name, input.architecture.options);
  try {
    const result = unlearnWith(
      {
        model: placeholder,
        architecture: input.architecture,
        data: input.data,
        split,
        method: 'retrain',
        options: input.options,
        onEvent: input.onEvent,
        evalEveryEpoch: input.evalEveryEpoch,
        originalPredictions: emptyPredictions(),
        onCheckpoint: input.onCheckpoint,
        resume: input.resume,
      },
      compute,
    );
    return { ...result, metrics: { ...result.metrics, method: 'train' }, split };
  } finally {
    placeholder.dispose();
  }
}

function emptyPredictions(): SetPredictions {
  const none = {
    logits: new Float32Array(0),
    labels: new Int32Array(0),
    indices: new Int32Array(0),
    numClasses: 0,
  };
  return { forget: none, retain: none, test: none };
}
