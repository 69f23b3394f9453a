/**
 * The demo workflow: the original and the retrain oracle trained once (cached across runs), the
 * method and its baselines, all evaluated against the oracle. The CLI prints what it returns.
 */
import { join } from 'node:path';
import { getMethod } from '../unlearn/registry.js';
import { ignoreEvents, type RunEventHandler } from './events.js';
import type { RunMetrics } from '../records/metrics.js';
import { evaluateRuns } from './evaluate-runs.js';
import { writeRunReport } from './report.js';
import { checkOut, specIdentity, unlearnRun } from './runs.js';
import { cachedRun, ensureOriginal } from './cache.js';
import type { Compute } from '../records/compute.js';
import { computeOf, type TrainSpec, type UnlearnSpec } from './spec.js';
import type { ScenarioRecord } from './scenarios.js';

export interface DemoInput extends Compute {
  /** The original to train (once; cached). */
  original: TrainSpec;
  forget: string;
  /** The method shown, and its option overrides. */
  method: string;
  options: Record<string, unknown>;
  /** Baselines run beside it (one epoch each, the NeurIPS 2023 kit's budget). */
  baselines: string[];
  /** Whether to train the retrain oracle and evaluate against it. */
  oracle: boolean;
  out: string;
  scenario?: ScenarioRecord;
}

export interface DemoResult {
  original: { dir: string; cached: boolean };
  /** The method's run first, then the baselines'. */
  runs: { method: string; dir: string; cached: boolean }[];
  oracle?: { dir: string; cached: boolean };
  /** Each run's metrics after evaluation against the oracle (same order as `runs`). */
  evaluated?: RunMetrics[];
}

export async function demo(
  input: DemoInput,
  onEvent: RunEventHandler = ignoreEvents,
): Promise<DemoResult> {
  checkOut(input.out);
  const { original: originalSpec, forget, out } = input;
  const original = join(out, 'original');
  // Runs cut short by an interruption continue from their last finished epoch.
  const run = { onEvent, resume: 'if-present' as const };
  const { cached } = await ensureOriginal(originalSpec, original, run);
  const method = getMethod(input.method).id;
  const unlearnSpec = (id: string, options: Record<string, unknown>): UnlearnSpec => ({
    kind: 'unlearn',
    from: original,
    forget,
    method: id,
    options,
    ...computeOf(input),
    ...(input.scenario ? { scenario: input.scenario } : {}),
  });
  const runs = [{ method, dir: join(out, method), cached: false }];
  onEvent({ type: 'run', label: method, out: runs[0].dir });
  await unlearnRun(unlearnSpec(method, input.options), runs[0].dir, run);
  const result: DemoResult = { original: { dir: original, cached }, runs };
  if (!input.oracle) return result;
  const oracle = join(out, 'retrain');
  const oracleSpec = unlearnSpec('retrain', {});
  const oracleCached = await cachedRun(
    'retrain',
    await specIdentity(oracleSpec),
    oracle,
    (dir) => unlearnRun(oracleSpec, dir, { ...run, label: 'retrain' }),
    onEvent,
  );
  result.oracle = { dir: oracle, cached: oracleCached };
  for (const id of input.baselines) {
    const baseline = getMethod(id).id;
    // The NeurIPS 2023 kit's official baseline budget: one epoch.
    const options = { epochs: 1 };
    const dir = join(out, baseline);
    const spec = unlearnSpec(baseline, options);
    const hit = await cachedRun(
      baseline,
      await specIdentity(spec),
      dir,
      (d) => unlearnRun(spec, d, { ...run, label: baseline }),
      onEvent,
    );
    runs.push({ method: baseline, dir, cached: hit });
  }
  result.evaluated = await evaluateRuns(
    runs.map((r) => r.dir),
    [oracle],
    input.device,
  );
  // The method's report shows it next to the baselines, each read against the oracle.
  if (result.evaluated.length > 1)
    await writeRunReport(runs[0].dir, undefined, undefined, result.evaluated.slice(1));
  return result;
}
