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
  /** Something the user should know that is not an error (a checkpoint ignored, a lock waited on). */
  | { type: 'note'; message: string };

export type RunEventHandler = (event: RunEvent) => void;

/** The handler that drops every event. */
export const ignoreEvents: RunEventHandler = () => {};
