/**
 * A comparison as `lethe serve` shows it while it runs: its jobs and their states, the mean ± std
 * table over the runs finished so far (the comparison's own table once it is collected), and the
 * verdict against the retrain oracle once it is complete.
 */
import { join } from 'node:path';
import { entryVerdict, summarise } from '../run/compare.js';
import type { Comparison, ComparisonEntry, JobFailure, RunMetrics } from '../records/metrics.js';
import { RUN_FILES } from '../run/rundir.js';
import { OUTCOME_WORDS } from '../eval/verdict.js';
import type { Scanner } from './scan.js';
import { comparisonJobs } from './jobs.js';
import type { ComparisonSummary, JobView, ServedIndex } from './views.js';

export interface ComparisonDetail {
  summary: ComparisonSummary;
  jobs: JobView[];
  /** Mean ± std per method: over finished runs while running, comparison.json's once collected. */
  table: ComparisonEntry[];
  complete: boolean;
  failed: JobFailure[];
  /** One line per method on where it sits against the oracle, once complete. */
  verdict: string[];
}

/** The comparison at `rel` of a scanned index; null when the index has none there. */
export function comparisonDetail(
  scanner: Scanner,
  index: ServedIndex,
  rel: string,
): ComparisonDetail | null {
  const summary = index.comparisons.find((c) => c.path === rel);
  if (!summary) return null;
  const ctx = scanner.comparisonContext(rel);
  const jobs = comparisonJobs(ctx, index.runs, (i) => scanner.jobStatus(rel, i));
  const metricsOf = (path: string): RunMetrics | null => {
    try {
      return scanner.readJson(join(path, RUN_FILES.metrics)) as RunMetrics;
    } catch {
      return null;
    }
  };
  const finished = new Map<string, { seed: number; metrics: RunMetrics }[]>();
  for (const j of jobs) {
    if (j.state !== 'finished' || !j.path || j.method === 'original') continue;
    const m = metricsOf(j.path);
    if (!m?.accuracy) continue;
    const list = finished.get(j.method) ?? [];
    list.push({ seed: j.seed ?? 0, metrics: m });
    finished.set(j.method, list);
  }
  let table: ComparisonEntry[] = [];
  let failed: JobFailure[] = [];
  const complete = summary.state === 'finished';
  if (complete) {
    const c = scanner.readJson(join(rel, 'comparison.json')) as Comparison;
    table = c.entries;
    failed = c.failed ?? [];
  } else {
    const order = ['retrain', ...[...finished.keys()].filter((m) => m !== 'retrain').sort()];
    for (const method of order) {
      const runs = finished.get(method);
      if (runs?.length)
        table.push(
          summarise(
            method,
            runs.map((r) => r.seed),
            runs.map((r) => r.metrics),
          ),
        );
    }
  }
  const verdict: string[] = [];
  const oracle = table.find((e) => e.method === 'retrain');
  if (complete && oracle) {
    // The verdict's one rule (src/eval/verdict.ts): on the means, and how many seeds it holds for.
    for (const [method, runs] of finished) {
      if (method === 'retrain') continue;
      const entry = table.find((e) => e.method === method);
      const onMeans = entry && (entry.verdict ?? entryVerdict(entry, oracle));
      if (!onMeans) continue;
      const tally = new Map<string, number>();
      for (const r of runs)
        if (r.metrics.verdict)
          for (const o of r.metrics.verdict.outcomes) tally.set(o, (tally.get(o) ?? 0) + 1);
      const seeds = [...tally]
        .sort((x, y) => y[1] - x[1])
        .map(
          ([o, n]) =>
            `${OUTCOME_WORDS[o as keyof typeof OUTCOME_WORDS] ?? o} in ${n} of ${runs.length}`,
        )
        .join(', ');
      const gap = entry?.metrics['gap.avg'];
      verdict.push(
        `${method}: ${onMeans.label}${gap ? `; Avg Gap ${gap.mean.toFixed(3)} ± ${gap.std.toFixed(3)}` : ''}${seeds ? ` (per seed: ${seeds})` : ''}.`,
      );
    }
  }
  return { summary, jobs, table, complete, failed, verdict };
}
