/**
 * "Is this the same run?", decided in one place. A run's {@link RunIdentity} is everything its
 * result depends on: the method and its resolved options, the data, the model, the forget set
 * (its spec and the digest of its indices), the seed, the precision, the memory format, the kind
 * of device, the original it started from, and the code that made it (Lethe's version and source
 * digest, libtorch's version). Resuming a checkpoint, reusing a cached run, and accepting a
 * finished run into a comparison all compare identities with {@link identityDifferences}; the
 * cache files a run under its {@link identityKey}.
 */
import { isObject } from '../util/json.js';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ModelMemoryFormat } from '../records/compute.js';
import type { RunConfig, RunIdentity } from '../records/run.js';
import { readConfig, readRunSplit, isCompleteRun } from './rundir.js';

export type { RunIdentity };

/** The forget set's indices as `sha256:<hex>`. */
export function digestOf(indices: Int32Array): string {
  const bytes = new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength);
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const deviceKind = (device: string): 'cpu' | 'cuda' => (device.startsWith('cuda') ? 'cuda' : 'cpu');

/**
 * The identity of the run a config.json describes (written or about to be), with the digest of
 * its forget set and its original's key. What an older Lethe did not record reads 'unknown',
 * which matches nothing; runs recorded before Lethe wrote the precision were fp32.
 */
export function identityOf(
  config: RunConfig,
  forgetDigest: string,
  original?: string,
): RunIdentity {
  return {
    method: config.method,
    data: config.data,
    model: config.model,
    modelOptions: config.modelOptions,
    forget: config.forget,
    forgetDigest,
    seed: config.seed,
    options: config.options,
    precision: config.precision ?? 'fp32',
    memoryFormat: config.memoryFormat ?? ('unknown' as ModelMemoryFormat),
    device: deviceKind(config.device),
    ...(original !== undefined ? { original } : {}),
    lethe: config.versions?.lethe ?? 'unknown',
    source: config.versions?.source ?? 'unknown',
    libtorch: config.versions?.libtorch ?? 'unknown',
  };
}

/**
 * The identity of the finished run in `dir`; an unlearning run's original is read from the run
 * directory it started from (when that is still a finished run, else 'unknown').
 */
export function runIdentity(dir: string): RunIdentity {
  const config = readConfig(dir);
  // An original's split forgets nothing.
  if (config.command !== 'unlearn') return identityOf(config, digestOf(new Int32Array(0)));
  const forgetDigest = digestOf(readRunSplit(dir).forget);
  const from = config.from && isCompleteRun(config.from) ? config.from : null;
  return identityOf(config, forgetDigest, from ? identityKey(runIdentity(from)) : 'unknown');
}

/** JSON with keys sorted at every level, so equal records hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** A run's key: 16 hex digits of the sha256 of its identity. */
export function identityKey(identity: RunIdentity): string {
  return createHash('sha256').update(canonical(identity)).digest('hex').slice(0, 16);
}

/**
 * The one rule: two runs are the same when their identities are equal. Returns each difference
 * of `had` from `want` (compared key by key, recursively) as `path <had> (wanted <want>)`; none
 * means the same run.
 */
export function identityDifferences(had: RunIdentity, want: RunIdentity): string[] {
  return differences(
    had as unknown as Record<string, unknown>,
    want as unknown as Record<string, unknown>,
  );
}

/** Each difference between two records, key by key, recursively. */
function differences(had: Record<string, unknown>, want: Record<string, unknown>): string[] {
  const out: string[] = [];
  const diff = (path: string, a: unknown, b: unknown): void => {
    if (isDeepStrictEqual(a, b)) return;
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
        diff(`${path}.${key}`, a[key], b[key]);
    } else {
      out.push(`${path} ${JSON.stringify(a)} (wanted ${JSON.stringify(b)})`);
    }
  };
  for (const key of new Set([...Object.keys(had), ...Object.keys(want)]))
    diff(key, had[key], want[key]);
  return out;
}
