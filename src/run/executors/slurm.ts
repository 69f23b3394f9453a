/**
 * The `slurm` executor: a plan's jobs as one `sbatch` array (index = job), and the aggregation as
 * a job that starts after the whole array succeeded (`--dependency=afterok`). With `submit`, both
 * are submitted and followed to the end, progress read from the run directories. Run directories,
 * the plan and Lethe itself must be on storage every node sees, at the same paths.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LetheError } from '../../util/errors.js';
import { ignoreEvents, type RunEventHandler } from '../events.js';
import type { Comparison } from '../metrics.js';
import { collect } from '../compare.js';
import { planProgress, type Plan } from '../plan.js';
import { letheCommand, shellQuote } from './command.js';

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
 * Submits a written plan to Slurm and follows it to the end, reporting progress from the run
 * directories. When a job of the array failed, the aggregation (which waits for all of them to
 * succeed) never starts; the comparison is then collected here, failures included.
 */
export async function runSlurm(plan: Plan, o: SlurmOptions = {}): Promise<Comparison> {
  const onEvent = o.onEvent ?? ignoreEvents;
  const submitted = Date.now();
  const ids = submitSlurm(writeSlurmScripts(plan, o));
  onEvent({
    type: 'note',
    message: `slurm: submitted array ${ids.array} (${plan.jobs.length} jobs) and aggregation ${ids.aggregate}`,
  });
  let last = '';
  for (;;) {
    const queued = slurm('squeue', ['-h', '-j', `${ids.array},${ids.aggregate}`, '-o', '%i %T %r']);
    const { done, total, failed } = planProgress(plan);
    const line = `slurm: ${done}/${total} runs finished${failed.length ? `, ${failed.length} failed` : ''}`;
    if (line !== last) onEvent({ type: 'note', message: (last = line) });
    const rows = queued ? queued.split('\n') : [];
    const arrayLeft = rows.some(
      (r) => r.startsWith(`${ids.array}_`) || r.startsWith(`${ids.array} `),
    );
    const waiting = rows.find((r) => r.startsWith(`${ids.aggregate} `));
    if (!arrayLeft && waiting?.includes('DependencyNeverSatisfied')) {
      slurm('scancel', [ids.aggregate]);
      break;
    }
    if (rows.length === 0) break;
    await sleep((o.pollSeconds ?? 2) * 1000);
  }
  // When every job succeeded the aggregation job wrote the comparison; otherwise it never ran
  // (afterok) and the comparison, failures included, is collected here.
  const written = join(plan.out, 'comparison.json');
  if (
    planProgress(plan).done === plan.jobs.length &&
    existsSync(written) &&
    statSync(written).mtimeMs >= submitted
  )
    return JSON.parse(readFileSync(written, 'utf8')) as Comparison;
  return collect(plan, { onEvent });
}
