/**
 * Following a plan on an engine (Slurm, a BullMQ queue): each job's state as the engine reports
 * it, how long since anything moved, and the bounds on waiting. The executors poll their engine
 * and hand each poll's states to a {@link Watch}; it emits an `engine` event when a state changed
 * and a periodic one while nothing does, and says when the comparison has stalled: no state
 * changed and no job wrote to its log or state file for the stall timeout.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../util/errors.js';
import type { EngineJobState, RunEventHandler } from '../events.js';
import { planProgress, type Plan } from '../plan.js';
import { numberValue, type ExecutorOption, type ExecutorValues } from './types.js';

/** Minutes without progress after which a follower stops waiting, unless told otherwise. */
export const DEFAULT_STALL_MINUTES = 60;
/** Times a failed or cancelled job is resubmitted, unless told otherwise. */
export const DEFAULT_RETRIES = 2;

/** The bounds every following executor shares. */
export interface FollowOptions {
  /** Stop waiting after this many minutes without progress (default {@link DEFAULT_STALL_MINUTES}). */
  stallMinutes?: number;
  /** Resubmit a failed or cancelled job up to this many times (default {@link DEFAULT_RETRIES}). */
  retries?: number;
  /** Aggregate the runs that finished although others failed for good (default: do not). */
  allowPartial?: boolean;
  /** The command that resumes the comparison, for the messages that stop it. */
  resume?: string;
  /** Seconds between the periodic lines while nothing changes (default 60). */
  reportSeconds?: number;
}

/** The options of the executors that follow an engine (`slurm --submit`, `queue`). */
export const FOLLOW_OPTIONS: Record<string, ExecutorOption> = {
  retries: {
    type: 'string',
    description: `slurm --submit, queue: run a job that failed or was cancelled again up to this many times (default ${DEFAULT_RETRIES})`,
    value: 'integer',
    min: 0,
    placeholder: 'n',
  },
  'allow-partial': {
    type: 'boolean',
    description:
      'slurm --submit, queue: when jobs failed for good, aggregate the runs that finished (default: stop, naming the failed jobs)',
  },
  'stall-timeout': {
    type: 'string',
    description: `slurm --submit, queue: stop waiting when no job changed state or wrote to its log for this many minutes (default ${DEFAULT_STALL_MINUTES}); rerunning the command resumes`,
    value: 'number',
    above: 0,
    placeholder: 'minutes',
  },
};

/** The bounds on following from {@link FOLLOW_OPTIONS}' values, and how to resume. */
export function followOptions(values: ExecutorValues, resume: string): FollowOptions {
  const retries = numberValue(values, 'retries');
  const stallMinutes = numberValue(values, 'stall-timeout');
  return {
    ...(retries !== undefined ? { retries } : {}),
    ...(stallMinutes !== undefined ? { stallMinutes } : {}),
    allowPartial: values['allow-partial'] === true,
    resume,
  };
}

/** The newest modification time of the plan's job logs and state files: a job at work writes them. */
function activity(plan: Plan): number {
  let newest = 0;
  for (const sub of ['logs', 'jobs']) {
    const dir = join(plan.dir!, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      try {
        newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
      } catch {
        // Replaced while we looked: the next poll sees it.
      }
    }
  }
  return newest;
}

const key = (j: EngineJobState): string => `${j.state}|${j.reason ?? ''}|${j.engineId ?? ''}`;

export class Watch {
  private readonly states = new Map<string, string>();
  private lastMove = Date.now();
  private lastActivity = 0;
  private lastReport = 0;
  private lastExtra: string | undefined;
  readonly stallMs: number;
  private readonly reportMs: number;

  constructor(
    private readonly engine: 'slurm' | 'queue',
    private readonly plan: Plan,
    private readonly onEvent: RunEventHandler,
    options: FollowOptions,
  ) {
    this.stallMs = (options.stallMinutes ?? DEFAULT_STALL_MINUTES) * 60_000;
    this.reportMs = (options.reportSeconds ?? 60) * 1000;
    this.lastActivity = activity(plan);
  }

  /** Seconds since a state changed or a job wrote anything. */
  get idleSeconds(): number {
    return (Date.now() - this.lastMove) / 1000;
  }

  /** Takes one poll's states (`extra`: what else the user should see, a node's state say). */
  update(jobs: EngineJobState[], extra?: string): void {
    const now = Date.now();
    const changed = jobs.filter((j) => this.states.get(j.id) !== key(j));
    for (const j of jobs) this.states.set(j.id, key(j));
    const wrote = activity(this.plan);
    if (changed.length || wrote > this.lastActivity) this.lastMove = now;
    this.lastActivity = Math.max(this.lastActivity, wrote);
    // A new word on the engine (a node down, Redis gone) is said at once, but is not progress.
    const news = extra !== this.lastExtra;
    this.lastExtra = extra;
    if (!changed.length && !news && now - this.lastReport < this.reportMs) return;
    this.lastReport = now;
    const { done, total } = planProgress(this.plan);
    this.onEvent({
      type: 'engine',
      engine: this.engine,
      jobs,
      changed,
      done,
      total,
      idleSeconds: Math.round(this.idleSeconds),
      ...(extra ? { extra } : {}),
    });
  }

  /** Whether nothing moved for the stall timeout. */
  get stalled(): boolean {
    return Date.now() - this.lastMove > this.stallMs;
  }

  /** The error that stops waiting on a stalled comparison: what is stuck, and how to resume. */
  stallError(jobs: EngineJobState[], what: string, resume?: string): LetheError {
    const stuck = jobs.filter((j) => !['COMPLETED', 'completed', 'done'].includes(j.state));
    const minutes = this.stallMs / 60_000;
    const { done, total } = planProgress(this.plan);
    return new LetheError(
      'E_STALLED',
      `${this.engine}: nothing moved for ${+minutes.toFixed(2)} min (--stall-timeout ${+minutes.toFixed(2)}); stuck: ${
        stuck.map(describeJob).join(', ') || 'nothing'
      }${what ? `; ${what}` : ''}. Stopped waiting; the ${done} of ${total} runs that finished are kept${
        resume ? `; resume with: ${resume}` : ''
      }`,
    );
  }
}

/** `finetune/seed-1 [15_4] PENDING (Resources)`. */
export function describeJob(j: EngineJobState): string {
  return `${j.id}${j.engineId ? ` [${j.engineId}]` : ''} ${j.state}${j.reason ? ` (${j.reason})` : ''}`;
}
