/**
 * What a plan's aggregation makes, by the plan's kind: a comparison (`comparison.json`) or an
 * audit (`audit.json`). The executors run any plan's jobs and then this aggregation (here, or as
 * `lethe compare --collect` on a cluster), so a new kind of plan touches only this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Audit } from '../records/audit.js';
import { collectAudit } from './audit.js';
import { collect } from './compare.js';
import type { RunEventHandler } from './events.js';
import type { Comparison, JobFailure } from '../records/metrics.js';
import type { Plan } from './plan.js';
import { LetheError } from '../util/errors.js';

/** A plan's result. */
export type PlanResult = Comparison | Audit;

/** Where a plan's aggregation writes its result. */
export function resultFile(plan: Plan): string {
  return join(plan.out, plan.kind === 'audit' ? 'audit.json' : 'comparison.json');
}

/** Aggregates a plan's finished runs into its result files (the comparison's or the audit's). */
export function collectPlan(
  plan: Plan,
  options: { failures?: Map<number, JobFailure>; onEvent?: RunEventHandler } = {},
): Promise<PlanResult> {
  return plan.kind === 'audit' ? collectAudit(plan, options) : collect(plan, options);
}

/** The result an aggregation elsewhere wrote. */
export function readResult(plan: Plan): PlanResult {
  const file = resultFile(plan);
  if (!existsSync(file)) throw new LetheError('E_JOBS', `${file} was not written`);
  return JSON.parse(readFileSync(file, 'utf8')) as PlanResult;
}

/** The result as a comparison (a comparison plan's), or an error naming what it is. */
export function asComparison(result: PlanResult): Comparison {
  if ('attack' in result) throw new LetheError('E_JOBS', 'expected a comparison but got an audit');
  return result;
}

/** The result as an audit (an audit plan's), or an error naming what it is. */
export function asAudit(result: PlanResult): Audit {
  if (!('attack' in result))
    throw new LetheError('E_JOBS', 'expected an audit but got a comparison');
  return result;
}
