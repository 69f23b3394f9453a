/**
 * The `slurm` executor: a plan's jobs as one `sbatch` array (index = job), and the aggregation as
 * a job after them. The written scripts chain the aggregation with `--dependency=afterok`;
 * {@link runSlurm} (`--submit`) follows the array itself: each task's state from `squeue` and
 * `scontrol`, failed or cancelled tasks resubmitted, the aggregation submitted once every run
 * finished, and the bounds of {@link Watch}. Run directories, the plan and Lethe itself must be on
 * storage every node sees, at the same paths.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LetheError } from '../../util/errors.js';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import { collectPlan, readResult, resultFile, type PlanResult } from '../plan-result.js';
import type { EngineJobState } from '../events.js';
import { planProgress, readStatus, writePlan, type Plan } from '../plan.js';
import { RUN_FILES } from '../rundir.js';
import { letheCommand, shellQuote } from './command.js';
import { numberValue, planDir, textValue, type Executor } from './types.js';
import {
  DEFAULT_RETRIES,
  describeJob,
  FOLLOW_OPTIONS,
  followOptions,
  Watch,
  type FollowOptions,
} from './watch.js';

export interface SlurmOptions {
  partition?: string;
  /** GPUs per job (`--gres=gpu:<n>`). */
  gpus?: number;
  /** CPUs per job; the job's libtorch threads. */
  cpus?: number;
  /** Memory per job, as Slurm writes it (`8G`). */
  mem?: string;
  /** Time limit per job, as Slurm writes it (`2:00:00`). */
  time?: string;
  /** At most this many array jobs at once (`%`). */
  throttle?: number;
  /** How often to look while following (default 2 s). */
  pollSeconds?: number;
  onEvent?: RunEventHandler;
}

export interface SlurmScripts {
  array: string;
  aggregate: string;
}

function header(name: string, o: SlurmOptions, log: string): string[] {
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --output=${log}`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.gpus ? [`#SBATCH --gres=gpu:${o.gpus}`] : []),
    `#SBATCH --cpus-per-task=${o.cpus ?? 1}`,
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
  ];
}

/**
 * Writes `slurm-array.sh` and `slurm-aggregate.sh` into the plan's directory. Jobs start in this
 * process's directory, so relative paths (a data set's, say) mean what they mean here.
 */
export function writeSlurmScripts(plan: Plan, o: SlurmOptions = {}): SlurmScripts {
  const dir = plan.dir!;
  const lethe = letheCommand().map(shellQuote).join(' ');
  const last = plan.jobs.length - 1;
  const array = [
    ...header('lethe-job', o, join(dir, 'logs', 'job-%a.log')),
    `#SBATCH --array=0-${last}${o.throttle ? `%${o.throttle}` : ''}`,
    `cd ${shellQuote(process.cwd())}`,
    `exec ${lethe} job ${shellQuote(dir)} --threads ${o.cpus ?? 1}`,
    '',
  ].join('\n');
  const aggregate = [
    ...header('lethe-collect', { ...o, gpus: undefined }, join(dir, 'logs', 'collect.log')),
    `cd ${shellQuote(process.cwd())}`,
    `exec ${lethe} compare --collect ${shellQuote(dir)}`,
    '',
  ].join('\n');
  const paths = { array: join(dir, 'slurm-array.sh'), aggregate: join(dir, 'slurm-aggregate.sh') };
  writeFileAtomic(paths.array, array);
  writeFileAtomic(paths.aggregate, aggregate);
  chmodSync(paths.array, 0o755);
  chmodSync(paths.aggregate, 0o755);
  return paths;
}

function slurm(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new LetheError(
      'E_SLURM',
      `${command} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`,
    );
  }
}

/** Submits the array and the aggregation after it; returns their job ids. */
export function submitSlurm(scripts: SlurmScripts): { array: string; aggregate: string } {
  const array = slurm('sbatch', ['--parsable', scripts.array]).split(';')[0];
  const aggregate = slurm('sbatch', [
    '--parsable',
    `--dependency=afterok:${array}`,
    '--kill-on-invalid-dep=yes',
    scripts.aggregate,
  ]).split(';')[0];
  return { array, aggregate };
}

/**
 * PENDING reasons that mean the job can never start as it stands: the partition, the account or
 * QOS, the job's size or limits, a dependency that failed, or the nodes it needs are unavailable.
 */
const NEVER_RUNS =
  /^(ReqNodeNotAvail|PartitionDown|PartitionInactive|PartitionNodeLimit|PartitionTimeLimit|PartitionConfig|InvalidAccount|InvalidQOS|AccountNotAllowed|QOSNotAllowed|BadConstraints|DependencyNeverSatisfied)/;
/** Node state flags under which a node takes no new job. */
const UNUSABLE_NODE = /DOWN|DRAIN|FAIL|FUTURE|INVAL|POWER(ED)?_DOWN|REBOOT_ISSUED|MAINT/;

/** `key=value` fields of one `scontrol show … -o` line (a value may hold spaces only at the end). */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) out[m[1]] ??= m[2];
  const reason = /\bReason=(.*?)(?=\s+\w+=|$)/.exec(line);
  if (reason) out.Reason = reason[1];
  return out;
}

interface QueuedJob {
  state: string;
  reason: string;
  partition: string;
}

/** This user's jobs in Slurm's queue, by id (`15_4` for an array task, `16`). */
function squeue(): Map<string, QueuedJob> {
  const rows = slurm('squeue', ['-h', '-r', '-u', userInfo().username, '-o', '%i|%T|%r|%P']);
  const jobs = new Map<string, QueuedJob>();
  for (const row of rows ? rows.split('\n') : []) {
    const [id, state, reason, partition] = row.split('|');
    jobs.set(id, { state, reason, partition });
  }
  return jobs;
}

/** How the tasks of an array ended, by task, while Slurm keeps them (MinJobAge). */
function endedTasks(array: string): Map<number, { state: string; exit: string; reason: string }> {
  const tasks = new Map<number, { state: string; exit: string; reason: string }>();
  let text = '';
  try {
    text = slurm('scontrol', ['show', 'job', '-o', array]);
  } catch {
    return tasks; // gone from Slurm's memory
  }
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.ArrayTaskId && /^\d+$/.test(f.ArrayTaskId))
      tasks.set(Number(f.ArrayTaskId), {
        state: f.JobState ?? 'UNKNOWN',
        exit: f.ExitCode ?? '',
        reason: f.Reason ?? 'None',
      });
  }
  return tasks;
}

interface SlurmNode {
  name: string;
  state: string;
  reason: string;
  partitions: string[];
}

function slurmNodes(): SlurmNode[] {
  let text = '';
  try {
    text = slurm('scontrol', ['show', 'node', '-o']);
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = fields(line);
      return {
        name: f.NodeName ?? '?',
        state: f.State ?? '?',
        reason: f.Reason && f.Reason !== '(null)' ? f.Reason : '',
        partitions: (f.Partitions ?? '').split(',').filter(Boolean),
      };
    });
}

const describeNode = (n: SlurmNode): string =>
  `node ${n.name} ${n.state}${n.reason ? ` (reason: ${n.reason})` : ''}`;

/**
 * Why a PENDING job can never start as the cluster stands, or null: a reason that says so, or no
 * node of its partition that takes jobs.
 */
function neverRuns(job: QueuedJob, nodes: SlurmNode[]): string | null {
  const mine = nodes.filter((n) => n.partitions.includes(job.partition));
  const down = mine.length > 0 && mine.every((n) => UNUSABLE_NODE.test(n.state));
  if (!down && !NEVER_RUNS.test(job.reason)) return null;
  const states = mine.length ? `; ${mine.map(describeNode).join(', ')}` : '';
  return `PENDING (${job.reason}) in partition ${job.partition}${states}`;
}

/**
 * Submits a written plan to Slurm as an array of its unfinished jobs and follows it, reporting
 * each job's state as Slurm gives it. A job that failed or was cancelled is resubmitted (up to
 * `retries` times); once every job finished, the aggregation is submitted and followed. It stops
 * with an error that names the job and the node's state when a job can never start, names the
 * stuck jobs when nothing moved for the stall timeout (cancelling what it submitted), and names
 * the failed jobs when some failed for good: the aggregation then runs only with `allowPartial`
 * (here, failures included). The runs that finished are kept: running the same command again
 * submits only the others.
 */
export async function runSlurm(
  plan: Plan,
  o: SlurmOptions & FollowOptions = {},
): Promise<PlanResult> {
  const onEvent = o.onEvent ?? ignoreEvents;
  const retries = o.retries ?? DEFAULT_RETRIES;
  const poll = (o.pollSeconds ?? 2) * 1000;
  const scripts = writeSlurmScripts(plan, o);
  const watch = new Watch('slurm', plan, onEvent, o);
  const resume = o.resume ? `; resume with: ${o.resume}` : '';
  const finished = (i: number): boolean => existsSync(join(plan.jobs[i].out, RUN_FILES.manifest));
  const tasks = new Map<number, { array: string; attempt: number }>();
  const live = new Set<string>();
  /** Submits `indices` as an array: each one's next attempt. */
  const submit = (indices: number[]): string => {
    const throttle = o.throttle ? `%${o.throttle}` : '';
    const id = slurm('sbatch', [
      '--parsable',
      `--array=${indices.join(',')}${throttle}`,
      scripts.array,
    ]).split(';')[0];
    for (const i of indices) tasks.set(i, { array: id, attempt: (tasks.get(i)?.attempt ?? 0) + 1 });
    live.add(id);
    return id;
  };
  /** Cancels what is still submitted; says so, or ''. */
  const cancelled = (): string => {
    if (live.size === 0) return '';
    try {
      slurm('scancel', [...live]);
    } catch {
      // Already gone.
    }
    return `cancelled what it submitted (scancel ${[...live].join(' ')})`;
  };
  const todo = plan.jobs.map((_, i) => i).filter((i) => !finished(i));
  if (todo.length) {
    const id = submit(todo);
    onEvent({
      type: 'note',
      message: `slurm: submitted array ${id} (${todo.length} jobs${
        todo.length < plan.jobs.length ? `; ${plan.jobs.length - todo.length} finished already` : ''
      }); the aggregation follows once they all finished`,
    });
  }
  /** Jobs that ended without their run, for good: their state as Slurm and the job said it. */
  const lost = new Map<number, EngineJobState>();
  let aggregate: string | null = null;
  let aggregateSubmitted = 0;
  let states: EngineJobState[] = [];
  for (;;) {
    let queued: Map<string, QueuedJob>;
    try {
      queued = squeue();
    } catch (error) {
      // slurmctld restarting, say: this counts as nothing moving, up to the stall timeout.
      const why = (error as Error).message;
      watch.update(states, why);
      if (watch.stalled) throw watch.stallError(states, why, o.resume);
      await sleep(poll);
      continue;
    }
    const nodes = slurmNodes();
    states = [];
    const ended: number[] = [];
    const ends = new Map<string, ReturnType<typeof endedTasks>>();
    const never = (id: string, engineId: string, job: QueuedJob): void => {
      const why = neverRuns(job, nodes);
      if (!why) return;
      const c = cancelled();
      throw new LetheError(
        'E_SLURM',
        `slurm: ${id} [${engineId}] can never start: ${why}.${c ? ` C${c.slice(1)}.` : ''} The ${
          planProgress(plan).done
        } runs that finished are kept; make the nodes take jobs (scontrol update nodename=<node> state=resume, once slurmd runs) or fix the option${resume}`,
      );
    };
    for (const [i, t] of tasks) {
      const job = plan.jobs[i];
      const engineId = `${t.array}_${i}`;
      const base = { id: job.id, engineId, attempt: t.attempt };
      const row = queued.get(engineId);
      if (row) {
        states.push({
          ...base,
          state: row.state,
          ...(row.reason !== 'None' ? { reason: row.reason } : {}),
        });
        if (row.state === 'PENDING') never(job.id, engineId, row);
      } else if (finished(i)) states.push({ ...base, state: 'COMPLETED' });
      else if (lost.has(i)) states.push(lost.get(i)!);
      else {
        if (!ends.has(t.array)) ends.set(t.array, endedTasks(t.array));
        const end = ends.get(t.array)!.get(i);
        const status = readStatus(plan, i);
        const error = status?.state === 'failed' ? status.error : undefined;
        const state = end?.state ?? (status?.state === 'failed' ? 'FAILED' : 'ENDED');
        const reason =
          [end?.exit && end.exit !== '0:0' ? `exit ${end.exit}` : '', error ?? '']
            .filter(Boolean)
            .join(': ') || undefined;
        // A task that Slurm still lists as finishing, or that exited 0 a moment before its run
        // directory shows it, is looked at again on the next poll.
        if (state === 'COMPLETING' || state === 'COMPLETED') {
          states.push({ ...base, state });
          continue;
        }
        const s: EngineJobState = { ...base, state, ...(reason ? { reason } : {}) };
        states.push(s);
        if (t.attempt <= retries) ended.push(i);
        else lost.set(i, s);
      }
    }
    if (ended.length) {
      const id = submit(ended);
      onEvent({
        type: 'note',
        message: `slurm: resubmitted ${ended
          .map((k) => `${plan.jobs[k].id} (retry ${tasks.get(k)!.attempt - 1} of ${retries})`)
          .join(', ')} as array ${id}`,
      });
    }
    if (aggregate) {
      const row = queued.get(aggregate);
      states.push({
        id: 'aggregate',
        engineId: aggregate,
        state: row?.state ?? 'ENDED',
        ...(row && row.reason !== 'None' ? { reason: row.reason } : {}),
      });
      if (row?.state === 'PENDING') never('the aggregation', aggregate, row);
    }
    const odd = nodes.filter((n) => !/^(IDLE|MIXED|ALLOCATED|COMPLETING)$/.test(n.state));
    watch.update(states, odd.map(describeNode).join(', ') || undefined);
    const settled = [...tasks.keys()].every((i) => finished(i) || lost.has(i));
    if (aggregate ? !queued.has(aggregate) : settled) {
      if (aggregate) break;
      if (lost.size) {
        const list = [...lost.values()]
          .map((s) => `${describeJob(s)} after ${s.attempt} attempt(s)${logOf(plan, s.id)}`)
          .join('; ');
        if (o.allowPartial) {
          onEvent({
            type: 'note',
            message: `slurm: failed for good: ${list}; aggregating the rest (--allow-partial)`,
          });
          return collectPlan(plan, { onEvent });
        }
        throw new LetheError(
          'E_JOBS',
          `slurm: ${lost.size} job(s) failed for good: ${list}. The aggregation did not run on partial results (add --allow-partial for that, or lethe compare --collect ${plan.dir}); the ${
            planProgress(plan).done
          } runs that finished are kept${resume}`,
        );
      }
      live.clear();
      aggregateSubmitted = Date.now();
      aggregate = slurm('sbatch', ['--parsable', scripts.aggregate]).split(';')[0];
      live.add(aggregate);
      onEvent({
        type: 'note',
        message: `slurm: every run finished; submitted the aggregation ${aggregate}`,
      });
      continue;
    }
    if (watch.stalled)
      throw watch.stallError(
        states,
        [...odd.map(describeNode), cancelled()].filter(Boolean).join('; '),
        o.resume,
      );
    await sleep(poll);
  }
  const written = resultFile(plan);
  if (existsSync(written) && statSync(written).mtimeMs >= aggregateSubmitted)
    return readResult(plan);
  throw new LetheError(
    'E_JOBS',
    `slurm: the aggregation ${aggregate} ended without writing ${written} (log: ${join(plan.dir!, 'logs', 'collect.log')})${resume}`,
  );
}

function logOf(plan: Plan, id: string): string {
  const job = plan.jobs.find((j) => j.id === id);
  return job?.log ? ` (log: ${job.log})` : '';
}

export const slurmExecutor: Executor = {
  name: 'slurm',
  description: 'an sbatch array',
  options: {
    partition: { type: 'string', description: 'slurm: partition', placeholder: 'name' },
    gpus: {
      type: 'string',
      description: 'slurm: GPUs per job',
      value: 'integer',
      min: 0,
      placeholder: 'n',
    },
    cpus: {
      type: 'string',
      description: 'slurm: CPUs per job (its libtorch threads)',
      value: 'integer',
      min: 1,
      placeholder: 'n',
    },
    mem: { type: 'string', description: 'slurm: memory per job, e.g. 8G', placeholder: 'size' },
    time: {
      type: 'string',
      description: 'slurm: time limit per job, e.g. 2:00:00',
      placeholder: 'limit',
    },
    throttle: {
      type: 'string',
      description: "slurm: at most this many jobs at once (the array's %)",
      value: 'integer',
      min: 1,
      placeholder: 'n',
    },
    submit: {
      type: 'boolean',
      description:
        'slurm: submit the array and the aggregation and follow them to the end (default: write the scripts and say how to submit them)',
    },
    ...FOLLOW_OPTIONS,
  },
  async run(plan, dir, { command, values, onEvent, resume }) {
    const written = writePlan(planDir(plan, dir), plan);
    const o: SlurmOptions = { onEvent };
    for (const name of ['partition', 'mem', 'time'] as const) {
      const v = textValue(values, name);
      if (v) o[name] = v;
    }
    for (const name of ['gpus', 'cpus', 'throttle'] as const) {
      const v = numberValue(values, name);
      if (v !== undefined) o[name] = v;
    }
    if (values.submit === true)
      return { result: await runSlurm(written, { ...o, ...followOptions(values, resume) }) };
    const scripts = writeSlurmScripts(written, o);
    return {
      written,
      next: [
        `plan: ${join(written.dir!, 'plan.json')} (${written.jobs.length} jobs)`,
        'submit with:',
        `  id=$(sbatch --parsable ${scripts.array})`,
        `  sbatch --dependency=afterok:$id --kill-on-invalid-dep=yes ${scripts.aggregate}`,
        `(or add --submit to submit and follow them; if a job fails, lethe ${command} --collect ${written.dir})`,
      ].join('\n'),
    };
  },
};
