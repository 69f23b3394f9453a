/**
 * The shape of an audit's `audit.json` (`lethe audit`: U-LiRA against retraining, src/run/audit.ts).
 * Like `metrics.ts`, on the ground floor: the run layer writes it, the report renders it, the
 * dashboard reads it; it imports nothing above it.
 */
import type { JobFailure, Verdict } from './metrics.js';

/** One method's row of `audit.json`. */
export interface AuditEntry {
  method: string;
  accuracy: { mean: number; ci95: [number, number] };
  auc: number;
  'tpr@1%fpr': number;
  'tpr@5%fpr': number;
  /** Targets judged and (target, example) observations scored. */
  targets: number;
  scored: { unlearned: number; retrained: number };
  /** The method's mean eval-mode accuracies over its shadow runs (what the attack costs it). */
  meanAccuracy: { forget: number; retain: number; test: number };
  /** The attack's balanced accuracy per target (shadow order). */
  perTarget: number[];
  /** The verdict's rule on the mean accuracies against the retrained shadows' (no MIA here). */
  verdict?: Verdict;
}

/** `audit.json`. */
export interface Audit {
  attack: 'u-lira';
  scenario: string | null;
  data: string;
  shadows: number;
  targets: number;
  auditSet: number;
  variance: 'global' | 'per-example';
  entries: AuditEntry[];
  /** Training seconds summed over the runs of each kind (shadow originals, retrain, methods). */
  runSeconds: Record<string, number>;
  /** Wall time of the command that ran the audit to its end (this invocation only, on resume). */
  wallSeconds?: number;
  /** How the command ran it: executor and processes. */
  ranWith?: Record<string, unknown>;
  failed?: JobFailure[];
}
