/**
 * A terminal reporter for the loop's events: a progress bar with ETA and the live training-batch
 * forget / retain accuracy on every long step, and one line per evaluated epoch. On a terminal it
 * redraws one line; otherwise (CI, logs) it prints a line every 10%.
 */
import type { EngineJobState, RunEvent, RunEventHandler } from '../run/events.js';
import { describeJob } from '../run/executors/watch.js';
import type { UnlearnEvent } from '../unlearn/types.js';

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, '0')}`;
}

const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '  -  ');

export class ProgressReporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private label = '';
  private epochs = 0;
  private perEpoch = 0;
  private started = 0;
  private done = 0;
  /** Steps a resumed run had already done (not counted in the rate). */
  private resumedSteps = 0;
  private lastPrinted = -1;
  private recent: { facc: number; racc: number; loss: number }[] = [];

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.tty = stream.isTTY === true;
    this.label = label;
  }

  readonly handle = (event: UnlearnEvent): void => {
    switch (event.type) {
      case 'start':
        this.epochs = event.epochs;
        this.perEpoch = event.stepsPerEpoch;
        this.started = performance.now();
        this.done = event.resumed?.step ?? 0;
        this.resumedSteps = this.done;
        if (event.resumed)
          this.line(
            `${this.label}: resuming after epoch ${event.resumed.epoch} of ${event.epochs}`,
          );
        break;
      case 'step':
        this.done++;
        this.recent.push(event.record);
        if (this.recent.length > 20) this.recent.shift();
        this.draw(event.epoch);
        break;
      case 'evaluate':
        this.line(`${this.label}: evaluating ${event.what} (epoch ${event.epoch}) in eval mode`);
        break;
      case 'epoch': {
        const r = event.record;
        this.line(
          `${this.label}: epoch ${r.epoch}  eval-mode accuracy  forget ${pct(r.forget)}  retain ${pct(r.retain)}  test ${pct(r.test)}`,
        );
        break;
      }
      case 'end':
        this.line(`${this.label}: done in ${formatSeconds(event.seconds)} (evaluation excluded)`);
        break;
    }
  };

  private mean(key: 'facc' | 'racc' | 'loss'): number {
    const values = this.recent.map((r) => r[key]).filter(Number.isFinite);
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  }

  private draw(epoch: number): void {
    const total = this.epochs * this.perEpoch;
    const fraction = total > 0 ? this.done / total : 0;
    const elapsed = (performance.now() - this.started) / 1000;
    const doneHere = this.done - this.resumedSteps;
    const eta = doneHere > 0 ? (elapsed / doneHere) * (total - this.done) : NaN;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const text =
      `${this.label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% epoch ${epoch}/${this.epochs} ` +
      `step ${this.done}/${total} ETA ${formatSeconds(eta)}  batch facc ${pct(this.mean('facc'))} racc ${pct(this.mean('racc'))} loss ${this.mean('loss').toFixed(3)}`;
    if (this.tty) {
      this.stream.write(`\r${text.slice(0, (this.stream.columns ?? 160) - 1)}\x1b[K`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== this.lastPrinted) {
        this.lastPrinted = decile;
        this.stream.write(`${text}\n`);
      }
    }
  }

  /** Prints a message on its own line (clearing a drawn bar first). */
  line(text: string): void {
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${text}\n`);
  }
}

/**
 * What a followed plan's `engine` event prints: a line per job whose state changed, then one
 * summary (`slurm: 3/7 runs finished; 2 RUNNING, 2 PENDING (Resources); last change 0:42 ago`).
 */
export function engineLines(event: Extract<RunEvent, { type: 'engine' }>): string[] {
  // A job per line; three or more that came to the same state, on one.
  const groups = new Map<string, EngineJobState[]>();
  for (const j of event.changed) {
    const what = `${j.state}${j.reason ? ` (${j.reason})` : ''}`;
    groups.set(what, [...(groups.get(what) ?? []), j]);
  }
  const lines = [...groups].flatMap(([what, jobs]) =>
    jobs.length >= 3
      ? [
          `${event.engine}: ${jobs.length} jobs ${what}: ${jobs.map((j) => `${j.id}${j.engineId ? ` [${j.engineId}]` : ''}`).join(', ')}`,
        ]
      : jobs.map(
          (j) =>
            `${event.engine}: ${describeJob(j)}${j.attempt && j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}`,
        ),
  );
  const counts = new Map<string, number>();
  for (const j of event.jobs) {
    const what = `${j.state}${j.state === 'PENDING' && j.reason ? ` (${j.reason})` : ''}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const states = [...counts].map(([what, n]) => `${n} ${what}`).join(', ');
  lines.push(
    `${event.engine}: ${event.done}/${event.total} runs finished; ${states || 'no jobs queued'}; last change ${formatSeconds(event.idleSeconds)} ago${event.extra ? `; ${event.extra}` : ''}`,
  );
  return lines;
}

/**
 * Subscribes the terminal to the run layer's events: a progress bar per run, notes as lines on
 * stderr; `onRun` may print a line when a run starts (or return null to stay quiet).
 */
export function runReporter(
  options: { onRun?: (label: string) => string | null; extra?: RunEventHandler } = {},
): RunEventHandler {
  const bars = new Map<string, ProgressReporter>();
  return (event) => {
    options.extra?.(event);
    switch (event.type) {
      case 'loop': {
        let bar = bars.get(event.label);
        if (!bar || event.event.type === 'start') {
          bar = new ProgressReporter(event.label);
          bars.set(event.label, bar);
        }
        bar.handle(event.event);
        break;
      }
      case 'run': {
        const line = options.onRun?.(event.label);
        if (line) console.error(line);
        break;
      }
      case 'note':
        console.error(event.message);
        break;
      case 'engine':
        for (const line of engineLines(event)) console.error(line);
        break;
      case 'job':
        if (event.state === 'failed') console.error(`${event.id}: failed: ${event.error}`);
        break;
    }
  };
}
