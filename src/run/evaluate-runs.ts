/**
 * Evaluation of unlearning runs against retrain oracles of the same split (`lethe eval`): MIA,
 * gaps, time ratio, the verdict and the NeurIPS 2023 score go into each run's metrics.json, and
 * its report is rendered again.
 */
import { resolve } from 'node:path';
import { gapToOracle, membershipInference, neuripsEvaluation } from '../eval/evaluate.js';
import { judge } from '../eval/verdict.js';
import { accuracyOf, type SetPredictions } from '../models/predict.js';
import type { RunMetrics } from '../records/metrics.js';
import { OptionError } from '../util/errors.js';
import { runPredictions } from './predictions.js';
import { runReportHtml } from './report.js';
import { readConfig, readMetrics, rewriteRunFiles, verifyRun } from './rundir.js';

/** Adds the val accuracy to metrics recorded before runs measured it. */
function withVal(metrics: RunMetrics, p: SetPredictions): RunMetrics {
  if (p.val && metrics.accuracy.val === undefined) metrics.accuracy.val = accuracyOf(p.val);
  return metrics;
}

function sameIndices(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * Evaluates unlearning runs against retrain-oracle runs of the same split: MIA for every model,
 * gaps and time ratio to the oracles' mean, and, with at least two of each, the NeurIPS 2023
 * forgetting quality and score over all of them. Results go into each run's metrics.json (and the
 * oracles' own MIA into theirs); reports are re-rendered.
 */
export async function evaluateRuns(
  runs: string[],
  oracles: string[],
  device: string,
): Promise<RunMetrics[]> {
  if (oracles.length === 0)
    throw new OptionError('lethe eval: --oracle <retrain-run-dir> is required');
  for (const dir of oracles) {
    verifyRun(dir);
    const { method } = readConfig(dir);
    if (method !== 'retrain')
      throw new OptionError(
        `--oracle ${dir}: expected a 'retrain' run (lethe unlearn --method retrain) but it is ${method === 'train' ? 'a training run' : `a '${method}' run`}`,
      );
  }
  const oracleResults = [];
  for (const dir of oracles) {
    const r = await runPredictions(dir, device);
    const metrics = withVal(readMetrics(dir), r.predictions);
    metrics.mia = membershipInference(r.predictions, r.config.seed);
    rewriteRunFiles(dir, { metrics });
    oracleResults.push({ dir, ...r, metrics });
  }
  const reference = oracleResults[0].split;
  const oracle = {
    accuracy: {
      forget: mean(oracleResults.map((o) => o.metrics.accuracy.forget)),
      retain: mean(oracleResults.map((o) => o.metrics.accuracy.retain)),
      test: mean(oracleResults.map((o) => o.metrics.accuracy.test)),
      ...(oracleResults.every((o) => o.metrics.accuracy.val !== undefined)
        ? { val: mean(oracleResults.map((o) => o.metrics.accuracy.val!)) }
        : {}),
    },
    mia: {
      simple: mean(oracleResults.map((o) => o.metrics.mia!.simple)),
      efficacy: mean(oracleResults.map((o) => o.metrics.mia!.efficacy)),
    },
    seconds: mean(oracleResults.map((o) => o.metrics.seconds)),
    run: oracles.map((d) => resolve(d)).join(','),
  };
  const evaluated: { dir: string; predictions: SetPredictions; metrics: RunMetrics }[] = [];
  for (const dir of runs) {
    const r = await runPredictions(dir, device);
    if (
      !sameIndices(r.split.forget, reference.forget) ||
      !sameIndices(r.split.test, reference.test)
    ) {
      throw new OptionError(
        `${dir}: its split differs from the oracle's (${oracles[0]}); evaluate runs against an oracle of the same forget set and seed`,
      );
    }
    const metrics = withVal(readMetrics(dir), r.predictions);
    const mia = membershipInference(r.predictions, r.config.seed);
    metrics.mia = mia;
    metrics.gap = gapToOracle({ accuracy: metrics.accuracy, mia }, oracle);
    metrics.timeRatio = metrics.seconds / oracle.seconds;
    metrics.oracle = oracle;
    metrics.verdict = judge({
      accuracy: metrics.accuracy,
      miaEfficacy: mia.efficacy,
      oracle: { accuracy: oracle.accuracy, miaEfficacy: oracle.mia.efficacy },
    });
    evaluated.push({ dir, predictions: r.predictions, metrics });
  }
  if (evaluated.length >= 2 && oracleResults.length >= 2) {
    const neurips = neuripsEvaluation(
      evaluated.map((e) => e.predictions),
      oracleResults.map((o) => o.predictions),
    );
    for (const e of evaluated) e.metrics.neurips = neurips;
  }
  for (const e of evaluated) {
    const report = await runReportHtml(readConfig(e.dir), e.metrics, oracle.accuracy);
    rewriteRunFiles(e.dir, { metrics: e.metrics, report });
  }
  return evaluated.map((e) => e.metrics);
}
