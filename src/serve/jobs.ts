/**
 * A comparison's jobs as the dashboard reads them: the shapes of its `plan/plan.json` and of each
 * job's `plan/jobs/<i>.json`, and the job list with each job's state (from the plan, else from the
 * run directories found under the comparison).
 */
import { relative } from 'node:path';
import { isObject } from '../util/json.js';
import type { JobView, RunSummary } from './views.js';

export interface PlanJobShape {
  id?: unknown;
  out?: unknown;
  spec?: unknown;
}
export interface PlanShape {
  jobs: PlanJobShape[];
  out: string;
  forget?: string;
}
export interface JobStatusShape {
  state: string;
  error?: string;
  host?: string;
}

export interface ComparisonContext {
  path: string;
  executor: string;
  plan: PlanShape | null;
  reason?: string;
  jobState(runRel: string): JobStatusShape | null;
}

/** The jobs of a comparison with their states: from its plan, else from its run directories. */
export function comparisonJobs(
  ctx: ComparisonContext,
  runs: RunSummary[],
  jobStatus: (index: number) => JobStatusShape | null,
): JobView[] {
  const mine = runs.filter((r) => r.comparison === ctx.path);
  const runAt = new Map(mine.map((r) => [r.path, r]));
  if (ctx.plan) {
    return ctx.plan.jobs.map((j, i) => {
      const within = typeof j.out === 'string' ? relative(ctx.plan!.out, j.out) : '..';
      const path = within.startsWith('..')
        ? null
        : [ctx.path, ...within.split(/[\\/]/)].filter(Boolean).join('/');
      const run = path ? runAt.get(path) : undefined;
      const status = jobStatus(i);
      const spec = isObject(j.spec) ? j.spec : {};
      const method =
        spec.kind === 'train' ? 'original' : typeof spec.method === 'string' ? spec.method : '?';
      const state: JobView['state'] = run
        ? run.state
        : status?.state === 'failed'
          ? 'failed'
          : status?.state === 'running'
            ? 'running'
            : 'waiting';
      return {
        id: typeof j.id === 'string' ? j.id : `job ${i}`,
        index: i,
        path,
        method,
        seed: spec.kind === 'train' ? null : typeof spec.seed === 'number' ? spec.seed : null,
        state,
        ...(state === 'failed' ? { error: run?.reason ?? status?.error ?? 'failed' } : {}),
        ...(status?.host ? { host: status.host } : {}),
      };
    });
  }
  return mine.map((r) => {
    const m = /(?:^|\/)seed-(\d+)$/.exec(r.path);
    return {
      id: relative(ctx.path, r.path),
      index: null,
      path: r.path,
      method: r.command === 'train' ? 'original' : (r.method ?? '?'),
      seed: m ? Number(m[1]) : null,
      state: r.state,
      ...(r.reason ? { error: r.reason } : {}),
    };
  });
}
