/**
 * The `serial` executor: a plan's jobs in this process, one after another, then its aggregation.
 * Given a plan directory (`--plan`), it only writes the plan there and says how to run its jobs
 * elsewhere.
 */
import { join } from 'node:path';
import type { JobFailure } from '../../records/metrics.js';
import { OptionError } from '../../util/errors.js';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import { collectPlan, type PlanResult } from '../plan-result.js';
import { runJob, writePlan, type Plan } from '../plan.js';
import { collect, planComparison, type CompareInput } from '../compare.js';
import type { Comparison } from '../../records/metrics.js';
import { planDir, type Collector, type Executor } from './types.js';

/** Whether every other job of the plan needs job `i`: without it nothing else can run. */
function neededByAll(plan: Plan, i: number): boolean {
  const others = plan.jobs.filter((_, k) => k !== i);
  return others.length > 0 && others.every((j) => j.needs.includes(plan.jobs[i].id));
}

/**
 * Runs a plan's jobs in this process, one after another, then aggregates it (`aggregate`, default
 * the plan's own). A run that fails is reported in the result and the rest still run; a mistake in
 * what was asked, or a failed job that every other job needs (a comparison's original), stops it.
 */
export async function runSerial<T = PlanResult>(
  plan: Plan,
  options: { onEvent?: RunEventHandler; aggregate?: Collector<T> } = {},
): Promise<T> {
  const onEvent = options.onEvent ?? ignoreEvents;
  const failures = new Map<number, JobFailure>();
  for (let i = 0; i < plan.jobs.length; i++) {
    try {
      await runJob(plan, i, { onEvent });
    } catch (error) {
      if (error instanceof OptionError || neededByAll(plan, i)) throw error;
      failures.set(i, { job: plan.jobs[i].id, error: (error as Error).message });
    }
  }
  const aggregate = options.aggregate ?? (collectPlan as unknown as Collector<T>);
  return aggregate(plan, { failures, onEvent });
}

export const serialExecutor: Executor = {
  name: 'serial',
  description: 'here',
  options: {},
  async run(plan, dir, { command, onEvent, aggregate, keepPlan, executors }) {
    if (dir === undefined) {
      const here = keepPlan ? writePlan(planDir(plan, undefined), plan) : plan;
      return { result: await runSerial(here, { onEvent, aggregate }) };
    }
    const written = writePlan(dir, plan);
    const elsewhere = executors.filter((name) => name !== serialExecutor.name);
    return {
      written,
      next: [
        `plan: ${join(written.dir!, 'plan.json')} (${written.jobs.length} jobs, indices 0..${written.jobs.length - 1})`,
        `  one job:     lethe job ${written.dir} --index <i>`,
        `  all of them: lethe ${command} --executor ${elsewhere.join('|')} … --plan ${written.dir}`,
        `  afterwards:  lethe ${command} --collect ${written.dir}`,
      ].join('\n'),
    };
  },
};

/** Runs a comparison in this process, one job after another, then collects it. */
export async function compare(
  input: CompareInput,
  onEvent: RunEventHandler = ignoreEvents,
): Promise<Comparison> {
  return runPlan(await planComparison(input), onEvent);
}

/**
 * A comparison's plan run by the serial executor ({@link runSerial}): its jobs in this process, one
 * after another, then the collection. A run that fails is reported in the comparison and the rest
 * still run; a mistake in what was asked, or a failed original, stops it.
 */
export async function runPlan(
  plan: Plan,
  onEvent: RunEventHandler = ignoreEvents,
): Promise<Comparison> {
  return runSerial(plan, { onEvent, aggregate: collect });
}
