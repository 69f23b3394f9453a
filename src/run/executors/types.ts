/**
 * An executor runs a plan's jobs somewhere (here, local processes, a Slurm array, a Redis queue)
 * and then its aggregation. Each is one file with its name, a line for `--executor`'s help, the
 * options it reads and its `run`; `index.ts` lists them. A new executor is its file and a line in
 * that list: the CLI's `--executor` choices, help and options come from the list.
 */
import { join } from 'node:path';
import type { JobFailure } from '../../records/metrics.js';
import type { RunEventHandler } from '../events.js';
import type { PlanResult } from '../plan-result.js';
import type { Plan } from '../plan.js';

/** An option an executor reads, declared as the CLI declares its options (`lethe compare --help`). */
export interface ExecutorOption {
  type: 'string' | 'boolean';
  /** Its help line, starting with the executors that read it (`slurm: partition`). */
  description: string;
  /** A string option read as a number: an integer, or any finite number. */
  value?: 'integer' | 'number';
  /** The least value of a numeric option. */
  min?: number;
  /** A numeric option must be greater than this. */
  above?: number;
  default?: string;
  /** Shown in help as the value's placeholder. */
  placeholder?: string;
}

/** Option values by name, as the CLI parsed them: numeric options are numbers. */
export type ExecutorValues = Record<string, string | boolean | string[] | number | undefined>;

/** A numeric option's value, or undefined. */
export function numberValue(values: ExecutorValues, name: string): number | undefined {
  const v = values[name];
  return typeof v === 'number' ? v : undefined;
}

/** A string option's value, or undefined (also when empty). */
export function textValue(values: ExecutorValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The aggregation after a plan's jobs: by default the plan's own (`collectPlan`); the audit passes
 * its own to record its wall time and how it ran.
 */
export type Collector<T = PlanResult> = (
  plan: Plan,
  options: { failures?: Map<number, JobFailure>; onEvent?: RunEventHandler },
) => Promise<T>;

/** What an executor is told besides the plan. */
export interface ExecutorContext {
  /** The command that made the plan (`compare`, `audit`), for the lines that say how to go on. */
  command: string;
  /** The options (its own among them, and `threads`). */
  values: ExecutorValues;
  onEvent: RunEventHandler;
  /** The shell command that runs the same again (it resumes), for the messages that stop it. */
  resume: string;
  /** The names of the registered executors, for the lines that say how to go on. */
  executors: readonly string[];
  /** The aggregation after the jobs (default: the plan's own). */
  aggregate?: Collector;
  /**
   * Write the plan (into `<out>/plan`) even when its jobs run in this process, so that each job's
   * state is recorded and `lethe job` or `--collect` can take it up (the audit's).
   */
  keepPlan?: boolean;
}

/**
 * What an executor did: ran the plan to its result, or only wrote it (the plan, Slurm scripts)
 * and says how to go on (`next`, lines to print).
 */
export type ExecutorOutcome = { result: PlanResult } | { written: Plan; next: string };

export interface Executor {
  /** The `--executor` value. */
  readonly name: string;
  /** Where the jobs run, in a few words, for `--executor`'s help: `an sbatch array`. */
  readonly description: string;
  /** The options it reads; one that several executors read is declared alike by each. */
  readonly options: Readonly<Record<string, ExecutorOption>>;
  /**
   * Runs a plan that is not written yet: `dir` is where to write it when one was asked for
   * (`--plan`), else the executor writes it into `<out>/plan` if it needs it written.
   */
  run(plan: Plan, dir: string | undefined, context: ExecutorContext): Promise<ExecutorOutcome>;
}

/** Where a plan is written: the directory asked for, else `<out>/plan`. */
export function planDir(plan: Plan, dir: string | undefined): string {
  return dir ?? join(plan.out, 'plan');
}
