/**
 * The `queue` executor: a plan as a BullMQ flow on Redis. Each job of the plan is a child job and
 * the aggregation is their parent, so it runs once every child has finished (failed children
 * included: their failures are reported in the comparison). Any number of workers
 * ({@link runWorker}), on any machines that reach Redis and see the run directories, take jobs;
 * each job runs in a child process, so the worker keeps its lock on the job renewed. A worker
 * killed mid-job stops renewing it; after `lockSeconds` another worker's stalled-job check puts
 * the job back, and its run continues from its last checkpoint.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { LetheError } from '../../util/errors.js';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import type { Comparison } from '../metrics.js';
import { planProgress, readPlan, readStatus, type Plan } from '../plan.js';
import { letheCommand } from './command.js';

export const DEFAULT_QUEUE = 'lethe';
const AGGREGATE = 'aggregate';

export interface QueueOptions {
  /** `redis://host:port[/db]`. */
  redis: string;
  /** The BullMQ queue's name (default `lethe`). */
  queue?: string;
  onEvent?: RunEventHandler;
}

const connection = (url: string): { url: string; maxRetriesPerRequest: null } => ({
  url,
  // BullMQ's workers block on Redis; ioredis must not give up on those calls.
  maxRetriesPerRequest: null,
});

/** Adds a written plan to the queue as a flow; returns the parent (aggregation) job's id. */
export async function enqueuePlan(plan: Plan, o: QueueOptions): Promise<string> {
  const flows = new FlowProducer({ connection: connection(o.redis) });
  try {
    const queueName = o.queue ?? DEFAULT_QUEUE;
    const tree = await flows.add({
      name: AGGREGATE,
      queueName,
      data: { plan: plan.dir },
      children: plan.jobs.map((job, index) => ({
        name: job.id,
        queueName,
        data: { plan: plan.dir, index },
        // A failed run is reported by the aggregation; it does not stop it.
        opts: { ignoreDependencyOnFailure: true },
      })),
    });
    return tree.job.id!;
  } finally {
    await flows.close();
  }
}

/**
 * Adds a written plan to the queue and follows it until its aggregation is done, reporting
 * progress from the run directories. Workers do the work.
 */
export async function runQueue(plan: Plan, o: QueueOptions): Promise<Comparison> {
  const onEvent = o.onEvent ?? ignoreEvents;
  const id = await enqueuePlan(plan, o);
  onEvent({
    type: 'note',
    message: `queue: added ${plan.jobs.length} jobs and their aggregation (${id}) to '${o.queue ?? DEFAULT_QUEUE}' on ${o.redis}; start workers with: lethe worker --redis ${o.redis}`,
  });
  const queue = new Queue(o.queue ?? DEFAULT_QUEUE, { connection: connection(o.redis) });
  try {
    let last = '';
    for (;;) {
      const job = await Job.fromId(queue, id);
      const state = job ? await job.getState() : 'unknown';
      const { done, total, failed } = planProgress(plan);
      const line = `queue: ${done}/${total} runs finished${failed.length ? `, ${failed.length} failed` : ''}`;
      if (line !== last) onEvent({ type: 'note', message: (last = line) });
      if (state === 'completed') break;
      if (state === 'failed' || state === 'unknown')
        throw new LetheError(
          'E_JOBS',
          `the aggregation of ${plan.dir} failed: ${job?.failedReason ?? 'it left the queue'} (log: ${join(plan.dir!, 'logs', 'collect.log')})`,
        );
      await sleep(500);
    }
  } finally {
    await queue.close();
  }
  return JSON.parse(readFileSync(join(plan.out, 'comparison.json'), 'utf8')) as Comparison;
}

export interface WorkerOptions extends QueueOptions {
  /** Jobs at once in this worker (default 1). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, and how often stalled jobs are looked for
   * (default 30 s): a killed worker's job is taken over after about this long.
   */
  lockSeconds?: number;
  /** libtorch threads per job. */
  threads?: number;
  /** Resolves when the worker is to stop (default: never). */
  until?: Promise<void>;
}

/**
 * Runs a Lethe process for one queued job, output to `log`; rejects with its error when it fails
 * (`done` may accept an exit code other than 0).
 */
function runChild(
  args: string[],
  log: string,
  error: () => string | undefined,
  done: (code: number | null) => boolean = (code) => code === 0,
): Promise<void> {
  const [cmd, ...pre] = letheCommand();
  const fd = openSync(log, 'a');
  const child = spawn(cmd, [...pre, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (done(code)) resolve();
      else reject(new Error(`${error() ?? `exit ${code ?? signal}`} (log: ${log})`));
    });
  });
}

/** Takes jobs off the queue until `until` resolves. */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const onEvent = o.onEvent ?? ignoreEvents;
  const lockDuration = (o.lockSeconds ?? 30) * 1000;
  const worker = new Worker(
    o.queue ?? DEFAULT_QUEUE,
    async (job) => {
      const dir = job.data.plan as string;
      if (!existsSync(join(dir, 'plan.json')))
        throw new Error(
          `${dir}/plan.json is not visible from this worker; is it on shared storage?`,
        );
      if (job.name === AGGREGATE) {
        onEvent({ type: 'note', message: `worker: collecting ${dir}` });
        const started = Date.now();
        const written = join(readPlan(dir).out, 'comparison.json');
        // Exit 1: the comparison was written, with jobs that failed in it.
        await runChild(
          ['compare', '--collect', dir],
          join(dir, 'logs', 'collect.log'),
          () => undefined,
          (code) =>
            code === 0 ||
            (code === 1 && existsSync(written) && statSync(written).mtimeMs >= started),
        );
        return;
      }
      const plan = readPlan(dir);
      const index = job.data.index as number;
      onEvent({ type: 'note', message: `worker: ${plan.jobs[index].id} (${dir})` });
      await runChild(
        [
          'job',
          dir,
          '--index',
          String(index),
          '--exit-with-parent',
          ...(o.threads !== undefined ? ['--threads', String(o.threads)] : []),
        ],
        plan.jobs[index].log!,
        () => readStatus(plan, index)?.error,
      );
    },
    {
      connection: connection(o.redis),
      concurrency: o.concurrency ?? 1,
      lockDuration,
      stalledInterval: lockDuration,
    },
  );
  worker.on('failed', (job, error) =>
    onEvent({ type: 'note', message: `worker: ${job?.name} failed: ${error.message}` }),
  );
  await worker.waitUntilReady();
  onEvent({
    type: 'note',
    message: `worker: waiting for jobs on '${o.queue ?? DEFAULT_QUEUE}' at ${o.redis}`,
  });
  await (o.until ?? new Promise<void>(() => {}));
  await worker.close();
}
