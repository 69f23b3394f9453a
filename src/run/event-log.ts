/**
 * A run's event log, `events.jsonl` in its directory: one JSON record per line, appended while
 * the run's loop works (its start with the total number of steps, every step's batch accuracies
 * and loss, every epoch's eval-mode accuracies, its end). `lethe serve` follows the file to show
 * a run live; it is written by the run layer so that every executor writes it.
 *
 * The log is not part of the committed run (run.json does not list it): it stays in a finished
 * run directory as the record of how the run went, and is started over when a run starts over
 * (a resumed run appends to it, after a new `start` record).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochRecord, StepRecord } from '../records/metrics.js';
import type { EventHandler, UnlearnEvent } from '../unlearn/types.js';

export const EVENTS_FILE = 'events.jsonl';
export const EVENTS_FORMAT = 'lethe-events/1';

/** One line of `events.jsonl`; `t` is the time it was written, in ms since the epoch. */
export type LogRecord =
  | {
      type: 'start';
      format: typeof EVENTS_FORMAT;
      t: number;
      label: string;
      method: string;
      epochs: number;
      stepsPerEpoch: number;
      /** epochs × stepsPerEpoch: with the steps done, what an ETA needs. */
      totalSteps: number;
      /** The step the run continues from (0 unless resumed). */
      fromStep: number;
    }
  | ({ type: 'step'; t: number; epoch: number } & StepRecord)
  | ({ type: 'epoch'; t: number } & EpochRecord)
  | { type: 'end'; t: number; seconds: number };

/** The record a loop event is logged as; null for events the log leaves out. */
export function logRecord(label: string, event: UnlearnEvent, t = Date.now()): LogRecord | null {
  switch (event.type) {
    case 'start':
      return {
        type: 'start',
        format: EVENTS_FORMAT,
        t,
        label,
        method: event.method,
        epochs: event.epochs,
        stepsPerEpoch: event.stepsPerEpoch,
        totalSteps: event.epochs * event.stepsPerEpoch,
        fromStep: event.resumed?.step ?? 0,
      };
    case 'step':
      return { type: 'step', t, epoch: event.epoch, ...event.record };
    case 'epoch':
      return { type: 'epoch', t, ...event.record };
    case 'end':
      return { type: 'end', t, seconds: event.seconds };
    default:
      return null;
  }
}

/** An open event log: {@link EventLog.tee} a loop's handler through it, then close it. */
export interface EventLog {
  tee(handler: EventHandler): EventHandler;
  close(): void;
}

/**
 * Opens `<dir>/events.jsonl`: appended to when the run continues (`resumed`), started over
 * otherwise. A log that cannot be written (a full disk) stops logging; the run goes on.
 */
export function openEventLog(dir: string, label: string, resumed: boolean): EventLog {
  let fd: number | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(join(dir, EVENTS_FILE), resumed ? 'a' : 'w');
  } catch {
    fd = null;
  }
  const close = (): void => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return {
    tee: (handler) => (event) => {
      const record = fd === null ? null : logRecord(label, event);
      if (record) {
        try {
          writeSync(fd!, `${JSON.stringify(record)}\n`);
        } catch {
          close();
        }
      }
      handler(event);
    },
    close,
  };
}

/** What {@link parseEventLog} makes of a log: its records, and the lines it could not read. */
export interface ParsedLog {
  records: LogRecord[];
  /** Malformed lines as `line <n>: <why>`; a last line without its newline is not one of them. */
  problems: string[];
  /** Bytes of `text` read (up to the last newline): a follower reads on from there. */
  consumed: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks one parsed line; returns why it is not a record, or null. */
function checkRecord(r: unknown): string | null {
  if (typeof r !== 'object' || r === null) return 'not an object';
  const o = r as Record<string, unknown>;
  if (!finite(o.t)) return "no time 't'";
  const need = (keys: string[]): string | null => {
    const bad = keys.find((k) => !finite(o[k]));
    return bad ? `${o.type} record without a number '${bad}'` : null;
  };
  switch (o.type) {
    case 'start':
      if (o.format !== EVENTS_FORMAT) return `start record of format ${JSON.stringify(o.format)}`;
      return need(['epochs', 'stepsPerEpoch', 'totalSteps', 'fromStep']);
    case 'step':
      // A batch without forget examples has facc NaN, written as null.
      if (o.facc === null) o.facc = Number.NaN;
      if (o.racc === null) o.racc = Number.NaN;
      return (
        need(['epoch', 'step', 'loss']) ??
        (typeof o.facc === 'number' && typeof o.racc === 'number'
          ? null
          : 'step record without facc/racc')
      );
    case 'epoch':
      return need(['epoch', 'forget', 'retain', 'test']);
    case 'end':
      return need(['seconds']);
    default:
      return `unknown type ${JSON.stringify(o.type)}`;
  }
}

/**
 * Reads the complete lines of an event log's text (`startLine` numbers the first for messages).
 * A half-written last line is left for the next read.
 */
export function parseEventLog(text: string, startLine = 1): ParsedLog {
  const end = text.lastIndexOf('\n') + 1;
  const records: LogRecord[] = [];
  const problems: string[] = [];
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      problems.push(`line ${startLine + i}: not JSON (${(error as Error).message})`);
      return;
    }
    const why = checkRecord(value);
    if (why) problems.push(`line ${startLine + i}: ${why}`);
    else records.push(value as LogRecord);
  });
  return { records, problems, consumed: Buffer.byteLength(text.slice(0, end)) };
}
