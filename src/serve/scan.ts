/**
 * What `lethe serve` shows about a directory of runs: every run directory, comparison and audit
 * under the served root, each run's state (finished, running, interrupted, failed, or unreadable
 * with the reason), its settings and key metrics. Everything is read through {@link ServedRoot}
 * and nothing is written: a half-written or malformed file makes its run "unreadable", never an
 * error of the server. Parsed files are cached by their size and modification time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { EVENTS_FILE, parseEventLog, type LogRecord } from '../run/event-log.js';
import type { Comparison, RunMetrics } from '../records/metrics.js';
import { readRunManifest, RUN_FILES, type RunConfig } from '../run/rundir.js';
import { progressOf } from './progress.js';
import type { AuditSummary, ComparisonSummary, RunSummary, ServedIndex } from './views.js';
import type { ServedRoot } from './root.js';
import {
  comparisonJobs,
  type ComparisonContext,
  type JobStatusShape,
  type PlanJobShape,
} from './jobs.js';
import { isObject } from '../util/json.js';

/** A run with nothing written (events, checkpoint) for this long is no longer running. */
export const STALE_MS = 60_000;

const MAX_DEPTH = 8;
const COMPARISON_FILE = 'comparison.json';
const PLAN_DIR = 'plan';

/** Why reading a file failed, in a few words. */
function why(error: unknown): string {
  const e = error as Error & { code?: string };
  return e.code === 'ENOENT' ? 'missing' : e.message;
}

/** Reads a served root, caching what it parsed by each file's size and modification time. */
export class Scanner {
  private readonly json = new Map<string, { key: string; value: unknown }>();
  private readonly logs = new Map<
    string,
    { key: string; records: LogRecord[]; problems: string[] }
  >();
  /** Digest checks by `path:size:mtime:ino`: 'ok', a reason, or a pending promise. */
  private readonly digests = new Map<string, string | Promise<void>>();
  private readonly manifests = new Map<
    string,
    { key: string; value: Record<string, string> | null }
  >();
  private readonly onVerified: () => void;

  constructor(
    readonly root: ServedRoot,
    options: { onVerified?: () => void } = {},
  ) {
    this.onVerified = options.onVerified ?? (() => {});
  }

  /** A JSON file of the root, parsed strictly and cached; throws with the reason when unreadable. */
  readJson(rel: string): unknown {
    const st = this.root.stat(rel);
    if (!st) throw new Error(`${rel.split('/').pop()} is missing`);
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = this.json.get(rel);
    if (hit?.key === key) return hit.value;
    let value: unknown;
    try {
      // JSON.parse, not the strict reader: a viewer needs the values, fast, for hundreds of runs.
      value = JSON.parse(this.root.readText(rel));
    } catch (error) {
      throw new Error(`${rel.split('/').pop()} is not valid JSON (${why(error)})`);
    }
    this.json.set(rel, { key, value });
    return value;
  }

  /** A run's event log (cached); null when it has none. */
  readLog(runPath: string): { records: LogRecord[]; problems: string[]; stat: Stats } | null {
    const rel = join(runPath, EVENTS_FILE);
    const st = this.root.stat(rel);
    if (!st) return null;
    const key = `${st.size}:${st.mtimeMs}`;
    let hit = this.logs.get(rel);
    if (hit?.key !== key) {
      const parsed = parseEventLog(this.root.readText(rel));
      hit = { key, records: parsed.records, problems: parsed.problems };
      this.logs.set(rel, hit);
    }
    return { records: hit.records, problems: hit.problems, stat: st };
  }

  /** Everything under the root. */
  scan(now = Date.now()): ServedIndex {
    this.root.forget();
    const runs: RunSummary[] = [];
    const comparisons: ComparisonSummary[] = [];
    const audits: AuditSummary[] = [];
    const seen = new Set<string>();
    const walk = (rel: string, depth: number, comparison: ComparisonContext | null): void => {
      let real: string;
      try {
        real = this.root.resolve(rel);
      } catch {
        return;
      }
      if (seen.has(real)) return;
      seen.add(real);
      const entries = this.root.list(rel);
      const names = new Set(entries.map((e) => e.name));
      if (names.has('audit.json')) {
        audits.push(this.audit(rel));
        return;
      }
      if (
        rel !== '' &&
        (names.has(RUN_FILES.config) ||
          names.has(RUN_FILES.manifest) ||
          names.has(EVENTS_FILE) ||
          names.has(RUN_FILES.checkpoint))
      ) {
        runs.push(this.run(rel, now, comparison));
        return;
      }
      let inner = comparison;
      if (
        names.has(COMPARISON_FILE) ||
        this.root.stat(rel, join(PLAN_DIR, 'plan.json')) ||
        (names.has(RUN_FILES.split) && !names.has(RUN_FILES.config))
      ) {
        inner = this.comparisonContext(rel);
      }
      if (depth >= MAX_DEPTH) return;
      // Real directories before symlinks, so a run reached both ways is listed under its own name.
      const ordered = [...entries].sort(
        (a, b) => Number(a.isSymbolicLink()) - Number(b.isSymbolicLink()),
      );
      for (const e of ordered) {
        if (e.name.startsWith('.') || e.name === 'node_modules') continue;
        if (!e.isDirectory() && !e.isSymbolicLink()) continue;
        if (inner && inner.path === rel && (e.name === PLAN_DIR || e.name === 'logs')) continue;
        walk(rel ? `${rel}/${e.name}` : e.name, depth + 1, inner);
      }
      if (inner && inner.path === rel) comparisons.push(this.comparisonSummary(inner, runs));
    };
    walk('', 0, null);
    runs.sort((a, b) => a.path.localeCompare(b.path));
    comparisons.sort((a, b) => a.path.localeCompare(b.path));
    audits.sort((a, b) => a.path.localeCompare(b.path));
    return { root: this.root.dir, runs, comparisons, audits, scannedAt: now };
  }

  /** One run directory's summary. */
  run(rel: string, now = Date.now(), comparison: ComparisonContext | null = null): RunSummary {
    const has = (file: string): Stats | null => this.root.stat(rel, file);
    const summary: RunSummary = {
      kind: 'run',
      path: rel,
      state: 'interrupted',
      verified: false,
      hasReport: !!has(RUN_FILES.report),
      hasPredictions: !!has(RUN_FILES.predictions),
      updated: this.root.stat(rel)?.mtimeMs ?? 0,
      ...(comparison ? { comparison: comparison.path, executor: comparison.executor } : {}),
    };
    const unreadable = (reason: string): RunSummary => ({
      ...summary,
      state: 'unreadable',
      reason,
    });
    try {
      const config = this.readJson(join(rel, RUN_FILES.config));
      if (!isObject(config)) return unreadable('config.json is not an object');
      const c = config as unknown as RunConfig;
      Object.assign(summary, {
        command: typeof c.command === 'string' ? c.command : undefined,
        method: typeof c.method === 'string' ? c.method : undefined,
        data: typeof c.data === 'string' ? c.data : undefined,
        model: typeof c.model === 'string' ? c.model : undefined,
        forget: typeof c.forget === 'string' ? c.forget : undefined,
        seed: typeof c.seed === 'number' ? c.seed : undefined,
        precision: typeof c.precision === 'string' ? c.precision : 'fp32',
        device: typeof c.device === 'string' ? c.device : undefined,
        scenario:
          isObject(c.scenario) && typeof c.scenario.name === 'string' ? c.scenario.name : undefined,
      });
    } catch (error) {
      // A run still in progress has no config.json yet when it was never committed before.
      if (has(RUN_FILES.config)) return unreadable((error as Error).message);
    }
    let log: ReturnType<Scanner['readLog']> = null;
    try {
      log = this.readLog(rel);
    } catch (error) {
      return unreadable(`${EVENTS_FILE}: ${why(error)}`);
    }
    if (log) {
      summary.progress = progressOf(log.records, log.stat.mtimeMs);
      if (!summary.method) {
        const start = log.records.find((r) => r.type === 'start');
        if (start?.type === 'start') summary.method = start.method;
      }
    }
    const activity = Math.max(log?.stat.mtimeMs ?? 0, has(RUN_FILES.checkpoint)?.mtimeMs ?? 0);
    const last = log?.records.at(-1);
    const manifestStat = has(RUN_FILES.manifest);
    let manifest: Record<string, string> | null;
    try {
      manifest = this.manifest(rel, manifestStat);
    } catch (error) {
      return unreadable(`run.json: ${(error as Error).message.replace(/^.*?run\.json:?\s*/, '')}`);
    }
    const active = now - activity < STALE_MS && last?.type !== 'end';
    // A run started again into a finished directory is running until it commits.
    const rerunning = manifest && active && activity > (manifestStat?.mtimeMs ?? 0);
    if (manifest && !rerunning) {
      const check = this.verify(rel, manifest);
      if (check !== 'ok' && check !== 'pending') return unreadable(check);
      summary.verified = check === 'ok';
      summary.state = 'finished';
      try {
        const m = this.readJson(join(rel, RUN_FILES.metrics)) as RunMetrics;
        if (isObject(m) && isObject(m.accuracy))
          summary.metrics = {
            forget: m.accuracy.forget,
            retain: m.accuracy.retain,
            test: m.accuracy.test,
            seconds: m.seconds,
            ...(m.gap ? { gapAvg: m.gap.avg } : {}),
            ...(m.mia ? { miaSimple: m.mia.simple } : {}),
          };
        else return unreadable('metrics.json has no accuracy');
      } catch (error) {
        return unreadable((error as Error).message);
      }
      return summary;
    }
    const job = comparison?.jobState(rel);
    if (job?.state === 'failed')
      return { ...summary, state: 'failed', reason: job.error ?? 'failed' };
    if (now - activity < STALE_MS) return { ...summary, state: 'running' };
    return { ...summary, state: 'interrupted' };
  }

  /** run.json's digests (cached by its size and time); null without one; throws when malformed. */
  private manifest(rel: string, st: Stats | null): Record<string, string> | null {
    if (!st) return null;
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    const hit = this.manifests.get(rel);
    if (hit?.key === key) return hit.value;
    const value = readRunManifest(this.root.resolve(rel));
    this.manifests.set(rel, { key, value });
    return value;
  }

  /**
   * Whether every file run.json lists has its digest: 'ok', the reason it does not, or 'pending'
   * while the files are hashed in the background (a large model takes a while; the index is not
   * held up by it). {@link Scanner.onVerified} is called when a check finishes.
   */
  verify(rel: string, manifest: Record<string, string>): string {
    const checks: string[] = [];
    for (const [name, digest] of Object.entries(manifest)) {
      const st = this.root.stat(rel, name);
      if (!st) return `${name} is missing (listed in run.json)`;
      const key = `${rel}/${name}:${st.size}:${st.mtimeMs}:${st.ino}:${digest}`;
      const hit = this.digests.get(key);
      if (hit === undefined) {
        const path = this.root.resolve(join(rel, name));
        const pending = hashFile(path).then(
          (got) => {
            this.digests.set(
              key,
              got === digest
                ? 'ok'
                : `${name} does not match its digest in run.json (changed or damaged after the run finished)`,
            );
            this.onVerified();
          },
          (error) => {
            this.digests.set(key, `${name}: ${why(error)}`);
            this.onVerified();
          },
        );
        this.digests.set(key, pending);
        checks.push('pending');
      } else if (typeof hit === 'string') {
        if (hit !== 'ok') return hit;
      } else checks.push('pending');
    }
    return checks.length ? 'pending' : 'ok';
  }

  /** Waits for every digest check started so far. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.digests.values()].filter((v) => typeof v !== 'string');
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** What the runs of a comparison need from it: its plan and how to find a run's job state. */
  comparisonContext(rel: string): ComparisonContext {
    const ctx: ComparisonContext = {
      path: rel,
      executor: 'serial',
      plan: null,
      jobState: () => null,
    };
    const planRel = join(rel, PLAN_DIR, 'plan.json');
    if (!this.root.stat(planRel)) return ctx;
    try {
      const raw = this.readJson(planRel);
      if (!isObject(raw) || !Array.isArray(raw.jobs) || typeof raw.out !== 'string')
        throw new Error('plan.json has no jobs');
      const jobs = raw.jobs as unknown[];
      const byPath = new Map<string, number>();
      jobs.forEach((j, i) => {
        if (!isObject(j) || typeof j.out !== 'string') return;
        const within = relative(raw.out as string, j.out);
        if (!within.startsWith('..')) byPath.set(within.split('\\').join('/'), i);
      });
      ctx.plan = {
        jobs: jobs as PlanJobShape[],
        out: raw.out,
        ...(typeof raw.forget === 'string' ? { forget: raw.forget } : {}),
      };
      ctx.executor = this.executorOf(rel);
      ctx.jobState = (runRel) => {
        const i = byPath.get(relative(rel, runRel));
        if (i === undefined) return null;
        return this.jobStatus(rel, i);
      };
    } catch (error) {
      ctx.reason = (error as Error).message;
    }
    return ctx;
  }

  /** A job's recorded state (`plan/jobs/<i>.json`); null when it never started or is unreadable. */
  jobStatus(comparison: string, index: number): JobStatusShape | null {
    try {
      const s = this.readJson(join(comparison, PLAN_DIR, 'jobs', `${index}.json`));
      return isObject(s) && typeof s.state === 'string' ? (s as unknown as JobStatusShape) : null;
    } catch {
      return null;
    }
  }

  /** Which executor ran a planned comparison, from what it left in the plan directory. */
  private executorOf(rel: string): string {
    const names = new Set(this.root.list(join(rel, PLAN_DIR)).map((e) => e.name));
    if ([...names].some((n) => n.endsWith('.sbatch') || n.startsWith('slurm'))) return 'slurm';
    const logs = new Set(this.root.list(join(rel, PLAN_DIR, 'logs')).map((e) => e.name));
    if (logs.has('collect.log') || logs.has('worker.log')) return 'queue';
    if (logs.size) return 'local';
    return 'plan';
  }

  comparisonSummary(ctx: ComparisonContext, runs: RunSummary[]): ComparisonSummary {
    const jobs = comparisonJobs(ctx, runs, (i) => this.jobStatus(ctx.path, i));
    const count = (s: string): number => jobs.filter((j) => j.state === s).length;
    const base: ComparisonSummary = {
      kind: 'comparison',
      path: ctx.path,
      state: 'incomplete',
      methods: [...new Set(jobs.filter((j) => j.method !== 'original').map((j) => j.method))],
      seeds: [...new Set(jobs.map((j) => j.seed).filter((s): s is number => s !== null))].sort(
        (a, b) => a - b,
      ),
      executor: ctx.executor,
      jobs: {
        total: jobs.length,
        finished: count('finished'),
        running: count('running'),
        failed: count('failed') + count('unreadable'),
      },
      hasReport: !!this.root.stat(ctx.path, RUN_FILES.report),
      updated: this.root.stat(ctx.path)?.mtimeMs ?? 0,
    };
    if (ctx.reason) return { ...base, state: 'unreadable', reason: ctx.reason };
    if (ctx.plan?.forget) base.forget = ctx.plan.forget;
    if (this.root.stat(ctx.path, COMPARISON_FILE)) {
      try {
        const c = this.readJson(join(ctx.path, COMPARISON_FILE)) as Comparison;
        if (!isObject(c) || !Array.isArray(c.entries))
          throw new Error('comparison.json has no entries');
        return { ...base, state: 'finished', data: c.data, model: c.model, forget: c.forget };
      } catch (error) {
        return { ...base, state: 'unreadable', reason: (error as Error).message };
      }
    }
    const original =
      runs.find((r) => r.comparison === ctx.path && r.command === 'train') ??
      runs.find((r) => r.comparison === ctx.path);
    return {
      ...base,
      data: original?.data,
      model: original?.model,
      forget:
        base.forget ??
        runs.find((r) => r.comparison === ctx.path && r.forget && r.forget !== 'none')?.forget,
      state: base.jobs.running > 0 ? 'running' : 'incomplete',
    };
  }

  audit(rel: string): AuditSummary {
    const base: AuditSummary = {
      kind: 'audit',
      path: rel,
      state: 'finished',
      methods: [],
      hasExamples: !!this.root.stat(rel, 'examples.json'),
    };
    try {
      const a = this.readJson(join(rel, 'audit.json'));
      if (!isObject(a) || !Array.isArray(a.entries)) throw new Error('audit.json has no entries');
      return {
        ...base,
        attack: typeof a.attack === 'string' ? a.attack : undefined,
        data: typeof a.data === 'string' ? a.data : undefined,
        scenario: typeof a.scenario === 'string' ? a.scenario : null,
        shadows: typeof a.shadows === 'number' ? a.shadows : undefined,
        targets: typeof a.targets === 'number' ? a.targets : undefined,
        methods: (a.entries as unknown[]).flatMap((e) =>
          isObject(e) && typeof e.method === 'string' ? [e.method] : [],
        ),
      };
    } catch (error) {
      return { ...base, state: 'unreadable', reason: (error as Error).message };
    }
  }
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(`sha256:${hash.digest('hex')}`));
  });
}
