/**
 * The `local` executor: a plan's jobs in `jobs` processes on this machine, libtorch's threads
 * divided between them; each job's output goes to its log. The aggregation runs here after them.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import { collectPlan, type PlanResult } from '../plan-result.js';
import { planProgress, writePlan, type Plan } from '../plan.js';
import { letheCommand } from './command.js';
import { numberValue, planDir, type Collector, type Executor } from './types.js';

export interface LocalOptions {
  /** Processes at once. */
  jobs: number;
  /** Threads for all of them together (default: the machine's cores). */
  threads?: number;
  onEvent?: RunEventHandler;
}

/** Runs one `lethe job` process; resolves with its exit code. */
function runProcess(plan: Plan, index: number, threads: number): Promise<number> {
  const [cmd, ...args] = letheCommand();
  const log = openSync(plan.jobs[index].log!, 'a');
  const child = spawn(
    cmd,
    [...args, 'job', plan.dir!, '--index', String(index), '--threads', String(threads)],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
}

/** Runs every job of a written plan (see `writePlan`) in `jobs` processes, then collects it. */
export async function runLocal(plan: Plan, options: LocalOptions): Promise<PlanResult>;
export async function runLocal<T>(
  plan: Plan,
  options: LocalOptions,
  aggregate: Collector<T>,
): Promise<T>;
export async function runLocal<T>(
  plan: Plan,
  options: LocalOptions,
  aggregate?: Collector<T>,
): Promise<T | PlanResult> {
  const onEvent = options.onEvent ?? ignoreEvents;
  const k = Math.max(1, Math.min(options.jobs, plan.jobs.length));
  const threads = Math.max(1, Math.floor((options.threads ?? availableParallelism()) / k));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.jobs.length) {
      const index = next++;
      const job = plan.jobs[index];
      onEvent({ type: 'run', label: job.label, out: job.out });
      const code = await runProcess(plan, index, threads);
      const { done, total } = planProgress(plan);
      onEvent({
        type: 'note',
        message: `${job.id}: ${code === 0 ? 'finished' : `failed (exit ${code}; log ${job.log})`} [${done}/${total} runs finished]`,
      });
    }
  };
  await Promise.all(Array.from({ length: k }, worker));
  return (aggregate ?? collectPlan)(plan, { onEvent });
}

export const localExecutor: Executor = {
  name: 'local',
  description: '--jobs processes',
  options: {
    jobs: {
      type: 'string',
      description: 'local: processes at once (threads divided between them)',
      default: '2',
      value: 'integer',
      min: 1,
      placeholder: 'k',
    },
  },
  async run(plan, dir, { values, onEvent, aggregate }) {
    const written = writePlan(planDir(plan, dir), plan);
    const options = {
      jobs: numberValue(values, 'jobs') ?? 2,
      threads: numberValue(values, 'threads'),
      onEvent,
    };
    return { result: await runLocal(written, options, aggregate ?? collectPlan) };
  },
};
