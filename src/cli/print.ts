/** What several commands print: an audit's table, a trained original's memorization, a run's summary. */
import { join } from 'node:path';
import type { Audit } from '../records/audit.js';
import { renderAuditMarkdown } from '../report/audit-markdown.js';
import { readMetrics } from '../run/rundir.js';
import { memorizationCheck } from '../run/scenarios.js';

/** Prints an audit's table and where its files are; exit code 1 when a job failed. */
export function printAudit(audit: Audit, out: string): number {
  process.stdout.write(renderAuditMarkdown(audit));
  console.log(
    `audit: ${join(out, 'audit.json')} (per example: examples.json, table: audit.md)${audit.wallSeconds !== undefined ? ` in ${audit.wallSeconds.toFixed(0)} s` : ''}`,
  );
  for (const f of audit.failed ?? [])
    console.error(`lethe: job ${f.job} failed: ${f.error}${f.log ? ` (log: ${f.log})` : ''}`);
  return audit.failed?.length ? 1 : 0;
}

export const pct = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '-';

/** Says how far a trained original memorized; warns when it missed its scenario's target. */
export function printMemorization(dir: string): void {
  const m = readMetrics(dir).memorization;
  if (!m) return;
  const check = memorizationCheck(m, m.target);
  if (check && !check.reached) console.error(`lethe: warning: ${dir}: ${check.message}`);
  else
    console.log(
      `  memorization: train ${pct(m.train)}, test ${pct(m.test)}, gap ${pct(m.gap)}${check ? ' (target reached)' : ''}`,
    );
}

/** Prints where a run is and its accuracies, next to its original's. */
export function printSummary(label: string, dir: string): void {
  const m = readMetrics(dir);
  const a = m.accuracy;
  const o = m.original;
  const line = (name: string, now: number, before?: number): string =>
    `  ${name.padEnd(7)} ${pct(now).padStart(6)}${before !== undefined ? `   (original ${pct(before)})` : ''}`;
  console.log(`${label}: ${dir}`);
  console.log(`  eval-mode accuracy on the full sets, ${m.seconds.toFixed(0)} s`);
  if (Number.isFinite(a.forget as number)) console.log(line('forget', a.forget, o?.forget));
  console.log(line('retain', a.retain, o?.retain));
  console.log(line('test', a.test, o?.test));
  console.log(`  report: ${join(dir, 'report.html')}`);
}
