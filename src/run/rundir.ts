/**
 * A run directory: everything needed to read, repeat and evaluate a run.
 *
 *   config.json        resolved settings (command, data, model, method, options, seed, versions)
 *   split.json         the forget / retain / val / test indices
 *   model.safetensors  the resulting model (PyTorch state-dict keys + Lethe metadata)
 *   metrics.json       accuracies, history, time (and MIA / gaps once evaluated)
 *   report.html        the self-contained report
 *   checkpoint.safetensors  while the run is in progress: its state after the last finished
 *                      epoch, to resume from (removed when the run finishes)
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSplit, writeSplit, type Split } from '../data/split.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../models/checkpoint.js';
import type { Classifier, ModelOptions } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '../nn/safetensors.js';
import type { Predictions, SetPredictions } from '../models/predict.js';
import { dispose, tensor, versions, type Tensor } from '../tensor/index.js';
import { FileFormatError } from '../util/errors.js';
import type { LoopState } from '../unlearn/loop.js';
import type { History, RunMetrics } from './metrics.js';

export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  model: 'model.safetensors',
  metrics: 'metrics.json',
  report: 'report.html',
  predictions: 'predictions.safetensors',
  checkpoint: 'checkpoint.safetensors',
} as const;

/** The resolved settings of a run, as written to `config.json`. */
export interface RunConfig {
  command: 'train' | 'unlearn';
  method: string;
  data: string;
  model: string;
  modelOptions: ModelOptions;
  /** Forget spec (`class:3`, `random:0.1`, `indices:<file>`); 'none' for training runs. */
  forget: string;
  seed: number;
  device: string;
  threads: number;
  /** The method's (or training recipe's) resolved options. */
  options: Record<string, unknown>;
  /** The run directory of the model this run started from. */
  from?: string;
  createdAt: string;
  versions: { lethe: string; libtorch: string; node: string };
}

let letheVersion: string | undefined;

/** Lethe's version from package.json. */
export function getLetheVersion(): string {
  if (letheVersion === undefined) {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    letheVersion = pkg.version;
  }
  return letheVersion;
}

/** The versions recorded in every run's config. */
export function runVersions(): RunConfig['versions'] {
  return { lethe: getLetheVersion(), libtorch: versions().libtorch, node: process.versions.node };
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(
    path,
    `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
}

function readJson<T>(path: string): T {
  if (!existsSync(path))
    throw new FileFormatError(path, 'does not exist; is this a Lethe run directory?');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new FileFormatError(path, `is not valid JSON: ${(error as Error).message}`);
  }
}

export function writeConfig(dir: string, config: RunConfig): void {
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, RUN_FILES.config), config);
}

export function readConfig(dir: string): RunConfig {
  const config = readJson<RunConfig>(join(dir, RUN_FILES.config));
  for (const key of ['method', 'data', 'model', 'seed'] as const) {
    if (config[key] === undefined)
      throw new FileFormatError(join(dir, RUN_FILES.config), `has no '${key}'`);
  }
  return config;
}

export function writeMetrics(dir: string, metrics: RunMetrics): void {
  writeJson(join(dir, RUN_FILES.metrics), metrics);
}

export function readMetrics(dir: string): RunMetrics {
  return readJson<RunMetrics>(join(dir, RUN_FILES.metrics));
}

export function writeRunSplit(dir: string, split: Split): void {
  writeSplit(dir, split);
}

export function readRunSplit(dir: string): Split {
  return readSplit(dir);
}

export function saveRunModel(dir: string, model: Module, config: RunConfig): void {
  const meta: CheckpointMeta = {
    architecture: config.model,
    modelOptions: config.modelOptions,
    dataset: config.data,
    seed: config.seed,
    extra: { method: config.method },
  };
  saveCheckpoint(join(dir, RUN_FILES.model), model, meta);
}

export function loadRunModel(dir: string): Classifier {
  return loadCheckpoint(join(dir, RUN_FILES.model)).model;
}

/** True when `dir` holds a finished run (metrics written last). */
export function isCompleteRun(dir: string): boolean {
  return [RUN_FILES.config, RUN_FILES.model, RUN_FILES.metrics].every((f) =>
    existsSync(join(dir, f)),
  );
}

/** The sets a predictions file holds; `val` is optional (older runs have none). */
const SETS = ['forget', 'retain', 'test', 'val'] as const;

/**
 * Saves the final model's eval-mode logits on the run's sets, so evaluation and later runs
 * starting from this model need no second inference pass.
 */
export function saveRunPredictions(dir: string, p: SetPredictions): void {
  const tensors = new Map<string, Tensor>();
  for (const set of SETS) {
    const part = p[set];
    if (!part) continue;
    tensors.set(`${set}.logits`, tensor(part.logits, [part.labels.length, part.numClasses]));
    tensors.set(`${set}.labels`, tensor(part.labels));
    tensors.set(`${set}.indices`, tensor(part.indices));
  }
  try {
    saveSafetensors(join(dir, RUN_FILES.predictions), tensors, {
      numClasses: String(p.test.numClasses),
    });
  } finally {
    dispose([...tensors.values()]);
  }
}

/** The saved predictions of a run, or null when it has none. */
export function loadRunPredictions(dir: string): SetPredictions | null {
  const path = join(dir, RUN_FILES.predictions);
  if (!existsSync(path)) return null;
  const file = loadSafetensors(path);
  try {
    const numClasses = Number(file.metadata.numClasses);
    const part = (set: (typeof SETS)[number]): Predictions => {
      const get = (name: string): Tensor => {
        const t = file.tensors.get(`${set}.${name}`);
        if (!t) throw new FileFormatError(path, `has no '${set}.${name}' tensor`);
        return t;
      };
      return {
        logits: get('logits').data<'float32'>(),
        labels: get('labels').data<'int32'>(),
        indices: get('indices').data<'int32'>(),
        numClasses,
      };
    };
    const hasVal = file.tensors.has('val.logits');
    return {
      forget: part('forget'),
      retain: part('retain'),
      test: part('test'),
      ...(hasVal ? { val: part('val') } : {}),
    };
  } finally {
    dispose([...file.tensors.values()]);
  }
}

/**
 * What a run's result depends on, recorded with its checkpoint: a run resumes only from a
 * checkpoint whose identity equals its own.
 */
export interface RunIdentity {
  command: RunConfig['command'];
  method: string;
  data: string;
  model: string;
  modelOptions: ModelOptions;
  forget: string;
  seed: number;
  options: Record<string, unknown>;
  /** The original's run directory (absolute); absent for training runs. */
  from?: string;
  /** The forget set's indices, as `sha256:<hex>` (an `indices:<file>` spec may change). */
  forgetDigest: string;
}

const RESUME_FORMAT = 'lethe-resume/1';

/** Epoch records as rows of [epoch, forget, retain, test]; steps as [step, facc, racc, loss]. */
function historyTensors(h: History): [Tensor, Tensor] {
  const epochs = h.epochs.flatMap((r) => [r.epoch, r.forget, r.retain, r.test]);
  const steps = h.steps.flatMap((r) => [r.step, r.facc, r.racc, r.loss]);
  return [
    tensor(Float64Array.from(epochs), [h.epochs.length, 4]),
    tensor(Float64Array.from(steps), [h.steps.length, 4]),
  ];
}

function historyFrom(epochs: Float64Array, steps: Float64Array): History {
  const rows = <T>(a: Float64Array, make: (r: Float64Array) => T): T[] =>
    Array.from({ length: a.length / 4 }, (_, i) => make(a.subarray(4 * i, 4 * i + 4)));
  return {
    epochs: rows(epochs, (r) => ({ epoch: r[0], forget: r[1], retain: r[2], test: r[3] })),
    steps: rows(steps, (r) => ({ step: r[0], facc: r[1], racc: r[2], loss: r[3] })),
  };
}

/**
 * Saves a run's state after a finished epoch to `checkpoint.safetensors` (atomically: an
 * interrupted save leaves the previous checkpoint intact). Model tensors are stored under
 * `model.<state-dict key>`, optimizer state under `optimizer.<name>`.
 */
export function saveRunCheckpoint(dir: string, identity: RunIdentity, state: LoopState): void {
  mkdirSync(dir, { recursive: true });
  const [epochs, steps] = historyTensors(state.history);
  const tensors = new Map<string, Tensor>([
    ['history.epochs', epochs],
    ['history.steps', steps],
  ]);
  for (const [k, t] of state.model) tensors.set(`model.${k}`, t);
  for (const [k, t] of Object.entries(state.optimizer.tensors)) tensors.set(`optimizer.${k}`, t);
  try {
    saveSafetensors(join(dir, RUN_FILES.checkpoint), tensors, {
      format: RESUME_FORMAT,
      identity: JSON.stringify(identity),
      epoch: String(state.epoch),
      step: String(state.step),
      seconds: String(state.seconds),
      rng: JSON.stringify(state.rng),
      optimizer: JSON.stringify(state.optimizer.meta),
      scheduler: JSON.stringify(state.scheduler),
    });
  } finally {
    dispose([epochs, steps]);
  }
}

/** A run directory's checkpoint; the caller disposes `state`'s tensors with `disposeState`. */
export interface RunCheckpoint {
  identity: RunIdentity;
  state: LoopState;
}

/** Reads `checkpoint.safetensors` of a run directory, or returns null when there is none. */
export function loadRunCheckpoint(dir: string): RunCheckpoint | null {
  const path = join(dir, RUN_FILES.checkpoint);
  if (!existsSync(path)) return null;
  const file = loadSafetensors(path);
  try {
    const m = file.metadata;
    if (m.format !== RESUME_FORMAT)
      throw new FileFormatError(path, `is not a Lethe run checkpoint (format '${m.format}')`);
    const json = <T>(key: string): T => {
      try {
        return JSON.parse(m[key]) as T;
      } catch {
        throw new FileFormatError(path, `has malformed '${key}' metadata: ${m[key]}`);
      }
    };
    const get = (name: string): Tensor => {
      const t = file.tensors.get(name);
      if (!t) throw new FileFormatError(path, `has no '${name}' tensor`);
      return t;
    };
    const model = new Map<string, Tensor>();
    const optimizer: Record<string, Tensor> = {};
    for (const [name, t] of file.tensors) {
      if (name.startsWith('model.')) model.set(name.slice('model.'.length), t);
      else if (name.startsWith('optimizer.')) optimizer[name.slice('optimizer.'.length)] = t;
    }
    const state: LoopState = {
      epoch: Number(m.epoch),
      step: Number(m.step),
      seconds: Number(m.seconds),
      history: historyFrom(
        get('history.epochs').data<'float64'>(),
        get('history.steps').data<'float64'>(),
      ),
      rng: json<number[]>('rng'),
      model,
      optimizer: { tensors: optimizer, meta: json('optimizer') },
      scheduler: json<Record<string, unknown> | null>('scheduler'),
    };
    const identity = json<RunIdentity>('identity');
    // The history tensors are read; the rest now belongs to the caller.
    dispose([get('history.epochs'), get('history.steps')]);
    return { identity, state };
  } catch (error) {
    dispose([...file.tensors.values()]);
    throw error;
  }
}

/** Frees a loaded checkpoint's tensors. */
export function disposeCheckpoint(checkpoint: RunCheckpoint): void {
  dispose([
    ...checkpoint.state.model.values(),
    ...Object.values(checkpoint.state.optimizer.tensors),
  ]);
}

/** Removes a run directory's checkpoint (a finished run needs none). */
export function removeRunCheckpoint(dir: string): void {
  rmSync(join(dir, RUN_FILES.checkpoint), { force: true });
}
