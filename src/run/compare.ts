/**
 * Comparisons: the original trained once, one split, and for each seed the retrain oracle and
 * every method; all evaluated against the oracles, summarised as mean ± std per method in
 * `comparison.json`, `comparison.md` (a Markdown table) and `report.html`. A comparison is a
 * {@link Plan} of jobs ({@link planComparison}); {@link compare} runs it here, one job after
 * another, and the executors run the same plan elsewhere. Finished runs are reused, so an
 * interrupted comparison resumes where it stopped; a failed job is reported and the rest still
 * runs.
 */
import { join, resolve } from 'node:path';
import { meanStd } from '../eval/stats/index.js';
import { judge } from '../eval/verdict.js';
import { renderComparisonMarkdown, renderComparisonReport, writeReport } from '../report/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { LetheError, OptionError } from '../util/errors.js';
import { type RunEventHandler } from './events.js';
import type { Comparison, ComparisonEntry, JobFailure, RunMetrics } from '../records/metrics.js';
import { checkReusable, failureOf, type Plan, type PlanJob } from './plan.js';
import { isCompleteRun, readConfig, readMetrics } from './rundir.js';
import { evaluateRuns } from './evaluate-runs.js';
import { checkOut } from './runs.js';
import type { Compute } from '../records/compute.js';
import { computeOf, type TrainSpec, type UnlearnSpec } from './spec.js';
import { getMethod, resolveOptions } from '../unlearn/registry.js';
import type { ScenarioRecord } from './scenarios.js';
import { checkForgetSpec } from '../data/split.js';

export interface CompareInput extends Compute {
  /** Run directory of the trained original; default `<out>/original`, trained from `original`. */
  from?: string;
  /** The original to train (and cache) when there is no `from`. */
  original?: TrainSpec;
  methods: string[];
  forget: string;
  seeds: number;
  out: string;
  /** Per-method option overrides. */
  options?: Record<string, Record<string, unknown>>;
  /**
   * Evaluate every run on the full sets after each epoch, for per-epoch curves in its report
   * (default false: a comparison needs the final model only, and the passes cost ~20–40%).
   */
  evalEveryEpoch?: boolean;
  scenario?: ScenarioRecord;
}

/**
 * The comparison as jobs: the original (when it is to be trained), then each seed's retrain
 * oracle, then every method for every seed; the aggregation needs them all. Finished runs that
 * the comparison would not make now (other options, say) are refused here, before any work.
 */
export async function planComparison(input: CompareInput): Promise<Plan> {
  if (input.from === undefined && input.original === undefined)
    throw new OptionError('a comparison needs an original: from, or original to train');
  checkOut(input.out);
  checkForgetSpec(input.forget);
  if (!Number.isInteger(input.seeds) || input.seeds < 1)
    throw new OptionError(`--seeds: expected an integer ≥ 1 but received '${input.seeds}'`);
  const out = resolve(input.out);
  const original = resolve(input.from ?? join(out, 'original'));
  const methods = [
    ...new Set(input.methods.map((m) => getMethod(m).id).filter((m) => m !== 'retrain')),
  ];
  // A mistyped option fails here, not in the middle of the comparison.
  for (const [method, options] of Object.entries(input.options ?? {}))
    resolveOptions(getMethod(method), options);
  const seeds = Array.from({ length: input.seeds }, (_, i) => input.seed + i);
  const jobs: PlanJob[] = [];
  if (input.from === undefined)
    jobs.push({
      id: 'original',
      label: 'original',
      spec: input.original!,
      out: original,
      needs: [],
    });
  const needs = jobs.map((j) => j.id);
  const compute = computeOf(input);
  for (const method of ['retrain', ...methods]) {
    for (const seed of seeds) {
      const spec: UnlearnSpec = {
        kind: 'unlearn',
        from: original,
        forget: input.forget,
        method,
        options: input.options?.[method] ?? {},
        split: out,
        evalEveryEpoch: input.evalEveryEpoch ?? false,
        ...compute,
        seed,
        ...(input.scenario ? { scenario: input.scenario } : {}),
      };
      const job = {
        id: `${method}/seed-${seed}`,
        label: `${method} (seed ${seed})`,
        spec,
        out: join(out, method, `seed-${seed}`),
        needs,
      };
      if (isCompleteRun(job.out)) await checkReusable(job.out, spec);
      jobs.push(job);
    }
  }
  return {
    out,
    forget: input.forget,
    seed: input.seed,
    seeds,
    methods,
    device: input.device,
    original,
    jobs,
    aggregate: { needs: jobs.map((j) => j.id) },
  };
}

/** The numbers a comparison summarises, by dotted key. */
export function flattenMetrics(m: RunMetrics): Record<string, number> {
  const out: Record<string, number> = {
    'accuracy.forget': m.accuracy.forget,
    'accuracy.retain': m.accuracy.retain,
    'accuracy.test': m.accuracy.test,
    seconds: m.seconds,
  };
  if (m.accuracy.val !== undefined) out['accuracy.val'] = m.accuracy.val;
  if (m.mia) Object.assign(out, { 'mia.simple': m.mia.simple, 'mia.efficacy': m.mia.efficacy });
  if (m.gap)
    Object.assign(out, {
      'gap.forget': m.gap.forget,
      'gap.retain': m.gap.retain,
      'gap.test': m.gap.test,
      'gap.mia': m.gap.mia,
      'gap.avg': m.gap.avg,
    });
  if (m.timeRatio !== undefined) out.timeRatio = m.timeRatio;
  if (m.neurips)
    Object.assign(out, {
      'neurips.forgettingQuality': m.neurips.forgettingQuality,
      'neurips.score': m.neurips.score,
    });
  return out;
}

/** Mean ± std of every metric over a method's runs. */
export function summarise(method: string, seeds: number[], runs: RunMetrics[]): ComparisonEntry {
  const flat = runs.map(flattenMetrics);
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const metrics: ComparisonEntry['metrics'] = {};
  for (const key of keys) {
    const values = flat.map((f) => f[key]).filter((v) => Number.isFinite(v));
    if (values.length) metrics[key] = meanStd(values);
  }
  return { method, seeds, metrics };
}

/**
 * The verdict on a method's mean accuracies and MIA-efficacy against the oracles' means (the rule
 * of src/eval/verdict.ts, applied to the comparison's summary rather than to one seed).
 */
export function entryVerdict(
  entry: ComparisonEntry,
  oracle: ComparisonEntry,
): ComparisonEntry['verdict'] {
  const mean = (e: ComparisonEntry, key: string): number => e.metrics[key]?.mean ?? NaN;
  const accuracy = (e: ComparisonEntry) => ({
    forget: mean(e, 'accuracy.forget'),
    retain: mean(e, 'accuracy.retain'),
    test: mean(e, 'accuracy.test'),
  });
  if (![entry, oracle].every((e) => Number.isFinite(mean(e, 'accuracy.retain')))) return undefined;
  return judge({
    accuracy: accuracy(entry),
    miaEfficacy: entry.metrics['mia.efficacy']?.mean,
    oracle: { accuracy: accuracy(oracle), miaEfficacy: oracle.metrics['mia.efficacy']?.mean },
  });
}

/**
 * A comparison with every method's verdict: the recorded one, else the rule applied to the
 * recorded means (comparisons made before Lethe recorded verdicts).
 */
export function withVerdicts(comparison: Comparison): Comparison {
  const oracle = comparison.entries.find((e) => e.method === 'retrain');
  if (!oracle) return comparison;
  return {
    ...comparison,
    entries: comparison.entries.map((e) => {
      if (e === oracle || e.verdict) return e;
      const verdict = entryVerdict(e, oracle);
      return verdict ? { ...e, verdict } : e;
    }),
  };
}

/**
 * Evaluates a plan's finished runs against its finished oracles and writes `comparison.json`,
 * `comparison.md` and `report.html`. Jobs that did not finish are listed under `failed`, with
 * their error and log (from `failures`, else from their recorded state); their methods are
 * summarised over the runs that did.
 */
export async function collect(
  plan: Plan,
  options: { failures?: Map<number, JobFailure>; onEvent?: RunEventHandler } = {},
): Promise<Comparison> {
  const failed: JobFailure[] = [];
  const finished = (j: PlanJob, i: number): boolean => {
    if (isCompleteRun(j.out)) return true;
    failed.push(options.failures?.get(i) ?? failureOf(plan, i));
    return false;
  };
  const done = plan.jobs.filter(finished);
  const runsOf = (method: string): PlanJob[] =>
    done.filter((j) => j.spec.kind === 'unlearn' && j.spec.method === method);
  const oracles = runsOf('retrain');
  if (!isCompleteRun(plan.original) || oracles.length === 0)
    throw new LetheError(
      'E_JOBS',
      `nothing to compare: ${failed.map((f) => `${f.job}: ${f.error}${f.log ? ` (log: ${f.log})` : ''}`).join('; ')}`,
    );
  const seedsOf = (jobs: PlanJob[]): number[] => jobs.map((j) => j.spec.seed);
  const oracleDirs = oracles.map((j) => j.out);
  const entries: ComparisonEntry[] = [];
  for (const method of plan.methods) {
    const runs = runsOf(method);
    if (runs.length === 0) continue;
    const metrics = await evaluateRuns(
      runs.map((j) => j.out),
      oracleDirs,
      plan.device,
    );
    entries.push(summarise(method, seedsOf(runs), metrics));
  }
  entries.unshift(summarise('retrain', seedsOf(oracles), oracleDirs.map(readMetrics)));
  for (const entry of entries.slice(1)) {
    const verdict = entryVerdict(entry, entries[0]);
    if (verdict) entry.verdict = verdict;
  }
  const original = readConfig(plan.original);
  const comparison: Comparison = {
    forget: plan.forget,
    data: original.data,
    model: original.model,
    entries,
    ...(failed.length ? { failed } : {}),
  };
  writeFileAtomic(join(plan.out, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
  writeFileAtomic(join(plan.out, 'comparison.md'), renderComparisonMarkdown(comparison));
  await writeReport(
    join(plan.out, 'report.html'),
    renderComparisonReport({ comparison, oracleMethod: 'retrain' }),
  );
  return comparison;
}
