/**
 * A run directory's resume checkpoint, `checkpoint.safetensors`: the loop's state after the last
 * finished epoch (src/unlearn/checkpoint.ts), saved with the run's {@link RunIdentity}. A run
 * resumes only from a checkpoint whose identity equals its own; a finished run has none.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BadField } from '../optim/state.js';
import type { RunIdentity } from '../records/run.js';
import { isObject } from '../util/json.js';
import {
  disposeLoopState,
  loadLoopCheckpoint,
  saveLoopCheckpoint,
  type LoopCheckpoint,
} from '../unlearn/checkpoint.js';
import type { LoopState } from '../unlearn/loop.js';
import { RUN_FILES } from './rundir.js';

/**
 * Saves a run's state after a finished epoch to `checkpoint.safetensors` (atomically: an
 * interrupted save leaves the previous checkpoint intact).
 */
export function saveRunCheckpoint(dir: string, identity: RunIdentity, state: LoopState): void {
  mkdirSync(dir, { recursive: true });
  saveLoopCheckpoint(join(dir, RUN_FILES.checkpoint), identity, state);
}

/** A run directory's checkpoint; the caller frees its tensors with {@link disposeCheckpoint}. */
export type RunCheckpoint = LoopCheckpoint<RunIdentity>;

/**
 * Reads `checkpoint.safetensors` of a run directory, or returns null when there is none. Every
 * field is checked before the state is handed on: a damaged checkpoint is refused with the field
 * named, never resumed into a different run.
 */
export function loadRunCheckpoint(dir: string): RunCheckpoint | null {
  const path = join(dir, RUN_FILES.checkpoint);
  if (!existsSync(path)) return null;
  return loadLoopCheckpoint(path, checkIdentity);
}

/** Frees a loaded checkpoint's tensors. */
export function disposeCheckpoint(checkpoint: RunCheckpoint): void {
  disposeLoopState(checkpoint.state);
}

/** The identity a run compares with its own: the fields of {@link RunIdentity}, typed. */
function checkIdentity(v: unknown, bad: BadField): RunIdentity {
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
