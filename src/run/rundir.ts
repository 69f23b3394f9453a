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
 *   run.json           written last: the sha256 of every other file. A directory is a finished
 *                      run only when run.json is there and every digest matches.
 *
 * A run is committed as a unit ({@link commitRun}): its files are written beside their names as
 * `<file>.pending`, then run.json is renamed into place (the commit), then each pending file is
 * renamed over its name. A crash before the commit leaves the previous run as it was; a crash
 * after it leaves pending files whose digests are in run.json, which the next reader renames into
 * place. So a directory holds the previous complete run or the new one, never a mix. The report,
 * which people open without a reader's recovery, is moved aside before the commit and renamed in
 * last: on disk it never sits beside another run's files (it may be missing until the next read).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSplit, readSplit, writeSplit, type Split } from '../data/split.js';
import {
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointMeta,
} from '../models/checkpoint.js';
import type { Classifier, ModelOptions } from '../models/registry.js';
import type { ModelMemoryFormat, Precision } from '../models/precision.js';
import type { Module } from '../nn/module.js';
import { encodeSafetensors, loadSafetensors, saveSafetensors } from '../nn/safetensors.js';
import { sweepTemporary, syncDir, writeFileAtomic, writeFileSynced } from '../util/atomic.js';
import type { Predictions, SetPredictions } from '../models/predict.js';
import { dispose, tensor, versions, type Tensor } from '../tensor/index.js';
import { FileFormatError } from '../util/errors.js';
import { parseStrictJson } from '../util/json.js';
import { letheVersion, sourceDigest } from '../util/version.js';
import type { LoopState } from '../unlearn/loop.js';
import type { History, RunMetrics } from '../records/metrics.js';
import type { ScenarioRecord } from './scenarios.js';
import type { RunIdentity } from './identity.js';

export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  model: 'model.safetensors',
  metrics: 'metrics.json',
  report: 'report.html',
  predictions: 'predictions.safetensors',
  checkpoint: 'checkpoint.safetensors',
  manifest: 'run.json',
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
  /** `fp32`, `bf16-mixed` or `fp16-mixed` (absent in runs made before Lethe recorded it: fp32). */
  precision?: Precision;
  /** Layout of images and conv weights while training (absent in older runs). */
  memoryFormat?: ModelMemoryFormat;
  threads: number;
  /** The method's (or training recipe's) resolved options. */
  options: Record<string, unknown>;
  /** The run directory of the model this run started from. */
  from?: string;
  /** The scenario the run was made under (`--scenario`): its name and settings. */
  scenario?: ScenarioRecord;
  createdAt: string;
  /**
   * What ran it: Lethe's version and the digest of its code ({@link sourceDigest}; absent in runs
   * made before Lethe recorded it), libtorch's and Node's versions.
   */
  versions: { lethe: string; source?: string; libtorch: string; node: string };
}

/** The versions recorded in every run's config. */
export function runVersions(): RunConfig['versions'] {
  return {
    lethe: letheVersion(),
    source: sourceDigest(),
    libtorch: versions().libtorch,
    node: process.versions.node,
  };
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, jsonText(value));
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

function runModelMeta(config: RunConfig): CheckpointMeta {
  return {
    architecture: config.model,
    modelOptions: config.modelOptions,
    dataset: config.data,
    seed: config.seed,
    extra: { method: config.method },
  };
}

export function saveRunModel(dir: string, model: Module, config: RunConfig): void {
  saveCheckpoint(join(dir, RUN_FILES.model), model, runModelMeta(config));
}

export function loadRunModel(dir: string): Classifier {
  return loadCheckpoint(join(dir, RUN_FILES.model)).model;
}

/** What a finished run holds, for {@link commitRun}. */
export interface RunContents {
  config: RunConfig;
  split: Split;
  model: Module;
  predictions: SetPredictions;
  metrics: RunMetrics;
  /** The rendered report.html. */
  report: string;
}

/** The files of a committed run that can be rewritten (by evaluation, or a newer Lethe). */
export interface RunRewrite {
  metrics?: RunMetrics;
  report?: string;
  predictions?: SetPredictions;
}

const MANIFEST_FORMAT = 'lethe-run';
/** The files a manifest may list: not the checkpoint, not itself. */
const COMMITTED: string[] = [
  RUN_FILES.config,
  RUN_FILES.split,
  RUN_FILES.model,
  RUN_FILES.predictions,
  RUN_FILES.metrics,
  RUN_FILES.report,
];
const PENDING = '.pending';
/** A committed file moved aside while its replacement is committed (see {@link commitFiles}). */
const ASIDE = '.previous';

const sha256 = (data: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/**
 * Writes a finished run into `dir` as one unit: every file, then run.json with their digests
 * (the commit), then the checkpoint and any temporary files left by interrupted writes are
 * removed. A `kill -9` at any point leaves `dir` holding the run it held before, or this one.
 */
export function commitRun(dir: string, run: RunContents): void {
  mkdirSync(dir, { recursive: true });
  recoverRun(dir);
  commitFiles(
    dir,
    new Map<string, Uint8Array | string>([
      [RUN_FILES.config, jsonText(run.config)],
      [RUN_FILES.split, encodeSplit(run.split)],
      [RUN_FILES.model, encodeCheckpoint(run.model, runModelMeta(run.config))],
      [RUN_FILES.predictions, encodeRunPredictions(run.predictions)],
      [RUN_FILES.metrics, jsonText(run.metrics)],
      [RUN_FILES.report, run.report],
    ]),
    {},
  );
  removeRunCheckpoint(dir);
  sweepRun(dir);
}

/**
 * Rewrites files of the finished run in `dir` (metrics and report after an evaluation) and
 * commits again: a crash leaves the run as it was before, or with all the new files.
 */
export function rewriteRunFiles(dir: string, files: RunRewrite): void {
  const manifest = verifyRun(dir);
  const changed = new Map<string, Uint8Array | string>();
  if (files.metrics) changed.set(RUN_FILES.metrics, jsonText(files.metrics));
  if (files.report !== undefined) changed.set(RUN_FILES.report, files.report);
  if (files.predictions)
    changed.set(RUN_FILES.predictions, encodeRunPredictions(files.predictions));
  commitFiles(dir, changed, manifest);
  sweepRun(dir);
}

/**
 * Writes `files` as pending, commits run.json (`kept`'s digests plus theirs), renames them in.
 *
 * The report is what a person opens without asking Lethe to verify anything, so it must never
 * describe another run than the files beside it: a report being replaced is moved aside
 * (`report.html.previous`) before the commit and the new one renamed in last. A crash before the
 * commit leaves the previous run, whose report the next reader moves back ({@link recoverRun});
 * a crash after it leaves no report until the next reader renames the new one in.
 */
function commitFiles(
  dir: string,
  files: Map<string, Uint8Array | string>,
  kept: Record<string, string>,
): void {
  const digests: Record<string, string> = { ...kept };
  for (const [name, data] of files) {
    writeFileSynced(join(dir, name + PENDING), data);
    digests[name] = sha256(data);
  }
  syncDir(dir);
  const report = join(dir, RUN_FILES.report);
  if (files.has(RUN_FILES.report) && existsSync(report)) {
    renameSync(report, report + ASIDE);
    syncDir(dir);
  }
  writeFileAtomic(
    join(dir, RUN_FILES.manifest),
    jsonText({ format: MANIFEST_FORMAT, version: 1, files: digests }),
  );
  const names = [...files.keys()].sort(
    (a, b) => Number(a === RUN_FILES.report) - Number(b === RUN_FILES.report),
  );
  for (const name of names) renameSync(join(dir, name + PENDING), join(dir, name));
  syncDir(dir);
}

/** Removes temporary, stale pending and set-aside files (after a commit, none is needed). */
function sweepRun(dir: string): void {
  sweepTemporary(
    dir,
    (name) => name.endsWith(PENDING) || name.endsWith(ASIDE) || /\.\d+\.\d+\.tmp$/.test(name),
  );
}

/**
 * run.json's digests by file name; null when there is no manifest; throws a
 * {@link FileFormatError} for one that is not a manifest. Only reads (no recovery), so a
 * read-only viewer may call it while a writer commits.
 */
export function readRunManifest(dir: string): Record<string, string> | null {
  return readManifest(dir);
}

/** The digest run.json records for a file's bytes (`sha256:<hex>`). */
export function runFileDigest(data: Uint8Array | string): string {
  return sha256(data);
}

/** run.json's digests by file name; null when there is no manifest. */
function readManifest(dir: string): Record<string, string> | null {
  const path = join(dir, RUN_FILES.manifest);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  let m: unknown;
  try {
    m = parseStrictJson(text);
  } catch (error) {
    throw new FileFormatError(path, `is not valid JSON (${(error as Error).message})`);
  }
  const files = isObject(m) && m.format === MANIFEST_FORMAT && m.version === 1 ? m.files : null;
  const required = [RUN_FILES.config, RUN_FILES.split, RUN_FILES.model, RUN_FILES.metrics];
  if (
    !isObject(files) ||
    !Object.entries(files).every(
      ([k, v]) => COMMITTED.includes(k) && typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v),
    ) ||
    !required.every((k) => Object.hasOwn(files, k))
  ) {
    throw new FileFormatError(
      path,
      `is not a Lethe run manifest (expected format "${MANIFEST_FORMAT}" version 1 with the sha256 of ${required.join(', ')}); remove the directory and rerun the run`,
    );
  }
  return files as Record<string, string>;
}

/**
 * Finishes a commit that a crash interrupted after run.json was written: each pending file whose
 * digest is the one run.json records is renamed into place. After a crash before run.json was
 * written, it moves the report set aside for that commit back.
 */
function recoverRun(dir: string): void {
  const manifest = readManifestQuietly(dir);
  if (!manifest) return;
  let moved = false;
  for (const [name, digest] of Object.entries(manifest)) {
    // The commit's own file, or (a crash before the commit) the previous one, set aside.
    for (const suffix of [PENDING, ASIDE]) {
      const candidate = join(dir, name + suffix);
      if (!existsSync(candidate)) continue;
      if (sha256(readFileSync(candidate)) === digest) {
        renameSync(candidate, join(dir, name));
        moved = true;
        break;
      }
    }
  }
  if (moved) syncDir(dir);
}

function readManifestQuietly(dir: string): Record<string, string> | null {
  try {
    return readManifest(dir);
  } catch {
    return null;
  }
}

/**
 * Checks that `dir` holds a finished run: run.json is there and every file it lists has its
 * digest. Returns the digests; throws a {@link FileFormatError} that says what to do otherwise.
 */
export function verifyRun(dir: string): Record<string, string> {
  if (!existsSync(dir))
    throw new FileFormatError(dir, 'not a finished Lethe run directory: it does not exist');
  recoverRun(dir);
  const manifest = readManifest(dir);
  if (!manifest) {
    throw new FileFormatError(
      dir,
      `not a finished Lethe run directory: it has no ${RUN_FILES.manifest}, so its run was interrupted, is still running, or was made before Lethe recorded one; rerun the run into it (--resume continues an interrupted one) or remove it`,
    );
  }
  for (const [name, digest] of Object.entries(manifest)) {
    const path = join(dir, name);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      throw new FileFormatError(
        dir,
        `not a finished Lethe run directory: ${name} is missing; rerun the run into it or remove it`,
      );
    }
    if (sha256(data) !== digest) {
      throw new FileFormatError(
        dir,
        `not a finished Lethe run directory: ${name} does not match its digest in ${RUN_FILES.manifest} (changed or damaged after the run finished); rerun the run into it or remove it`,
      );
    }
  }
  return manifest;
}

/** True when `dir` holds a finished run (see {@link verifyRun}). */
export function isCompleteRun(dir: string): boolean {
  try {
    verifyRun(dir);
    return true;
  } catch {
    return false;
  }
}

/** The sets a predictions file holds; `val` is optional (older runs have none). */
const SETS = ['forget', 'retain', 'test', 'val'] as const;

/**
 * Saves the final model's eval-mode logits on the run's sets, so evaluation and later runs
 * starting from this model need no second inference pass.
 */
export function saveRunPredictions(dir: string, p: SetPredictions): void {
  writeFileAtomic(join(dir, RUN_FILES.predictions), encodeRunPredictions(p));
}

function encodeRunPredictions(p: SetPredictions): Uint8Array {
  const tensors = new Map<string, Tensor>();
  for (const set of SETS) {
    const part = p[set];
    if (!part) continue;
    tensors.set(`${set}.logits`, tensor(part.logits, [part.labels.length, part.numClasses]));
    tensors.set(`${set}.labels`, tensor(part.labels));
    tensors.set(`${set}.indices`, tensor(part.indices));
  }
  try {
    return encodeSafetensors(tensors, { numClasses: String(p.test.numClasses) });
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

export type { RunIdentity } from './identity.js';

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

/**
 * Reads `checkpoint.safetensors` of a run directory, or returns null when there is none. Every
 * field is checked before the state is handed on: a damaged checkpoint is refused with the field
 * named, never resumed into a different run.
 */
export function loadRunCheckpoint(dir: string): RunCheckpoint | null {
  const path = join(dir, RUN_FILES.checkpoint);
  if (!existsSync(path)) return null;
  const file = loadSafetensors(path);
  try {
    const m = file.metadata;
    if (m.format !== RESUME_FORMAT)
      throw new FileFormatError(path, `is not a Lethe run checkpoint (format '${m.format}')`);
    const bad = (field: string, expected: string, got?: unknown): never => {
      throw new FileFormatError(
        path,
        `has ${field} ${got === undefined ? 'missing' : JSON.stringify(got)}; expected ${expected} (a damaged checkpoint: remove it to start over)`,
      );
    };
    const json = (key: string): unknown => {
      if (m[key] === undefined) bad(`'${key}' metadata`, 'JSON');
      try {
        return parseStrictJson(m[key]);
      } catch {
        return bad(`'${key}' metadata`, 'JSON', m[key]);
      }
    };
    const count = (key: string, min: number): number => {
      const text = m[key];
      if (
        text === undefined ||
        !/^(0|[1-9]\d*)$/.test(text) ||
        !Number.isSafeInteger(+text) ||
        +text < min
      )
        bad(`'${key}' metadata`, `an integer ≥ ${min}`, text);
      return Number(text);
    };
    const epoch = count('epoch', 1);
    const step = count('step', 0);
    const seconds = Number(m.seconds);
    if (
      m.seconds === undefined ||
      m.seconds.trim() === '' ||
      !Number.isFinite(seconds) ||
      seconds < 0
    )
      bad(`'seconds' metadata`, 'a finite number ≥ 0', m.seconds);
    const rng = json('rng');
    if (
      !Array.isArray(rng) ||
      rng.length !== 4 ||
      !rng.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32) ||
      rng.every((v) => v === 0)
    )
      bad(`'rng' metadata`, 'a generator state of four 32-bit integers, not all zero', rng);
    const identity = checkIdentity(json('identity'), bad);
    const scheduler = checkScheduler(json('scheduler'), bad);
    const optimizerMeta = checkOptimizerMeta(json('optimizer'), bad);

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
      else if (name !== 'history.epochs' && name !== 'history.steps')
        throw new FileFormatError(path, `has an unexpected tensor '${name}'`);
    }
    if (model.size === 0) throw new FileFormatError(path, "has no 'model.*' tensors");
    checkOptimizerState(optimizer, optimizerMeta, step, bad);
    const history = checkHistory(get('history.epochs'), get('history.steps'), epoch, step, bad);
    const state: LoopState = {
      epoch,
      step,
      seconds,
      history,
      rng: rng as number[],
      model,
      optimizer: { tensors: optimizer, meta: optimizerMeta as never },
      scheduler,
    };
    // The history tensors are read; the rest now belongs to the caller.
    dispose([get('history.epochs'), get('history.steps')]);
    return { identity, state };
  } catch (error) {
    dispose([...file.tensors.values()]);
    throw error;
  }
}

type Bad = (field: string, expected: string, got?: unknown) => never;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The identity a run compares with its own: the fields of {@link RunIdentity}, typed. */
function checkIdentity(v: unknown, bad: Bad): RunIdentity {
  if (!isObject(v)) return bad('identity', 'an object', v);
  const str = (key: string): void => {
    if (typeof v[key] !== 'string') bad(`identity.${key}`, 'a string', v[key]);
  };
  for (const key of ['method', 'data', 'model', 'forget', 'forgetDigest', 'precision']) str(key);
  for (const key of ['memoryFormat', 'device', 'lethe', 'source', 'libtorch']) str(key);
  if (!Number.isSafeInteger(v.seed)) bad('identity.seed', 'an integer', v.seed);
  if (!isObject(v.modelOptions)) bad('identity.modelOptions', 'an object', v.modelOptions);
  if (!isObject(v.options)) bad('identity.options', 'an object', v.options);
  if (v.original !== undefined) str('original');
  return v as unknown as RunIdentity;
}

function checkScheduler(v: unknown, bad: Bad): Record<string, unknown> | null {
  if (v === null) return null;
  if (!isObject(v)) return bad('scheduler', 'null or an object', v);
  if (!Number.isSafeInteger(v.lastEpoch) || (v.lastEpoch as number) < 0)
    bad('scheduler.lastEpoch', 'an integer ≥ 0', v.lastEpoch);
  if (!Number.isSafeInteger(v.stepCount) || (v.stepCount as number) < 0)
    bad('scheduler.stepCount', 'an integer ≥ 0', v.stepCount);
  for (const key of ['baseLrs', 'lastLr']) {
    const a = v[key];
    if (
      !Array.isArray(a) ||
      a.length === 0 ||
      !a.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)
    )
      bad(`scheduler.${key}`, 'a list of finite learning rates ≥ 0', a);
  }
  return v;
}

interface OptimizerMetaShape {
  format: string;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
  state: Record<string, Record<string, number>>;
}

function checkOptimizerMeta(v: unknown, bad: Bad): OptimizerMetaShape {
  if (!isObject(v)) return bad('optimizer', 'an object', v);
  if (v.format !== 'lethe.optim/1') bad('optimizer.format', "'lethe.optim/1'", v.format);
  const groups = v.paramGroups;
  if (!Array.isArray(groups) || groups.length === 0)
    bad('optimizer.paramGroups', 'a non-empty list', groups);
  const ids = new Set<number>();
  (groups as unknown[]).forEach((g, i) => {
    if (!isObject(g)) return bad(`optimizer.paramGroups[${i}]`, 'an object', g);
    if (!Array.isArray(g.params) || g.params.length === 0)
      bad(`optimizer.paramGroups[${i}].params`, 'a non-empty list of parameter ids', g.params);
    for (const id of g.params as unknown[]) {
      if (!Number.isSafeInteger(id) || (id as number) < 0 || ids.has(id as number))
        bad(`optimizer.paramGroups[${i}].params`, 'distinct integer ids ≥ 0', g.params);
      ids.add(id as number);
    }
    if (typeof g.lr !== 'number' || !Number.isFinite(g.lr) || g.lr < 0)
      bad(`optimizer.paramGroups[${i}].lr`, 'a finite number ≥ 0', g.lr);
    for (const [key, x] of Object.entries(g)) {
      const finite = (y: unknown): boolean => typeof y === 'number' && Number.isFinite(y);
      const ok =
        key === 'params' ||
        typeof x === 'boolean' ||
        finite(x) ||
        (Array.isArray(x) && x.every(finite));
      if (!ok) bad(`optimizer.paramGroups[${i}].${key}`, 'a finite number or a boolean', x);
    }
  });
  if (!isObject(v.state)) return bad('optimizer.state', 'an object', v.state);
  for (const [id, entry] of Object.entries(v.state)) {
    if (!/^(0|[1-9]\d*)$/.test(id) || !ids.has(Number(id)))
      bad('optimizer.state', `state only for parameters ${[...ids].join(', ')}`, id);
    if (!isObject(entry)) return bad(`optimizer.state.${id}`, 'an object of numbers', entry);
    for (const [k, x] of Object.entries(entry))
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
        bad(`optimizer.state.${id}.${k}`, 'a finite number ≥ 0', x);
  }
  return v as unknown as OptimizerMetaShape;
}

/**
 * The per-parameter state an optimizer keeps once it has stepped, by its hyper-parameters:
 * SGD's momentum buffer (when momentum ≠ 0), Adam's and AdamW's moments and step count.
 */
function expectedStateKeys(group: Record<string, unknown>): string[] {
  if ('betas' in group)
    return ['exp_avg', 'exp_avg_sq', 'step', ...(group.amsgrad === true ? ['max_exp_avg_sq'] : [])];
  if ('momentum' in group && group.momentum !== 0) return ['momentum_buffer'];
  return [];
}

/**
 * Every parameter has the state its optimizer keeps after `step` steps, and nothing else: a
 * checkpoint with the momentum removed would otherwise resume with the momentum restarted.
 */
function checkOptimizerState(
  tensors: Record<string, Tensor>,
  meta: OptimizerMetaShape,
  step: number,
  bad: Bad,
): void {
  const have = new Map<number, Set<string>>();
  for (const [id, entry] of Object.entries(meta.state))
    have.set(Number(id), new Set(Object.keys(entry)));
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^state\.(0|[1-9]\d*)\.(.+)$/.exec(name);
    if (!m) return bad(`tensor 'optimizer.${name}'`, "a name 'optimizer.state.<id>.<key>'", name);
    const id = Number(m[1]);
    if (!meta.paramGroups.some((g) => g.params.includes(id)))
      bad(`tensor 'optimizer.${name}'`, 'state of a parameter of the optimizer', name);
    if (!isFloat(t)) bad(`tensor 'optimizer.${name}'`, 'a floating-point tensor', t.dtype);
    const keys = have.get(id) ?? new Set<string>();
    if (keys.has(m[2])) bad(`optimizer state ${id}.${m[2]}`, 'one value', 'twice');
    have.set(id, keys.add(m[2]));
  }
  for (const group of meta.paramGroups) {
    const expected = step > 0 ? expectedStateKeys(group) : [];
    for (const id of group.params) {
      const keys = have.get(id) ?? new Set<string>();
      for (const key of expected)
        if (!keys.has(key))
          bad(
            `no optimizer state '${key}' for parameter ${id}, but`,
            `it after ${step} steps`,
            undefined,
          );
      if (step > 0) {
        for (const key of keys)
          if (!expected.includes(key))
            bad(
              `optimizer state '${key}' for parameter ${id}`,
              `only ${expected.join(', ') || 'no state'}`,
              key,
            );
      } else if (keys.size)
        bad(`optimizer state for parameter ${id}`, 'none before the first step', [...keys]);
    }
  }
}

function isFloat(t: Tensor): boolean {
  return (
    t.dtype === 'float32' ||
    t.dtype === 'float64' ||
    t.dtype === 'float16' ||
    t.dtype === 'bfloat16'
  );
}

/** The history tensors: rows of finite numbers, epochs ≤ `epoch` in order, steps 0..step-1. */
function checkHistory(
  epochsT: Tensor,
  stepsT: Tensor,
  epoch: number,
  step: number,
  bad: Bad,
): History {
  for (const [name, t] of [
    ['history.epochs', epochsT],
    ['history.steps', stepsT],
  ] as const) {
    if (t.dtype !== 'float64' || t.shape.length !== 2 || t.shape[1] !== 4)
      bad(`tensor '${name}'`, 'float64 rows of 4', `${t.dtype} [${t.shape}]`);
  }
  const history = historyFrom(epochsT.data<'float64'>(), stepsT.data<'float64'>());
  let last = -1;
  history.epochs.forEach((r, i) => {
    if (!Number.isInteger(r.epoch) || r.epoch <= last || r.epoch > epoch)
      bad(`history.epochs[${i}].epoch`, `increasing epochs in 0..${epoch}`, r.epoch);
    last = r.epoch;
    for (const key of ['forget', 'retain', 'test'] as const)
      if (!(r[key] >= 0 && r[key] <= 1))
        bad(`history.epochs[${i}].${key}`, 'an accuracy in [0, 1]', r[key]);
  });
  if (history.steps.length !== step)
    bad("tensor 'history.steps'", `${step} rows, one per step`, history.steps.length);
  history.steps.forEach((r, i) => {
    if (r.step !== i) bad(`history.steps[${i}].step`, String(i), r.step);
    for (const key of ['facc', 'racc'] as const)
      if (!(r[key] >= 0 && r[key] <= 1) && !Number.isNaN(r[key]))
        bad(`history.steps[${i}].${key}`, 'an accuracy in [0, 1]', r[key]);
    if (!Number.isFinite(r.loss)) bad(`history.steps[${i}].loss`, 'a finite number', r.loss);
  });
  return history;
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
