/**
 * Runs: training and unlearning runs into run directories from their {@link RunSpec}s, resuming
 * an interrupted one from its checkpoint when asked (the cache of finished runs is `cache.ts`,
 * evaluation against retrain oracles `evaluate-runs.ts`). Progress goes to the caller's event
 * handler; nothing here prints.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DatasetPair } from '../data/dataset.js';
import type { ModelOptions } from '../models/registry.js';
import { makeSplit, readSplit, type Split } from '../data/split.js';
import type { Accuracies, Memorization, RunMetrics } from '../records/metrics.js';
import type { RunConfig, RunIdentity } from '../records/run.js';
import { disposeCheckpoint, loadRunCheckpoint, saveRunCheckpoint } from './checkpoint.js';
import {
  commitRun,
  loadRunModel,
  readConfig,
  RUN_FILES,
  loadRunPredictions,
  verifyRun,
} from './rundir.js';
import { identityDifferences } from './identity.js';
import { getNumThreads, setNumThreads } from '../tensor/index.js';
import type { LoopState } from '../unlearn/loop.js';
import type { EventHandler } from '../unlearn/types.js';
import { train, unlearn } from '../unlearn/api.js';
import { getMethod, resolveOptions } from '../unlearn/registry.js';
import { memorizationCheck, type MemorizationTarget } from './scenarios.js';
import { OptionError } from '../util/errors.js';
import { getData } from './datasets.js';
import { ignoreEvents, type RunEventHandler } from './events.js';
import { openEventLog } from './event-log.js';
import { predictionsForSplit } from './predictions.js';
import { runReportHtml } from './report.js';
import {
  computeOf,
  runRecords,
  type Resolved,
  type RunSpec,
  type TrainSpec,
  type UnlearnSpec,
} from './spec.js';

/** Data sets load once per process (`datasets.ts`); here too for the callers of runs. */
export { getData } from './datasets.js';

/**
 * A run's state in `<out>/checkpoint.safetensors` (saved after every epoch but the last):
 * 'required' continues from it (an error when there is none), 'if-present' continues when there
 * is one, 'never' (default) starts over. A checkpoint made with other settings is refused.
 */
export type ResumeMode = 'never' | 'if-present' | 'required';

/** How a run is carried out (not what it computes: that is its {@link RunSpec}). */
export interface RunOptions {
  resume?: ResumeMode;
  /** Progress; the run's loop events come labelled with `label`. */
  onEvent?: RunEventHandler;
  /** The run's name in events (default: its method). */
  label?: string;
}

/**
 * The state to resume `identity`'s run in `out` from, per `mode`; null to start over. Throws when
 * a checkpoint is required and missing, or was made with other settings.
 */
function resumeState(
  out: string,
  identity: RunIdentity,
  mode: ResumeMode = 'never',
  onEvent: RunEventHandler = ignoreEvents,
): { state: LoopState; dispose: () => void } | null {
  const path = join(out, RUN_FILES.checkpoint);
  if (mode === 'never') {
    if (existsSync(path))
      onEvent({
        type: 'note',
        message: `${path}: an interrupted run's checkpoint; starting over (--resume continues it)`,
      });
    return null;
  }
  const checkpoint = loadRunCheckpoint(out);
  if (!checkpoint) {
    if (mode === 'required')
      throw new OptionError(
        `--resume: ${path} does not exist; there is no interrupted run to continue`,
      );
    return null;
  }
  const diff = identityDifferences(checkpoint.identity, identity);
  if (diff.length) {
    disposeCheckpoint(checkpoint);
    throw new OptionError(
      `${path} was saved by a run with ${diff.join(', ')}; remove it to start over, or resume with the same settings`,
    );
  }
  return { state: checkpoint.state, dispose: () => disposeCheckpoint(checkpoint) };
}

/** The loop's events, labelled, for `onEvent`. */
function loopEvents(label: string, onEvent: RunEventHandler = ignoreEvents): EventHandler {
  return (event) => onEvent({ type: 'loop', label, event });
}

/**
 * What a training run settles before it starts: its data and {@link Resolved} (the model's
 * options from the data set's shape, the recipe over the training defaults, nothing to forget).
 */
async function settleTrain(spec: TrainSpec): Promise<{ data: DatasetPair; resolved: Resolved }> {
  const data = await getData(spec.data);
  const modelOptions: ModelOptions = {
    inChannels: data.train.shape[0],
    numClasses: data.train.numClasses,
    ...(spec.cifarStem ? { cifar: true } : {}),
  };
  const options = resolveOptions(getMethod('retrain'), spec.options) as unknown as Record<
    string,
    unknown
  >;
  const resolved = {
    data: spec.data,
    model: spec.model,
    modelOptions,
    options,
    forget: new Int32Array(0),
  };
  return { data, resolved };
}

/**
 * What an unlearning run settles before it starts: its (verified) original's config, the data,
 * the split and {@link Resolved}.
 */
async function settleUnlearn(
  spec: UnlearnSpec,
): Promise<{ original: RunConfig; data: DatasetPair; split: Split; resolved: Resolved }> {
  verifyRun(spec.from);
  const original = readConfig(spec.from);
  const data = await getData(original.data);
  const split = runSplit(spec, data);
  const resolved = {
    data: original.data,
    model: original.model,
    modelOptions: original.modelOptions,
    options: runOptions(spec.method, original, spec.options),
    forget: split.forget,
  };
  return { original, data, split, resolved };
}

/**
 * The identity of the run `spec` describes, as it would be made now (an unlearning run's original
 * must be finished): what resume, the cache and comparisons compare a finished run with.
 */
export async function specIdentity(spec: RunSpec): Promise<RunIdentity> {
  const { resolved } = spec.kind === 'train' ? await settleTrain(spec) : await settleUnlearn(spec);
  return runRecords(spec, resolved).identity;
}

/** Trains an original model into the run directory `out`. */
export async function trainRun(
  spec: TrainSpec,
  out: string,
  run: RunOptions = {},
): Promise<RunMetrics> {
  checkOut(out);
  if (spec.threads !== undefined) setNumThreads(spec.threads);
  const { data, resolved } = await settleTrain(spec);
  const { modelOptions, options } = resolved;
  const { identity, config } = runRecords(spec, resolved);
  const resume = resumeState(out, identity, run.resume, run.onEvent);
  const label = run.label ?? `train ${spec.model}`;
  const log = openEventLog(out, label, resume !== null);
  let result;
  try {
    result = train({
      architecture: { name: spec.model, options: modelOptions },
      data,
      options,
      ...computeOf(spec),
      onEvent: log.tee(loopEvents(label, run.onEvent)),
      // A full pass over the training set per epoch would add ~25% to a Fashion-MNIST epoch.
      evalEveryEpoch: false,
      resume: resume?.state,
      onCheckpoint: (state) => saveRunCheckpoint(out, identity, state),
    });
  } finally {
    log.close();
    resume?.dispose();
  }
  const written = config(getNumThreads());
  result.metrics.memorization = memorizationOf(
    result.metrics,
    spec.scenario?.settings.memorization,
  );
  commitRun(out, {
    config: written,
    split: result.split,
    model: result.model,
    predictions: result.final,
    metrics: result.metrics,
    report: await runReportHtml(written, result.metrics),
  });
  result.model.dispose();
  return result.metrics;
}

/**
 * Refuses an output directory that cannot hold a run, before any work: a path that is a file, or
 * below one.
 */
export function checkOut(out: string): void {
  let dir = resolve(out);
  for (;;) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory())
        throw new OptionError(
          dir === resolve(out)
            ? `--out ${out}: is a file, not a directory; choose another --out`
            : `--out ${out}: ${dir} is a file, not a directory; choose another --out`,
        );
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        throw new OptionError(`--out ${out}: ${dir} is not writable; choose another --out`);
      }
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * A trained model's memorization: eval-mode accuracy on the whole training set (the training
 * run's retain set) against the test half, and whether it reached `target`.
 */
export function memorizationOf(
  metrics: RunMetrics,
  target: MemorizationTarget | undefined,
): Memorization {
  const train = metrics.accuracy.retain;
  const test = metrics.accuracy.test;
  const check = memorizationCheck({ train, test }, target);
  return {
    train,
    test,
    gap: train - test,
    ...(target ? { target, reached: check!.reached } : {}),
  };
}

/**
 * The options a method runs with from an original run: its defaults, then (for the retrain
 * oracle) the original's training recipe, then `overrides`.
 */
export function runOptions(
  methodId: string,
  original: RunConfig,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const method = getMethod(methodId);
  return resolveOptions(
    method,
    method.id === 'retrain' ? { ...original.options, ...overrides } : overrides,
  ) as unknown as Record<string, unknown>;
}

/**
 * Draws a split of `data` for a forget spec and seed, refusing one that leaves nothing to retain
 * (an empty forget set is refused by the spec's own reader).
 */
export function drawSplit(data: DatasetPair, forget: string, seed: number): Split {
  const split = makeSplit({
    train: data.train,
    testSize: data.test.labels.length,
    forgetSpec: forget,
    seed,
  });
  if (split.retain.length === 0)
    throw new OptionError(
      `--forget ${forget}: selects all ${split.trainSize} training examples; the retain set would be empty`,
    );
  return split;
}

/**
 * The split an unlearning run uses: the one in `spec.split` (a comparison's), or drawn from its
 * forget spec and seed.
 */
export function runSplit(spec: UnlearnSpec, data: DatasetPair): Split {
  return spec.split ? readSplit(spec.split) : drawSplit(data, spec.forget, spec.seed);
}

/** Extra inputs of an unlearning run beyond its spec. */
export interface UnlearnRunOptions extends RunOptions {
  /** The oracle's accuracies, for the report's verdict. */
  oracle?: Accuracies;
}

/** Loads the original run, draws the split, runs the method and writes the run directory `out`. */
export async function unlearnRun(
  spec: UnlearnSpec,
  out: string,
  run: UnlearnRunOptions = {},
): Promise<RunMetrics> {
  checkOut(out);
  if (spec.threads !== undefined) setNumThreads(spec.threads);
  const { original, data, split, resolved } = await settleUnlearn(spec);
  const method = getMethod(spec.method);
  const { options } = resolved;
  const { identity, config } = runRecords(spec, resolved);
  const model = loadRunModel(spec.from);
  const saved = loadRunPredictions(spec.from);
  const originalPredictions = (saved && predictionsForSplit(saved, split)) ?? undefined;
  const label = run.label ?? method.id;
  let resume;
  let log;
  let result;
  try {
    resume = resumeState(out, identity, run.resume, run.onEvent);
    log = openEventLog(out, label, resume !== null);
    result = unlearn({
      model,
      architecture: { name: original.model, options: original.modelOptions },
      data,
      split,
      method: method.id,
      options,
      ...computeOf(spec),
      onEvent: log.tee(loopEvents(label, run.onEvent)),
      originalPredictions,
      // The oracle's per-epoch accuracies are not reported; a full pass per epoch would cost ~20%.
      evalEveryEpoch: spec.evalEveryEpoch ?? method.fromScratch !== true,
      resume: resume?.state,
      onCheckpoint: (state) => saveRunCheckpoint(out, identity, state),
    });
  } finally {
    log?.close();
    resume?.dispose();
    model.dispose();
  }
  const written = config(getNumThreads());
  commitRun(out, {
    config: written,
    split,
    model: result.model,
    predictions: result.final,
    metrics: result.metrics,
    report: await runReportHtml(written, result.metrics, run.oracle),
  });
  result.model.dispose();
  return result.metrics;
}
