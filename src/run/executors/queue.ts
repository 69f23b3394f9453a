/**
 * The `queue` executor: a plan as a BullMQ flow on Redis. Each job of the plan is a child job and
 * the aggregation is their parent, so it runs once every child has finished; a child that failed
 * for good (after its retries) fails the aggregation, unless partial results are allowed, when
 * the failures are reported in the comparison. Any number of workers
 * ({@link runWorker}), on any machines that reach Redis and see the run directories, take jobs;
 * each job runs in a child process, so the worker keeps its lock on the job renewed. A worker
 * killed mid-job stops renewing it; after `lockSeconds` another worker's stalled-job check puts
 * the job back, and its run continues from its last checkpoint. BullMQ is loaded when a plan is
 * queued or a worker starts, not with this module: the CLI lists this executor on every command.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Queue } from 'bullmq';
import { LetheError, OptionError } from '../../util/errors.js';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import type { EngineJobState } from '../events.js';
import { readResult, resultFile, type PlanResult } from '../plan-result.js';
import { planProgress, readPlan, readStatus, writePlan, type Plan } from '../plan.js';
import { isCompleteRun } from '../rundir.js';
import { letheCommand } from './command.js';
import { planDir, textValue, type Executor } from './types.js';
import {
  DEFAULT_RETRIES,
  describeJob,
  FOLLOW_OPTIONS,
  followOptions,
  Watch,
  type FollowOptions,
} from './watch.js';

export const DEFAULT_QUEUE = 'lethe';
const AGGREGATE = 'aggregate';

export interface QueueOptions extends FollowOptions {
  /** `redis://host:port[/db]`. */
  redis: string;
  /** The BullMQ queue's name (default `lethe`). */
  queue?: string;
  /** How often to look while following (default 0.5 s). */
  pollSeconds?: number;
  onEvent?: RunEventHandler;
}

/** BullMQ (and ioredis under it), loaded on first use. */
const bullmq = (): Promise<typeof import('bullmq')> => import('bullmq');

const connection = (url: string): { url: string; maxRetriesPerRequest: null } => ({
  url,
  // BullMQ's workers block on Redis; ioredis must not give up on those calls.
  maxRetriesPerRequest: null,
});

/** The BullMQ ids of an enqueued plan: its aggregation and each job's, in plan order. */
export interface QueuedPlan {
  aggregate: string;
  jobs: string[];
}

/**
 * Adds a written plan to the queue as a flow. Each job is tried `retries + 1` times; a job that
 * failed for good fails the aggregation (it does not run on partial results) unless
 * `allowPartial`, when the aggregation runs on the runs that finished and reports the failures.
 */
export async function enqueuePlan(plan: Plan, o: QueueOptions): Promise<QueuedPlan> {
  const { FlowProducer } = await bullmq();
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
        opts: {
          attempts: (o.retries ?? DEFAULT_RETRIES) + 1,
          ...(o.allowPartial ? { ignoreDependencyOnFailure: true } : { failParentOnFailure: true }),
        },
      })),
    });
    const ids = new Map((tree.children ?? []).map((c) => [c.job.data.index as number, c.job.id!]));
    return { aggregate: tree.job.id!, jobs: plan.jobs.map((_, i) => ids.get(i)!) };
  } finally {
    await flows.close();
  }
}

/** Resolves with `work`'s value, or with null when it takes longer than `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]);
}

/** A job as BullMQ holds it: its state, why it failed, which attempt, whether it stalled. */
async function stateOf(
  jobs: typeof Job,
  queue: Queue,
  id: string,
  name: string,
): Promise<EngineJobState> {
  const job = await jobs.fromId(queue, id);
  if (!job) return { id: name, engineId: id, state: 'missing' };
  const state = await job.getState();
  const stalled = job.stalledCounter > 0 ? `stalled ${job.stalledCounter}x` : '';
  const reason = [state === 'failed' || state === 'delayed' ? job.failedReason : '', stalled]
    .filter(Boolean)
    .join('; ');
  return {
    id: name,
    engineId: id,
    state,
    attempt: job.attemptsMade + (state === 'active' ? 1 : 0),
    ...(reason ? { reason } : {}),
  };
}

/**
 * Adds a written plan to the queue and follows it until its aggregation is done, reporting each
 * job's state as BullMQ holds it. Workers do the work; a failed job is retried (`retries`). It
 * stops with an error that names the failed jobs when some failed for good (unless
 * `allowPartial`), names a job that left Redis (a Redis restarted without persistence), and names
 * the stuck jobs when nothing moved for the stall timeout; the runs that finished are kept, and
 * running the same command again enqueues the plan anew, its finished runs skipped.
 */
export async function runQueue(plan: Plan, o: QueueOptions): Promise<PlanResult> {
  const onEvent = o.onEvent ?? ignoreEvents;
  const name = o.queue ?? DEFAULT_QUEUE;
  const ids = await enqueuePlan(plan, o);
  onEvent({
    type: 'note',
    message: `queue: added ${plan.jobs.length} jobs and their aggregation (${ids.aggregate}) to '${name}' on ${o.redis}; start workers with: lethe worker --redis ${o.redis}`,
  });
  const resume = o.resume ? `; resume with: ${o.resume}` : '';
  const { Job, Queue } = await bullmq();
  const queue = new Queue(name, { connection: connection(o.redis) });
  let redisError = '';
  // ioredis reconnects by itself; the follower only says why Redis does not answer.
  queue.on('error', (error) => (redisError = error.message));
  const watch = new Watch('queue', plan, onEvent, o);
  const poll = (o.pollSeconds ?? 0.5) * 1000;
  let states: EngineJobState[] = plan.jobs.map((j, i) => ({
    id: j.id,
    engineId: ids.jobs[i],
    state: 'waiting',
  }));
  try {
    for (;;) {
      const polled = await within(
        Promise.all([
          ...plan.jobs.map((j, i) => stateOf(Job, queue, ids.jobs[i], j.id)),
          stateOf(Job, queue, ids.aggregate, AGGREGATE),
          queue.getWorkersCount(),
        ]),
        10_000,
      );
      if (!polled) {
        watch.update(
          states,
          `Redis at ${o.redis} does not answer${redisError ? ` (${redisError})` : ''}`,
        );
        if (watch.stalled)
          throw watch.stallError(states, `Redis at ${o.redis} does not answer`, o.resume);
        continue;
      }
      redisError = '';
      const workers = polled.pop() as number;
      states = polled as EngineJobState[];
      const aggregate = states[states.length - 1];
      const jobs = states.slice(0, -1);
      const idle =
        workers === 0
          ? `no worker connected (start one: lethe worker --redis ${o.redis} --queue ${name})`
          : `${workers} worker(s)`;
      watch.update(states, idle);
      const missing = states.filter(
        (s, i) => s.state === 'missing' && (i === jobs.length || !isCompleteRun(plan.jobs[i].out)),
      );
      if (missing.length)
        throw new LetheError(
          'E_JOBS',
          `queue: ${missing.map(describeJob).join(', ')}: no longer in Redis at ${o.redis} (restarted without persistence, or removed); the ${
            planProgress(plan).done
          } runs that finished are kept${resume}`,
        );
      if (aggregate.state === 'completed') break;
      const running = jobs.some((s) => !['completed', 'failed'].includes(s.state));
      if (aggregate.state === 'failed' && !running) {
        const failed = jobs.filter((s) => s.state === 'failed');
        if (failed.length)
          throw new LetheError(
            'E_JOBS',
            `queue: ${failed.length} job(s) failed for good: ${failed
              .map(
                (s) =>
                  `${describeJob(s)} after ${s.attempt} attempt(s)${plan.jobs.find((j) => j.id === s.id)?.log ? ` (log: ${plan.jobs.find((j) => j.id === s.id)!.log})` : ''}`,
              )
              .join(
                '; ',
              )}. The aggregation did not run on partial results (add --allow-partial for that, or lethe compare --collect ${plan.dir}); the ${
              planProgress(plan).done
            } runs that finished are kept${resume}`,
          );
        throw new LetheError(
          'E_JOBS',
          `queue: the aggregation of ${plan.dir} failed: ${aggregate.reason ?? 'no reason given'} (log: ${join(plan.dir!, 'logs', 'collect.log')})${resume}`,
        );
      }
      if (watch.stalled) {
        // Its jobs are taken off the queue, so that resuming does not queue them twice; a job a
        // worker holds stays (and its run is kept).
        const removed = await within(
          queue.remove(ids.aggregate, { removeChildren: true }).catch(() => 0),
          5000,
        );
        throw watch.stallError(
          states,
          `${idle}; ${removed === 1 ? 'took its jobs off the queue' : 'a worker holds some of its jobs, left in the queue'}`,
          o.resume,
        );
      }
      await sleep(poll);
    }
  } finally {
    await queue.close();
  }
  return readResult(plan);
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
  const { Worker } = await bullmq();
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
        const written = resultFile(readPlan(dir));
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
  // Redis gone (restarted, say): ioredis reconnects by itself and the worker carries on; a job
  // whose lock lapsed meanwhile is put back by the stalled-job check and taken again.
  let lastError = '';
  worker.on('error', (error) => {
    if (error.message !== lastError)
      onEvent({ type: 'note', message: `worker: ${(lastError = error.message)}` });
  });
  await worker.waitUntilReady();
  onEvent({
    type: 'note',
    message: `worker: waiting for jobs on '${o.queue ?? DEFAULT_QUEUE}' at ${o.redis}`,
  });
  await (o.until ?? new Promise<void>(() => {}));
  await worker.close();
}

export const queueExecutor: Executor = {
  name: 'queue',
  description: 'lethe worker processes off --redis',
  options: {
    redis: {
      type: 'string',
      description: 'queue: the Redis URL, e.g. redis://host:6379',
      placeholder: 'url',
    },
    queue: {
      type: 'string',
      description: 'queue: the queue name',
      default: DEFAULT_QUEUE,
      placeholder: 'name',
    },
    ...FOLLOW_OPTIONS,
  },
  async run(plan, dir, { command, values, onEvent, resume }) {
    const redis = textValue(values, 'redis');
    if (!redis) throw new OptionError(`lethe ${command}: --executor queue needs --redis <url>`);
    const written = writePlan(planDir(plan, dir), plan);
    const queue = textValue(values, 'queue') ?? DEFAULT_QUEUE;
    const follow = followOptions(values, resume);
    return { result: await runQueue(written, { redis, queue, onEvent, ...follow }) };
  },
};
