/**
 * What a run is, parsed and checked once: a {@link RunSpec}. The CLI builds one from its flags, a
 * plan stores it as JSON and {@link checkRunSpec} reads it back with the same checks; everything
 * below receives the typed record. A run's resume identity and its `config.json` are derived from
 * the spec ({@link runRecords}), never assembled twice.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { checkForgetSpec, type Split } from '../data/split.js';
import type { ModelOptions } from '../models/registry.js';
import {
  MEMORY_FORMATS,
  PRECISIONS,
  resolveCompute,
  type ModelMemoryFormat,
  type Precision,
} from '../models/precision.js';
import { cuda } from '../tensor/index.js';
import { getMethod } from '../unlearn/registry.js';
import { OptionError } from '../util/errors.js';
import type { RunConfig, RunIdentity } from './rundir.js';
import { runVersions } from './rundir.js';
import type { ScenarioRecord } from './scenarios.js';

/** Where and how a run computes. */
export interface ComputeSpec {
  /** Seed of every random choice (split, shuffles, init, rolls). */
  seed: number;
  /** `cpu`, `cuda` or `cuda:<n>`, checked against the devices there are. */
  device: string;
  /** libtorch threads (default: libtorch's, the machine's cores). */
  threads?: number;
  precision: Precision;
  /** Default: the faster layout on the device. */
  memoryFormat?: ModelMemoryFormat;
}

/** Training an original model from scratch. */
export interface TrainSpec extends ComputeSpec {
  kind: 'train';
  /** Data set spec, `name[:path]`. */
  data: string;
  /** Architecture name. */
  model: string;
  /** ResNet-18/34/50: the 3×3 stride-1 stem without max-pool, for 32×32 inputs. */
  cifarStem?: boolean;
  /** The training recipe's overrides (over the defaults). */
  options: Record<string, unknown>;
  /** The scenario the run is made under; recorded in its config.json. */
  scenario?: ScenarioRecord;
}

/** Unlearning a forget set from a trained original (or retraining without it: `retrain`). */
export interface UnlearnSpec extends ComputeSpec {
  kind: 'unlearn';
  /** Run directory of the original. */
  from: string;
  /** Forget spec: `random:<fraction|count>`, `class:<id>[,<id>]`, `indices:<file>`. */
  forget: string;
  /** Method id (canonical). */
  method: string;
  /** The method's option overrides. */
  options: Record<string, unknown>;
  /**
   * A directory whose `split.json` the run uses (a comparison's one split); default: the split
   * drawn from `forget` and `seed`.
   */
  split?: string;
  /**
   * Evaluate the full sets after every epoch for the report's curves (default: yes, except for
   * the oracle); the final evaluation always runs.
   */
  evalEveryEpoch?: boolean;
  scenario?: ScenarioRecord;
}

export type RunSpec = TrainSpec | UnlearnSpec;

/** The compute settings of a larger input (a comparison's, an audit's), and nothing else. */
export function computeOf(input: ComputeSpec): ComputeSpec {
  return {
    seed: input.seed,
    device: input.device,
    ...(input.threads !== undefined ? { threads: input.threads } : {}),
    precision: input.precision,
    ...(input.memoryFormat ? { memoryFormat: input.memoryFormat } : {}),
  };
}

/**
 * Checks compute settings before any work: the device's form and that it exists here, the
 * precision on that device, the memory format, a whole seed and thread count.
 */
export function checkCompute(c: {
  seed?: unknown;
  device?: unknown;
  threads?: unknown;
  precision?: unknown;
  memoryFormat?: unknown;
}): ComputeSpec {
  const seed = c.seed ?? 0;
  if (!Number.isSafeInteger(seed) || (seed as number) < 0)
    throw new OptionError(`--seed: expected an integer ≥ 0 but received '${String(seed)}'`);
  if (c.threads !== undefined && (!Number.isSafeInteger(c.threads) || (c.threads as number) < 1))
    throw new OptionError(`--threads: expected an integer ≥ 1 but received '${String(c.threads)}'`);
  const device = String(c.device ?? 'cpu');
  if (!/^(cpu|cuda(:\d+)?)$/.test(device))
    throw new OptionError(
      `--device: expected 'cpu', 'cuda' or 'cuda:<n>' but received '${device}'`,
    );
  if (device.startsWith('cuda')) {
    const n = cuda.isAvailable() ? cuda.deviceCount() : 0;
    const index = device === 'cuda' ? 0 : Number(device.slice(5));
    if (index >= n)
      throw new OptionError(
        n === 0
          ? `--device ${device}: CUDA is not available (this libtorch build or machine has no GPU); use --device cpu, or build against a CUDA libtorch (LIBTORCH=<dir> npm run build)`
          : `--device ${device}: this machine has ${n} CUDA device(s), cuda:0..cuda:${n - 1}`,
      );
  }
  const precision = (c.precision ?? 'fp32') as Precision;
  if (!PRECISIONS.includes(precision))
    throw new OptionError(
      `--precision: expected ${PRECISIONS.map((p) => `'${p}'`).join(', ')} but received '${String(precision)}'`,
    );
  const memoryFormat = c.memoryFormat as ModelMemoryFormat | undefined;
  if (memoryFormat !== undefined && !MEMORY_FORMATS.includes(memoryFormat))
    throw new OptionError(
      `--memory-format: expected 'channels-last' or 'contiguous' but received '${String(memoryFormat)}'`,
    );
  try {
    resolveCompute(device, { precision, memoryFormat });
  } catch (error) {
    throw new OptionError(`--precision: ${(error as Error).message}`);
  }
  return {
    seed: seed as number,
    device,
    ...(c.threads !== undefined ? { threads: c.threads as number } : {}),
    precision,
    ...(memoryFormat ? { memoryFormat } : {}),
  };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OptionError(`${where}: expected an object`);
  return value as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '')
    throw new OptionError(
      `${where}: expected a string for ${key} but received ${JSON.stringify(v)}`,
    );
  return v;
}

/**
 * Reads a run spec (from a plan file, say) with every check the CLI makes: a known kind and
 * method, a well-formed forget spec, compute settings that work here.
 */
export function checkRunSpec(value: unknown, where = 'run spec'): RunSpec {
  const o = record(value, where);
  const compute = checkCompute(o);
  const options = record(o.options ?? {}, `${where}.options`);
  const scenario = o.scenario as ScenarioRecord | undefined;
  if (o.kind === 'train') {
    return {
      kind: 'train',
      data: str(o, 'data', where),
      model: str(o, 'model', where),
      ...(o.cifarStem === true ? { cifarStem: true } : {}),
      options,
      ...compute,
      ...(scenario ? { scenario } : {}),
    };
  }
  if (o.kind !== 'unlearn')
    throw new OptionError(
      `${where}: expected kind 'train' or 'unlearn' but received ${JSON.stringify(o.kind)}`,
    );
  const forget = str(o, 'forget', where);
  checkForgetSpec(forget);
  return {
    kind: 'unlearn',
    from: str(o, 'from', where),
    forget,
    method: getMethod(str(o, 'method', where)).id,
    options,
    ...(typeof o.split === 'string' ? { split: o.split } : {}),
    ...(typeof o.evalEveryEpoch === 'boolean' ? { evalEveryEpoch: o.evalEveryEpoch } : {}),
    ...compute,
    ...(scenario ? { scenario } : {}),
  };
}

/** The forget set's indices as `sha256:<hex>`. */
export function digestOf(indices: Int32Array): string {
  const bytes = new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength);
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** What a run settles from its spec before it starts: the model, the resolved options, the split. */
export interface Resolved {
  data: string;
  model: string;
  modelOptions: ModelOptions;
  /** The method's (or recipe's) resolved options. */
  options: Record<string, unknown>;
  /** Training runs: an empty forget set. */
  forget: Split['forget'];
}

/**
 * A run's resume identity and a builder of its config.json, both from its spec and what it
 * resolved, so that the two always agree.
 */
export function runRecords(
  spec: RunSpec,
  r: Resolved,
): {
  identity: RunIdentity;
  config: (done: {
    precision: Precision;
    memoryFormat: ModelMemoryFormat;
    threads: number;
  }) => RunConfig;
} {
  const base = {
    command: spec.kind,
    method: spec.kind === 'train' ? 'train' : spec.method,
    data: r.data,
    model: r.model,
    modelOptions: r.modelOptions,
    forget: spec.kind === 'train' ? 'none' : spec.forget,
    seed: spec.seed,
  };
  const from = spec.kind === 'unlearn' ? { from: resolve(spec.from) } : {};
  const identity: RunIdentity = {
    ...base,
    options: r.options,
    ...from,
    forgetDigest: digestOf(r.forget),
    // fp32 with the default layout adds nothing, so older checkpoints still match.
    ...(spec.precision !== 'fp32' ? { precision: spec.precision } : {}),
    ...(spec.memoryFormat ? { memoryFormat: spec.memoryFormat } : {}),
  };
  const config = (done: {
    precision: Precision;
    memoryFormat: ModelMemoryFormat;
    threads: number;
  }): RunConfig => ({
    ...base,
    device: spec.device,
    precision: done.precision,
    memoryFormat: done.memoryFormat,
    threads: done.threads,
    options: r.options,
    ...from,
    ...(spec.scenario ? { scenario: spec.scenario } : {}),
    createdAt: new Date().toISOString(),
    versions: runVersions(),
  });
  return { identity, config };
}
