/**
 * Comparisons: the original trained once, one split, and for each seed the retrain oracle and
 * every method; all evaluated against the oracles, summarised as mean ± std per method in
 * `comparison.json`, `comparison.md` (a Markdown table) and `report.html`. Finished runs are reused, so an interrupted comparison
 * resumes where it stopped.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeSplit, readSplit, writeSplit, type Split } from '../data/split.js';
import { meanStd } from '../eval/stats/index.js';
import { renderComparisonMarkdown, renderComparisonReport, writeReport } from '../report/index.js';
import type { Comparison, ComparisonEntry, RunMetrics } from '../run/metrics.js';
import { isCompleteRun, readConfig, readMetrics } from '../run/rundir.js';
import { writeFileAtomic } from '../nn/safetensors.js';
import { getMethod } from '../unlearn/registry.js';
import { OptionError } from '../util/errors.js';
import { differences, evaluateRuns, getData, runOptions, unlearnRun, type Common } from './runs.js';

export interface CompareInput extends Common {
  /** Run directory of the trained original. */
  from: string;
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
  /** Called before each run that has to be computed. */
  onRun?: (label: string) => void;
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
 * Throws unless the finished run in `dir` is the one the comparison would make now: same method,
 * original, forget set, seed and resolved options. A run made with other options (a 1-epoch
 * baseline, say) must not slip into a table that claims the defaults.
 */
export function checkReusable(dir: string, expected: Record<string, unknown>): void {
  const config = readConfig(dir) as unknown as Record<string, unknown>;
  // Runs made before Lethe recorded precision were fp32.
  const recorded: Record<string, unknown> = { ...config, precision: config.precision ?? 'fp32' };
  const had = Object.fromEntries(Object.keys(expected).map((k) => [k, recorded[k]]));
  const diff = differences(had, expected);
  if (diff.length) {
    throw new OptionError(
      `${dir} is a finished run with ${diff.join(', ')}; remove it or choose another --out`,
    );
  }
}

/** Ensures the comparison's one split exists (drawn from the base seed) and returns it. */
async function comparisonSplit(input: CompareInput): Promise<Split> {
  if (existsSync(join(input.out, 'split.json'))) {
    const split = readSplit(input.out);
    if (split.forgetSpec !== input.forget || split.seed !== input.seed) {
      throw new Error(
        `${input.out} holds a comparison of forget ${split.forgetSpec} (seed ${split.seed}); use another --out`,
      );
    }
    return split;
  }
  const data = await getData(readConfig(input.from).data);
  const split = makeSplit({
    train: data.train,
    testSize: data.test.labels.length,
    forgetSpec: input.forget,
    seed: input.seed,
  });
  mkdirSync(input.out, { recursive: true });
  writeSplit(input.out, split);
  return split;
}

export async function compare(input: CompareInput): Promise<Comparison> {
  const methods = input.methods.map((m) => getMethod(m).id).filter((m) => m !== 'retrain');
  const split = await comparisonSplit(input);
  const seeds = Array.from({ length: input.seeds }, (_, i) => input.seed + i);
  const runDir = (method: string, seed: number): string => join(input.out, method, `seed-${seed}`);
  const original = readConfig(input.from);
  const ensure = async (method: string, seed: number): Promise<string> => {
    const dir = runDir(method, seed);
    if (isCompleteRun(dir)) {
      checkReusable(dir, {
        method,
        forget: input.forget,
        seed,
        from: resolve(input.from),
        options: runOptions(method, original, input.options?.[method] ?? {}),
        precision: input.precision ?? 'fp32',
      });
    } else {
      input.onRun?.(`${method} (seed ${seed})`);
      await unlearnRun({
        ...input,
        seed,
        method,
        forget: input.forget,
        options: input.options?.[method] ?? {},
        out: dir,
        split,
        evalEveryEpoch: input.evalEveryEpoch ?? false,
        // An interrupted run continues from its last finished epoch.
        resume: 'if-present',
      });
    }
    return dir;
  };
  const oracles: string[] = [];
  for (const seed of seeds) oracles.push(await ensure('retrain', seed));
  const entries: ComparisonEntry[] = [];
  for (const method of methods) {
    const dirs: string[] = [];
    for (const seed of seeds) dirs.push(await ensure(method, seed));
    const metrics = await evaluateRuns(dirs, oracles, input.device);
    entries.push(summarise(method, seeds, metrics));
  }
  entries.unshift(summarise('retrain', seeds, oracles.map(readMetrics)));
  const comparison: Comparison = {
    forget: input.forget,
    data: original.data,
    model: original.model,
    entries,
  };
  writeFileAtomic(join(input.out, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
  writeFileAtomic(join(input.out, 'comparison.md'), renderComparisonMarkdown(comparison));
  await writeReport(
    join(input.out, 'report.html'),
    renderComparisonReport({ comparison, oracleMethod: 'retrain' }),
  );
  return comparison;
}
