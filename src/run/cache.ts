/**
 * The cache of finished runs (trained originals, retrain oracles, the demo's baselines) that the
 * demo and comparisons reuse across invocations, keyed on what made each result: its
 * {@link RunIdentity} (`identity.ts`, the one rule for "same run?"). A run is reused only when
 * everything that determined it is the same: resolved options, data, model, forget set, seed,
 * precision, memory format, device kind, Lethe's code (its source digest) and libtorch. When
 * something differs the run is made again, and the difference is told as a 'note' event.
 *
 *   <cache>/<kind>-<key>/entry.json  what made it (kind, key, identity, when)
 *   <cache>/<kind>-<key>/run/        the run directory
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { copyDirAtomic, publishDir, TMP_INFIX, writeFileAtomic } from '../util/atomic.js';
import { ignoreEvents, type RunEventHandler } from './events.js';
import { identityDifferences, identityKey, runIdentity, type RunIdentity } from './identity.js';
import { isCompleteRun } from './rundir.js';
import { specIdentity, trainRun, type RunOptions } from './runs.js';
import type { TrainSpec } from './spec.js';

/** The directory where finished runs are cached across invocations. */
export function cacheDir(): string {
  return (
    process.env.LETHE_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lethe')
  );
}

const ENTRY_FORMAT = 'lethe-cache/1';

/** One cached run. */
export interface CacheEntry {
  /** `original`, `retrain`, or a baseline's method id. */
  kind: string;
  key: string;
  /** The entry's directory. */
  dir: string;
  /** What made it; null for an entry an earlier Lethe wrote without a record. */
  made: RunIdentity | null;
  createdAt: Date;
  /** Bytes on disk. */
  bytes: number;
}

function sizeOf(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

function readEntry(dir: string, name: string): CacheEntry | null {
  const path = join(dir, name);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return null;
  }
  if (!stat.isDirectory() || name.includes(TMP_INFIX)) return null;
  const dash = name.lastIndexOf('-');
  const fallback = { kind: name.slice(0, dash), key: name.slice(dash + 1) };
  let made: RunIdentity | null = null;
  let createdAt = stat.mtime;
  let kind = fallback.kind;
  let key = fallback.key;
  try {
    const e = JSON.parse(readFileSync(join(path, 'entry.json'), 'utf8')) as Record<string, unknown>;
    if (e.format === ENTRY_FORMAT) {
      made = e.made as RunIdentity;
      kind = String(e.kind);
      key = String(e.key);
      createdAt = new Date(String(e.createdAt));
    }
  } catch {
    // An entry of an earlier Lethe (the run directory itself, no record): listed, never reused.
  }
  return { kind, key, dir: path, made, createdAt, bytes: sizeOf(path) };
}

/** Every entry in the cache, oldest first. */
export function listCache(dir = cacheDir()): CacheEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => readEntry(dir, name))
    .filter((e): e is CacheEntry => e !== null)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** Removes the cache's entries (those older than `olderThanDays`, when given); returns them. */
export function clearCache(olderThanDays?: number, dir = cacheDir()): CacheEntry[] {
  const before = Date.now() - (olderThanDays ?? 0) * 86_400_000;
  const removed = listCache(dir).filter(
    (e) => olderThanDays === undefined || e.createdAt.getTime() < before,
  );
  for (const e of removed) rmSync(e.dir, { recursive: true, force: true });
  return removed;
}

/**
 * Ensures `out` holds the finished run `want` describes, and returns whether an existing one was
 * used: the run already in `out` when it was made of the same, else the cached one of the same
 * key, else one made now with `make` (and stored in the cache). A run in `out` or in the cache
 * made of something else is not used, and a 'note' says what differed.
 */
export async function cachedRun(
  kind: string,
  want: RunIdentity,
  out: string,
  make: (dir: string) => Promise<unknown>,
  onEvent: RunEventHandler = ignoreEvents,
): Promise<boolean> {
  const diffFrom = (had: RunIdentity): string[] => identityDifferences(had, want);
  if (isCompleteRun(out)) {
    const diff = diffFrom(runIdentity(out));
    if (diff.length === 0) return true;
    // A run copied from the cache names the original it was made from at the time; when that
    // directory is gone, the cache entry (which recorded it) decides.
    const told = diff.filter((d) => !d.startsWith('original "unknown"'));
    if (told.length)
      onEvent({
        type: 'note',
        message: `${out}: the ${kind} there was made with ${told.join(', ')}; making it again`,
      });
    rmSync(out, { recursive: true, force: true });
  }
  const key = identityKey(want);
  const cache = cacheDir();
  const hit = readEntry(cache, `${kind}-${key}`);
  if (hit?.made && diffFrom(hit.made).length === 0 && isCompleteRun(join(hit.dir, 'run'))) {
    copyDirAtomic(join(hit.dir, 'run'), out);
    return true;
  }
  // Why nothing cached fits: the nearest entry of this kind, and what it was made with.
  const nearest = listCache(cache)
    .filter((e) => e.kind === kind && e.made)
    .map((e) => ({ e, diff: diffFrom(e.made!) }))
    .sort((a, b) => a.diff.length - b.diff.length)[0];
  if (nearest)
    onEvent({
      type: 'note',
      message: `cache: not reusing the cached ${kind} ${nearest.e.key}, made with ${nearest.diff.join(', ')}; making a new one`,
    });
  await make(out);
  const made = runIdentity(out);
  const entry = join(cache, `${kind}-${identityKey(made)}`);
  mkdirSync(cache, { recursive: true });
  publishDir(entry, (tmp) => {
    cpSync(out, join(tmp, 'run'), { recursive: true });
    writeFileAtomic(
      join(tmp, 'entry.json'),
      `${JSON.stringify(
        {
          format: ENTRY_FORMAT,
          kind,
          key: identityKey(made),
          made,
          createdAt: new Date().toISOString(),
        },
        null,
        2,
      )}\n`,
    );
  });
  return false;
}

/**
 * Ensures `dir` holds the original `spec` describes, trained once and cached across runs (see
 * {@link cachedRun}). Returns its key (the cache keys of runs made from it include it) and
 * whether an existing run was used.
 */
export async function ensureOriginal(
  spec: TrainSpec,
  dir: string,
  run: RunOptions = {},
): Promise<{ key: string; cached: boolean }> {
  const want = await specIdentity(spec);
  const label = run.label ?? 'original';
  const cached = await cachedRun(
    'original',
    want,
    dir,
    (d) => {
      run.onEvent?.({ type: 'run', label, out: d });
      return trainRun(spec, d, { ...run, label });
    },
    run.onEvent,
  );
  return { key: identityKey(want), cached };
}
