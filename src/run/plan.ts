/**
 * A comparison as a plan of jobs: every run is a job (id, {@link RunSpec}, run directory, what it
 * needs), written to `plan.json` so that any process on any machine that sees the same file
 * system can run one ({@link runJob}). The serial path, the local processes, a Slurm array and a
 * Redis queue all execute this same plan; {@link collect} then evaluates the finished runs into
 * the comparison files.
 *
 *   <plan>/plan.json          the plan
 *   <plan>/jobs/<index>.json  each job's state: running, done, failed (with its error)
 *   <plan>/logs/job-<index>.log  each job's output, where an executor captured it
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readSplit, writeSplit } from '../data/split.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileFormatError, OptionError } from '../util/errors.js';
import { parseStrictJson } from '../util/json.js';
import { ignoreEvents, type RunEventHandler } from './events.js';
import { withLock } from './lock.js';
import type { JobFailure } from '../records/metrics.js';
import { isCompleteRun, readConfig, RUN_FILES } from './rundir.js';
import { drawSplit, getData, specIdentity, unlearnRun } from './runs.js';
import { ensureOriginal } from './cache.js';
import { identityDifferences, runIdentity } from './identity.js';
import { checkRunSpec, type RunSpec, type TrainSpec, type UnlearnSpec } from './spec.js';

export const PLAN_FILE = 'plan.json';
const PLAN_FORMAT = 'lethe-plan/1';

/**
 * What jobs share: the original they start from and the split they unlearn, drawn once from a
 * forget spec and seed into `<out>/split.json`. A comparison has one (the plan's own fields); an
 * audit has one per shadow model.
 */
export interface PlanUnit {
  /** The directory holding `split.json` (absolute). */
  out: string;
  /** The original's run directory (absolute). */
  original: string;
  forget: string;
  /** The seed the split is drawn from. */
  seed: number;
}

/** One run of a plan. */
export interface PlanJob {
  /** `original`, `retrain/seed-0`, `srfl/seed-1`: the run directory under the comparison. */
  id: string;
  /** How progress names it: `srfl (seed 1)`. */
  label: string;
  spec: RunSpec;
  /** The run directory (absolute). */
  out: string;
  /** Ids of the jobs whose results this one uses. */
  needs: string[];
  /** Where an executor writes the job's output. */
  log?: string;
  /** The original and split this job uses, where they are not the plan's own (an audit's shadows). */
  unit?: PlanUnit;
}

export interface Plan {
  /** What the plan's aggregation makes: a comparison (default) or a membership audit. */
  kind?: 'comparison' | 'audit';
  /** The comparison directory (absolute). */
  out: string;
  forget: string;
  /** The base seed: the comparison's one split is drawn from it. */
  seed: number;
  seeds: number[];
  /** Unlearning methods, without the oracle. */
  methods: string[];
  device: string;
  /** The original's run directory (absolute); the `original` job trains it when there is one. */
  original: string;
  jobs: PlanJob[];
  /** The aggregation runs after every job: evaluation and the comparison files. */
  aggregate: { needs: string[] };
  /** An audit's settings, read by its aggregation (src/run/audit.ts). */
  audit?: Record<string, unknown>;
  /** Where plan.json is (not stored in it). */
  dir?: string;
}

/** What a job came to. */
export interface JobStatus {
  state: 'running' | 'done' | 'skipped' | 'failed';
  host: string;
  pid: number;
  at: string;
  error?: string;
  log?: string;
}

/** Writes `plan.json` into `dir`, and each job's log path under `dir/logs`. Returns the plan as written. */
export function writePlan(dir: string, plan: Plan): Plan {
  const abs = resolve(dir);
  mkdirSync(join(abs, 'logs'), { recursive: true });
  mkdirSync(join(abs, 'jobs'), { recursive: true });
  const jobs = plan.jobs.map((j, i) => ({ ...j, log: join(abs, 'logs', `job-${i}.log`) }));
  const { dir: _, ...stored } = { ...plan, jobs };
  writeFileAtomic(
    join(abs, PLAN_FILE),
    `${JSON.stringify({ format: PLAN_FORMAT, ...stored }, null, 2)}\n`,
  );
  return { ...stored, dir: abs };
}

/** Reads and checks `dir/plan.json`: every job's spec as the CLI would check it. */
export function readPlan(dir: string): Plan {
  const path = join(dir, PLAN_FILE);
  if (!existsSync(path))
    throw new OptionError(`${path} does not exist; write one with lethe compare … --plan ${dir}`);
  let raw: Record<string, unknown>;
  try {
    raw = parseStrictJson(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new FileFormatError(path, `is not valid JSON: ${(error as Error).message}`);
  }
  if (raw?.format !== PLAN_FORMAT)
    throw new FileFormatError(path, `expected format '${PLAN_FORMAT}'`);
  if (!Array.isArray(raw.jobs)) throw new FileFormatError(path, 'has no jobs');
  const jobs = (raw.jobs as Record<string, unknown>[]).map((j, i) => {
    if (typeof j?.id !== 'string' || typeof j.out !== 'string')
      throw new FileFormatError(path, `jobs[${i}] needs an id and an out`);
    return {
      ...(j as unknown as PlanJob),
      spec: checkRunSpec(j.spec, `${path}: jobs[${i}].spec`),
    };
  });
  return { ...(raw as unknown as Plan), jobs, dir: resolve(dir) };
}

function statusPath(plan: Plan, index: number): string | null {
  return plan.dir ? join(plan.dir, 'jobs', `${index}.json`) : null;
}

function writeStatus(
  plan: Plan,
  index: number,
  status: Omit<JobStatus, 'host' | 'pid' | 'at'>,
): void {
  const path = statusPath(plan, index);
  if (!path) return;
  const full: JobStatus = {
    ...status,
    host: hostname(),
    pid: process.pid,
    at: new Date().toISOString(),
    ...(plan.jobs[index].log ? { log: plan.jobs[index].log } : {}),
  };
  writeFileAtomic(path, `${JSON.stringify(full, null, 2)}\n`);
}

/** A job's last recorded state, or null when it never started. */
export function readStatus(plan: Plan, index: number): JobStatus | null {
  const path = statusPath(plan, index);
  if (!path || !existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JobStatus;
  } catch {
    return null;
  }
}

/**
 * How far a plan is, from its run directories and job states. A run counts as finished once its
 * run.json is committed; this only looks, because verifying a run directory also finishes an
 * interrupted commit, and doing that while another process commits (the aggregation rewriting
 * an oracle's metrics, say) would race with it.
 */
export function planProgress(plan: Plan): { total: number; done: number; failed: JobFailure[] } {
  let done = 0;
  const failed: JobFailure[] = [];
  plan.jobs.forEach((job, i) => {
    if (existsSync(join(job.out, RUN_FILES.manifest))) done++;
    else {
      const s = readStatus(plan, i);
      if (s?.state === 'failed')
        failed.push({ job: job.id, error: s.error ?? 'failed', ...(s.log ? { log: s.log } : {}) });
    }
  });
  return { total: plan.jobs.length, done, failed };
}

/**
 * Throws unless the finished run in `dir` is the one `spec` would make now (the same
 * {@link RunIdentity}: method, forget set, seed, resolved options, precision, memory format,
 * device kind, original, Lethe's code and libtorch). A run made with other options (a 1-epoch
 * baseline, say) or by other code must not slip into a table that claims the defaults of this
 * Lethe; an original that differs is refused rather than trained again, since a plan's runs all
 * start from it. An unlearning run whose original is not finished yet is not checked.
 */
export async function checkReusable(dir: string, spec: RunSpec): Promise<void> {
  if (spec.kind === 'unlearn' && !isCompleteRun(spec.from)) return;
  const diff = identityDifferences(runIdentity(dir), await specIdentity(spec));
  if (diff.length === 0) return;
  throw new OptionError(
    spec.kind === 'train'
      ? `${dir} is a finished original made with ${diff.join(', ')}; remove the comparison's directory or choose another --out`
      : `${dir} is a finished run with ${diff.join(', ')}; remove it or choose another --out`,
  );
}

/** The original and split `job` uses: its own unit (an audit's shadow) or the plan's. */
export function unitOf(plan: Plan, job: PlanJob): PlanUnit {
  return (
    job.unit ?? { out: plan.out, original: plan.original, forget: plan.forget, seed: plan.seed }
  );
}

/**
 * Ensures what the jobs of a unit share: the original (trained by the one job that gets the lock
 * first; the others wait for it) and the unit's one split, drawn from its seed. Returns whether
 * this call made the original (trained it, or copied it from the cache).
 */
async function prepare(
  plan: Plan,
  unit: PlanUnit,
  onEvent: RunEventHandler,
  threads?: number,
): Promise<boolean> {
  const originalJob = plan.jobs.find(
    (j) => j.spec.kind === 'train' && resolve(j.out) === resolve(unit.original),
  );
  const splitMade = (): boolean => {
    if (!existsSync(join(unit.out, 'split.json'))) return false;
    const split = readSplit(unit.out);
    if (split.forgetSpec !== unit.forget || split.seed !== unit.seed)
      throw new OptionError(
        `${unit.out} holds a split of forget ${split.forgetSpec} (seed ${split.seed}); use another --out`,
      );
    return true;
  };
  // Even the check that both are there is made under the lock: verifying the original while its
  // trainer commits it would race with that commit.
  mkdirSync(unit.out, { recursive: true });
  return withLock(
    join(unit.out, '.prepare.lock'),
    async (touch) => {
      if (originalJob && isCompleteRun(originalJob.out))
        await checkReusable(originalJob.out, originalJob.spec);
      if (isCompleteRun(unit.original) && splitMade()) return false;
      const made = !isCompleteRun(unit.original);
      if (originalJob)
        // The executor's thread share holds for the original too: two processes each training
        // with every core would oversubscribe the machine (measured: 4× slower steps).
        await ensureOriginal(
          {
            ...(originalJob.spec as TrainSpec),
            ...(threads !== undefined ? { threads } : {}),
          },
          originalJob.out,
          {
            label: originalJob.label,
            // An original cut short continues from its last finished epoch.
            resume: 'if-present',
            onEvent: (e) => (touch(), onEvent(e)),
          },
        );
      else if (!isCompleteRun(unit.original))
        throw new OptionError(`${unit.original}: not a finished Lethe run directory`);
      if (!splitMade()) {
        const data = await getData(readConfig(unit.original).data);
        writeSplit(unit.out, drawSplit(data, unit.forget, unit.seed));
      }
      return made;
    },
    (holder) =>
      onEvent({ type: 'note', message: `waiting for the original and split (held by ${holder})` }),
  );
}

/** How a job is run. */
export interface JobOptions {
  onEvent?: RunEventHandler;
  /** libtorch threads for this job, over the spec's (an executor divides a machine's cores). */
  threads?: number;
}

/**
 * Runs job `index` of `plan`: the shared original and split first (built once, under a lock),
 * then its run, continued from its checkpoint when an earlier attempt was cut short. A job whose
 * run directory is already complete is skipped. Its state goes to `<plan>/jobs/<index>.json`.
 */
export async function runJob(
  plan: Plan,
  index: number,
  options: JobOptions = {},
): Promise<JobStatus['state']> {
  const job = plan.jobs[index];
  if (!Number.isInteger(index) || !job)
    throw new OptionError(`job index ${index}: the plan has jobs 0..${plan.jobs.length - 1}`);
  const onEvent = options.onEvent ?? ignoreEvents;
  const report = (state: JobStatus['state'], error?: string): void => {
    writeStatus(plan, index, { state, ...(error !== undefined ? { error } : {}) });
    onEvent({ type: 'job', id: job.id, state, ...(error !== undefined ? { error } : {}) });
  };
  report('running');
  try {
    // Whether the run was there already is decided under the locks its writer holds.
    let skipped = !(await prepare(plan, unitOf(plan, job), onEvent, options.threads));
    if (job.spec.kind === 'unlearn') {
      const spec: UnlearnSpec = {
        ...job.spec,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      };
      await withLock(
        `${job.out}.lock`,
        async (touch) => {
          skipped = isCompleteRun(job.out);
          if (skipped) return checkReusable(job.out, spec);
          onEvent({ type: 'run', label: job.label, out: job.out });
          await unlearnRun(spec, job.out, {
            label: job.label,
            // An interrupted run continues from its last finished epoch.
            resume: 'if-present',
            onEvent: (e) => (touch(), onEvent(e)),
          });
        },
        (holder) => onEvent({ type: 'note', message: `${job.id}: waiting for ${holder}` }),
      );
    }
    report(skipped ? 'skipped' : 'done');
    return skipped ? 'skipped' : 'done';
  } catch (error) {
    report('failed', (error as Error).message);
    throw error;
  }
}

/** The error a failed job recorded, or why an unfinished one is not done. */
export function failureOf(plan: Plan, index: number): JobFailure {
  const job = plan.jobs[index];
  const s = readStatus(plan, index);
  const error =
    s?.state === 'failed'
      ? (s.error ?? 'failed')
      : s?.state === 'running'
        ? `did not finish (last seen running on ${s.host}, pid ${s.pid})`
        : 'never ran';
  return { job: job.id, error, ...(job.log ? { log: job.log } : {}) };
}
