/**
 * What a run is, parsed and checked once: a {@link RunSpec}. The CLI builds one from its flags, a
 * plan stores it as JSON and {@link checkRunSpec} reads it back with the same checks; everything
 * below receives the typed record. A run's resume identity and its `config.json` are derived from
 * the spec ({@link runRecords}), never assembled twice.
 */
import { resolve } from 'node:path';
import { checkForgetSpec, type Split } from '../data/split.js';
import type { ModelOptions } from '../models/registry.js';
import {
  resolveCompute,
  type Compute,
  type ComputeSettings,
  type SettingNames,
} from '../records/compute.js';
import { cuda } from '../tensor/index.js';
import { getMethod } from '../unlearn/registry.js';
import { OptionError } from '../util/errors.js';
import { digestOf, identityKey, identityOf, runIdentity, type RunIdentity } from './identity.js';
import type { RunConfig } from './rundir.js';
import { runVersions } from './rundir.js';
import type { ScenarioRecord } from './scenarios.js';

/** Training an original model from scratch. */
export interface TrainSpec extends Compute {
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
export interface UnlearnSpec extends Compute {
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
export function computeOf(input: Compute): Compute {
  return {
    seed: input.seed,
    device: input.device,
    ...(input.threads !== undefined ? { threads: input.threads } : {}),
    precision: input.precision,
    memoryFormat: input.memoryFormat,
  };
}

/** The CLI's name of each compute setting, for messages. */
const FLAGS: SettingNames = (field) =>
  field === 'memoryFormat' ? '--memory-format' : `--${field}`;

/**
 * Resolves compute settings from the CLI or a plan file before any work ({@link resolveCompute}:
 * the one place they are defaulted and checked), then checks that the device exists here.
 */
export function checkCompute(c: Record<string, unknown>): Compute {
  const compute = resolveCompute(c as ComputeSettings, FLAGS);
  const { device } = compute;
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
  return compute;
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
 * A run's identity and a builder of its config.json, both from its spec and what it resolved:
 * the identity is read off the config, so that the two always agree.
 */
export function runRecords(
  spec: RunSpec,
  r: Resolved,
): { identity: RunIdentity; config: (threads: number) => RunConfig } {
  const config = (threads: number): RunConfig => ({
    command: spec.kind,
    method: spec.kind === 'train' ? 'train' : spec.method,
    data: r.data,
    model: r.model,
    modelOptions: r.modelOptions,
    forget: spec.kind === 'train' ? 'none' : spec.forget,
    seed: spec.seed,
    device: spec.device,
    precision: spec.precision,
    memoryFormat: spec.memoryFormat,
    threads,
    options: r.options,
    ...(spec.kind === 'unlearn' ? { from: resolve(spec.from) } : {}),
    ...(spec.scenario ? { scenario: spec.scenario } : {}),
    createdAt: new Date().toISOString(),
    versions: runVersions(),
  });
  const original = spec.kind === 'unlearn' ? identityKey(runIdentity(spec.from)) : undefined;
  const identity = identityOf(config(spec.threads ?? 0), digestOf(r.forget), original);
  return { identity, config };
}
