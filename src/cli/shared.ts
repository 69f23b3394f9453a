/**
 * What several commands share: the flags that become a run's spec (compute settings, scenario,
 * the original to train, method options), their option tables, and running a plan on the
 * executor `--executor` names.
 */
import { DATASET_NAMES } from '../data/registry.js';
import type { ModelMemoryFormat } from '../records/compute.js';
import { DEFAULT_EXECUTOR, EXECUTORS, getExecutor } from '../run/executors/index.js';
import { shellQuote } from '../run/executors/command.js';
import type { Collector } from '../run/executors/types.js';
import type { RunEventHandler } from '../run/events.js';
import type { PlanResult } from '../run/plan-result.js';
import type { Plan } from '../run/plan.js';
import { scenarioNames, scenarioRecord, type ScenarioRecord } from '../run/scenarios.js';
import type { Compute } from '../records/compute.js';
import { checkCompute, type TrainSpec } from '../run/spec.js';
import { OptionError } from '../util/errors.js';
import {
  methodOverrides,
  numeric,
  text,
  type OptionSpec,
  type OptionTable,
  type Parsed,
} from './options.js';

export const dataHelp = `data set as name[:path]: ${DATASET_NAMES.join(', ')}`;
export const TRAINING_OPTIONS: OptionTable = {
  epochs: { type: 'string', description: 'epochs', value: 'integer', min: 1, placeholder: 'n' },
  resume: {
    type: 'boolean',
    description:
      'continue the interrupted run in --out from its last finished epoch (same settings; the run saves a checkpoint after every epoch)',
  },
  lr: { type: 'string', description: 'learning rate', value: 'number', above: 0, placeholder: 'x' },
  'batch-size': {
    type: 'string',
    description: 'batch size',
    value: 'integer',
    min: 1,
    placeholder: 'n',
  },
  opt: {
    type: 'string',
    multiple: true,
    description: 'any other option of the method, e.g. --opt studentMode=train',
    placeholder: 'key=value',
  },
};

const MEMORY_FORMAT_FLAGS: Record<string, ModelMemoryFormat> = {
  'channels-last': 'channelsLast',
  contiguous: 'contiguous',
};

/** The compute settings every command shares, checked once, before any work. */
export function compute({ values }: Parsed): Compute {
  const mf = text(values, 'memory-format');
  return checkCompute({
    seed: numeric(values, 'seed'),
    device: values.device,
    threads: numeric(values, 'threads'),
    precision: values.precision,
    memoryFormat: mf === undefined ? undefined : MEMORY_FORMAT_FLAGS[mf],
  });
}

/** The scenario a command runs under, as recorded in its runs' config.json. */
export function scenarioOf({ scenario }: Parsed): { scenario?: ScenarioRecord } {
  return scenario ? { scenario: scenarioRecord(scenario) } : {};
}

/** The original a comparison or the demo trains (once; cached) from the flags and scenario. */
export function originalSpec(parsed: Parsed, c: Compute, cifarStem: boolean): TrainSpec {
  const { values, scenario } = parsed;
  return {
    kind: 'train',
    data: String(values.data),
    model: String(values.model),
    ...(cifarStem ? { cifarStem: true } : {}),
    options: scenario?.train ?? {},
    ...c,
    ...scenarioOf(parsed),
  };
}

export const scenarioOption = (def?: string): OptionTable[string] => ({
  type: 'string',
  description: `a preset of data, model, recipe and forget set: ${scenarioNames().join(', ')}, or a scenario file (flags win; see 'lethe scenarios')`,
  ...(def ? { default: def } : {}),
  placeholder: 'name',
});

/** Flag shortcuts plus --opt pairs, as method option overrides. */
export function overrides(values: Parsed['values']): Record<string, unknown> {
  const out = methodOverrides(values);
  const epochs = numeric(values, 'epochs');
  const lr = numeric(values, 'lr');
  const batchSize = numeric(values, 'batch-size');
  if (epochs !== undefined) out.epochs = epochs;
  if (lr !== undefined) out.lr = lr;
  if (batchSize !== undefined) out.batchSize = batchSize;
  return out;
}

/** `--opt method.key=value`, for commands that run several methods (compare, audit). */
export const PER_METHOD_OPTION: OptionTable[string] = {
  type: 'string',
  multiple: true,
  description: 'a method option, e.g. --opt srfl.lr=0.01',
  placeholder: 'method.key=value',
};

/** `--opt method.key=value` pairs, by method. */
export function perMethodOptions(
  values: Parsed['values'],
): Record<string, Record<string, unknown>> {
  const perMethod: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(methodOverrides(values))) {
    const dot = key.indexOf('.');
    if (dot <= 0) throw new OptionError(`--opt ${key}: expected method.key=value`);
    (perMethod[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = value;
  }
  return perMethod;
}

export function resumeOf(values: Parsed['values']): 'required' | 'never' {
  return values.resume === true ? 'required' : 'never';
}

/**
 * Where a plan's jobs run, shared by every command that makes a plan (compare, audit): the
 * executors' names and the options they read, from the registry. An option several executors read
 * (the bounds on following an engine) is listed once, after every executor's own.
 */
export const EXECUTOR_OPTIONS: OptionTable = (() => {
  const readers = new Map<string, number>();
  const all = EXECUTORS.flatMap((e) => Object.entries(e.options));
  for (const [name] of all) readers.set(name, (readers.get(name) ?? 0) + 1);
  const table: OptionTable = {
    executor: {
      type: 'string',
      description: `where the jobs run: ${EXECUTORS.map((e) => `'${e.name}' (${e.description}${e.name === DEFAULT_EXECUTOR ? ', default' : ''})`).join(', ')}`,
      choices: EXECUTORS.map((e) => e.name),
      placeholder: 'name',
    },
  };
  const entries: [string, OptionSpec][] = [
    ...all.filter(([name]) => readers.get(name) === 1),
    ...all.filter(([name]) => readers.get(name)! > 1),
  ];
  for (const [name, spec] of entries) table[name] ??= spec;
  return table;
})();

/**
 * Runs a plan on the executor `--executor` names (in this process by default) and returns its
 * result; undefined when the executor only wrote the plan or its scripts, and printed how to run
 * them. `aggregate` replaces the plan's own aggregation after the jobs; `keepPlan` writes the plan
 * even when its jobs run here.
 */
export async function executePlan(
  command: 'compare' | 'audit',
  planned: Plan,
  parsed: Parsed,
  onEvent: RunEventHandler,
  how: { aggregate?: Collector; keepPlan?: boolean } = {},
): Promise<PlanResult | undefined> {
  const { values } = parsed;
  const executor = getExecutor(text(values, 'executor') ?? DEFAULT_EXECUTOR);
  const outcome = await executor.run(planned, text(values, 'plan'), {
    command,
    values,
    onEvent,
    resume: ['lethe', command, ...parsed.argv].map(shellQuote).join(' '),
    executors: EXECUTORS.map((e) => e.name),
    ...how,
  });
  if ('result' in outcome) return outcome.result;
  console.log(outcome.next);
  return undefined;
}
