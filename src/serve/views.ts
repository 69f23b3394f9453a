/**
 * What the dashboard's server sends and its pages draw: the summaries of runs, comparisons and
 * audits that the scanner (`scan.ts`) reads off a served root. The browser pages import these
 * types too, so this file holds types only.
 */
import type { RunProgress } from './progress.js';

export type { RunProgress };

export type RunState = 'finished' | 'running' | 'interrupted' | 'failed' | 'unreadable';

export interface RunSummary {
  kind: 'run';
  /** Relative to the served root, `/`-separated. */
  path: string;
  state: RunState;
  /** Why it is unreadable or failed. */
  reason?: string;
  /** Every digest of run.json checked (false while the check is pending). */
  verified: boolean;
  command?: string;
  method?: string;
  data?: string;
  model?: string;
  forget?: string;
  seed?: number;
  precision?: string;
  scenario?: string;
  device?: string;
  executor?: string;
  /** The comparison it belongs to. */
  comparison?: string;
  metrics?: {
    forget: number;
    retain: number;
    test: number;
    seconds: number;
    gapAvg?: number;
    miaSimple?: number;
  };
  progress?: RunProgress;
  hasReport: boolean;
  hasPredictions: boolean;
  updated: number;
}

export interface JobView {
  id: string;
  index: number | null;
  /** The run's directory relative to the root (null when outside it). */
  path: string | null;
  method: string;
  seed: number | null;
  state: RunState | 'waiting';
  error?: string;
  host?: string;
}

export interface ComparisonSummary {
  kind: 'comparison';
  path: string;
  state: 'finished' | 'running' | 'incomplete' | 'unreadable';
  reason?: string;
  data?: string;
  model?: string;
  forget?: string;
  methods: string[];
  seeds: number[];
  executor: string;
  jobs: { total: number; finished: number; running: number; failed: number };
  hasReport: boolean;
  updated: number;
}

export interface AuditSummary {
  kind: 'audit';
  path: string;
  state: 'finished' | 'unreadable';
  reason?: string;
  attack?: string;
  data?: string;
  scenario?: string | null;
  shadows?: number;
  targets?: number;
  methods: string[];
  hasExamples: boolean;
}

export interface ServedIndex {
  root: string;
  runs: RunSummary[];
  comparisons: ComparisonSummary[];
  audits: AuditSummary[];
  scannedAt: number;
}
