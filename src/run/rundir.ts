/**
 * A run directory: everything needed to read, repeat and evaluate a run.
 *
 *   config.json        resolved settings (command, data, model, method, options, seed, versions)
 *   split.json         the forget / retain / val / test indices
 *   model.safetensors  the resulting model (PyTorch state-dict keys + Lethe metadata)
 *   metrics.json       accuracies, history, time (and MIA / gaps once evaluated)
 *   report.html        the self-contained report
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSplit, writeSplit, type Split } from '../data/split.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../models/checkpoint.js';
import type { Classifier, ModelOptions } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '../nn/safetensors.js';
import type { Predictions, SetPredictions } from '../models/predict.js';
import { dispose, tensor, versions, type Tensor } from '../tensor/index.js';
import { FileFormatError } from '../util/errors.js';
import type { RunMetrics } from './metrics.js';

export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  model: 'model.safetensors',
  metrics: 'metrics.json',
  report: 'report.html',
  predictions: 'predictions.safetensors',
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
