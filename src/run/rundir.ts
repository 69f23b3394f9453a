/**
 * A run directory: everything needed to read, repeat and evaluate a run.
 *
 *   config.json        resolved settings (command, data, model, method, options, seed, versions)
 *   split.json         the forget / retain / val / test indices
 *   model.safetensors  the resulting model (PyTorch state-dict keys + Lethe metadata)
 *   metrics.json       accuracies, history, time (and MIA / gaps once evaluated)
 *   report.html        the self-contained report
 *   predictions.safetensors  the model's logits on the split's sets (src/models/predictions-file.ts)
 *   checkpoint.safetensors  while the run is in progress: its state after the last finished
 *                      epoch, to resume from (removed when the run finishes; ./checkpoint.ts)
 *   run.json           written last: the sha256 of every other file. A directory is a finished
 *                      run only when run.json is there and every digest matches.
 *
 * This file knows the names and the commit; the records are src/records/run.ts and metrics.ts,
 * the files' codecs live with what they encode.
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
import type { Module } from '../nn/module.js';
import { sweepTemporary, syncDir, writeFileAtomic, writeFileSynced } from '../util/atomic.js';
import type { SetPredictions } from '../models/predict.js';
import { encodePredictions, loadPredictions, savePredictions } from '../models/predictions-file.js';
import { versions } from '../tensor/index.js';
import { FileFormatError } from '../util/errors.js';
import { parseStrictJson, isObject } from '../util/json.js';
import { letheVersion, sourceDigest } from '../util/version.js';
import type { RunMetrics } from '../records/metrics.js';
import type { RunConfig, RunModelOptions, RunScenario } from '../records/run.js';
import type { ScenarioRecord } from './scenarios.js';

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

export type { RunConfig, RunIdentity } from '../records/run.js';

/** Each is assignable to the other: the same type, spelled twice. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/**
 * The record types spell out the model layer's and the scenarios' types on the ground floor
 * (src/records/run.ts); this stops the build when one of them changes and its record does not.
 */
type _RecordsMatchTheirOwners = [
  Assert<Same<RunModelOptions, ModelOptions>>,
  Assert<Same<RunScenario, ScenarioRecord>>,
];

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
      [RUN_FILES.predictions, encodePredictions(run.predictions)],
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
  if (files.predictions) changed.set(RUN_FILES.predictions, encodePredictions(files.predictions));
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

/**
 * Saves the final model's eval-mode logits on the run's sets, so evaluation and later runs
 * starting from this model need no second inference pass.
 */
export function saveRunPredictions(dir: string, p: SetPredictions): void {
  savePredictions(join(dir, RUN_FILES.predictions), p);
}

/** The saved predictions of a run, or null when it has none. */
export function loadRunPredictions(dir: string): SetPredictions | null {
  const path = join(dir, RUN_FILES.predictions);
  if (!existsSync(path)) return null;
  return loadPredictions(path);
}

/** Removes a run directory's checkpoint (a finished run needs none). */
export function removeRunCheckpoint(dir: string): void {
  rmSync(join(dir, RUN_FILES.checkpoint), { force: true });
}
