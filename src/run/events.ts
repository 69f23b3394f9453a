/**
 * What the run layer tells its caller while it works. The library never prints: the CLI's
 * reporter, a log file or a test subscribes to these.
 */
import type { UnlearnEvent } from '../unlearn/types.js';

export type RunEvent =
  /** A run that has to be computed starts (`label` names it: `srfl (seed 1)`). */
  | { type: 'run'; label: string; out: string }
  /** The training or unlearning loop of the run `label`. */
  | { type: 'loop'; label: string; event: UnlearnEvent }
  /** A finished run was found: in its directory, or in the cache (and copied there). */
  | { type: 'reused'; label: string; out: string; cached: boolean }
  /** A job of a plan changed state (see `plan.ts`). */
  | { type: 'job'; id: string; state: 'running' | 'done' | 'skipped' | 'failed'; error?: string }
  /**
   * What an engine (Slurm, a BullMQ queue) says of a followed plan's jobs: every job's state, those
   * that changed since the last such event (empty on a periodic one), runs finished, and seconds
   * since anything moved; `extra`: the engine's own state worth knowing (a node down, say).
   */
  | {
      type: 'engine';
      engine: 'slurm' | 'queue';
      jobs: EngineJobState[];
      changed: EngineJobState[];
      done: number;
      total: number;
      idleSeconds: number;
      extra?: string;
    }
  /** Something the user should know that is not an error (a checkpoint ignored, a lock waited on). */
  | { type: 'note'; message: string };

/** One job as an engine reports it: `PENDING` with its reason, `RUNNING`, `FAILED`, `active`, … */
export interface EngineJobState {
  /** The plan's job id (`finetune/seed-1`), or `aggregate`. */
  id: string;
  /** The engine's id for it: `15_4` (Slurm array task), a BullMQ job id. */
  engineId?: string;
  state: string;
  /** Why: a PENDING job's reason, an exit code, a failure. */
  reason?: string;
  /** Which attempt this is, from 1. */
  attempt?: number;
}

export type RunEventHandler = (event: RunEvent) => void;

/** The handler that drops every event. */
export const ignoreEvents: RunEventHandler = () => {};
