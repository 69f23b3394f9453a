/**
 * A run directory's `report.html`: rendered (src/report) from the run's config and metrics, and
 * written with the run's files or, elsewhere, on its own.
 */
import { join, resolve } from 'node:path';
import type { RunConfig } from '../records/run.js';
import type { Accuracies, RunMetrics } from '../records/metrics.js';
import { renderRunReport, writeReport } from '../report/index.js';
import { getData } from './datasets.js';
import { readConfig, readMetrics, rewriteRunFiles, RUN_FILES, verifyRun } from './rundir.js';

/** Renders `report.html` of a finished run directory from its files (committing it again). */
export async function writeRunReport(
  dir: string,
  oracle?: Accuracies,
  out = join(dir, RUN_FILES.report),
  peers: RunMetrics[] = [],
): Promise<string> {
  verifyRun(dir);
  const metrics = readMetrics(dir);
  const html = await runReportHtml(readConfig(dir), metrics, oracle, peers);
  if (resolve(out) === resolve(dir, RUN_FILES.report)) rewriteRunFiles(dir, { report: html });
  else await writeReport(out, html);
  return out;
}

/** A run's report.html. */
export async function runReportHtml(
  config: RunConfig,
  metrics: RunMetrics,
  oracle?: Accuracies,
  peers: RunMetrics[] = [],
): Promise<string> {
  const data = await getData(config.data).catch(() => null);
  return renderRunReport({
    metrics,
    config: config as unknown as Record<string, unknown>,
    classNames: data ? [...data.train.classNames] : undefined,
    title: `Lethe: ${config.method} on ${config.data} (${config.model}, forget ${config.forget})`,
    oracle: oracle ?? metrics.oracle?.accuracy,
    peers,
  });
}
