/**
 * How far a run has come, from its event log: the step and epoch reached and the time left at the
 * rate of its steps so far. Pure (no I/O), so the server and the page's script share it.
 */
import type { LogRecord } from '../run/event-log.js';

export interface RunProgress {
  label: string;
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  /** Seconds left at the rate of the steps so far; null before two steps. */
  eta: number | null;
  /** When the log was last written (ms since the epoch). */
  updated: number;
}

/** How far a run's log has come, and the time left at its rate so far. */
export function progressOf(records: LogRecord[], updated: number): RunProgress | undefined {
  let startAt = -1;
  records.forEach((r, i) => r.type === 'start' && (startAt = i));
  if (startAt < 0) return undefined;
  const start = records[startAt] as Extract<LogRecord, { type: 'start' }>;
  const steps = records.slice(startAt).filter((r) => r.type === 'step');
  const lastStep = steps.at(-1) as Extract<LogRecord, { type: 'step' }> | undefined;
  const done = lastStep ? lastStep.step + 1 : start.fromStep;
  let eta: number | null = null;
  const ended = records.at(-1)?.type === 'end';
  if (ended) eta = 0;
  else if (steps.length >= 2) {
    const first = steps[0];
    const rate = (lastStep!.t - first.t) / (steps.length - 1);
    eta = Math.max(0, ((start.totalSteps - done) * rate) / 1000);
  }
  return {
    label: start.label,
    epoch: lastStep?.epoch ?? 0,
    epochs: start.epochs,
    step: done,
    totalSteps: start.totalSteps,
    eta,
    updated,
  };
}
