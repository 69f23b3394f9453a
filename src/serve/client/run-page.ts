/**
 * One run, live: the seed's figure (batch forget and retain accuracy per step), the loss, and the
 * eval-mode accuracies per epoch, drawn from the run's event log as the server streams it, with
 * the progress and ETA; a finished run without a log is drawn from its metrics.
 */
import type { LogRecord } from '../../run/event-log.js';
import type { RunMetrics } from '../../records/metrics.js';
import { progressOf } from '../progress.js';
import type { RunSummary } from '../views.js';
import { chartBox, COLORS, lineChart, type LineChart } from './charts.js';
import { clear, duration, fixed, follow, h, link, pct, q, stateBadge } from './dom.js';

interface RunDetail {
  summary: RunSummary;
  config: Record<string, unknown> | { unreadable: string } | null;
  metrics: RunMetrics | { unreadable: string } | null;
}

export function runPage(initial: { run: RunDetail }): void {
  const app = document.getElementById('app')!;
  let detail = initial.run;
  let records: LogRecord[] = [];
  const problems: string[] = [];
  const cards = h('div', { class: 'cards', id: 'cards' });
  const links = h('p', { id: 'links' });
  const problemBox = h('div', { id: 'problems' });
  const batch = chartBox('chart-batch', 'Batch accuracy per step (the seed figure)');
  const loss = chartBox('chart-loss', 'Loss per step');
  const evals = chartBox('chart-eval', 'Eval-mode accuracy per epoch');
  clear(
    app,
    cards,
    links,
    problemBox,
    h('h2', {}, 'Training curves'),
    h('div', { class: 'grid2' }, h('div', {}, batch.box), h('div', {}, loss.box)),
    evals.box,
  );
  const charts = {
    batch: lineChart(
      batch.canvas,
      [
        { label: 'batch facc (forget)', color: COLORS.forget },
        { label: 'batch racc (retain)', color: COLORS.retain },
      ],
      { x: 'step', y: 'accuracy', percent: true },
    ),
    loss: lineChart(loss.canvas, [{ label: 'loss', color: COLORS.loss }], { x: 'step', y: 'loss' }),
    evals: lineChart(
      evals.canvas,
      [
        { label: 'forget', color: COLORS.forget },
        { label: 'retain', color: COLORS.retain },
        { label: 'test', color: COLORS.test },
      ],
      { x: 'epoch', y: 'accuracy', percent: true },
    ),
  };

  const renderCards = (): void => {
    const s = detail.summary;
    const p = records.length ? progressOf(records, s.progress?.updated ?? Date.now()) : s.progress;
    const lastStep = [...records].reverse().find((r) => r.type === 'step') as
      Extract<LogRecord, { type: 'step' }> | undefined;
    const m = detail.metrics && 'accuracy' in detail.metrics ? detail.metrics : null;
    document.getElementById('subtitle')!.textContent = [
      s.command,
      s.method,
      s.data,
      s.model,
      s.forget && `forget ${s.forget}`,
      s.seed !== undefined && `seed ${s.seed}`,
      s.precision,
      s.scenario && `scenario ${s.scenario}`,
    ]
      .filter(Boolean)
      .join(' · ');
    const card = (cls: string, label: string, value: Node | string, sub?: string): HTMLElement =>
      h(
        'div',
        { class: `card ${cls}` },
        h('div', { class: 'label' }, label),
        h('div', { class: 'value' }, value),
        sub ? h('div', { class: 'sub' }, sub) : null,
      );
    clear(
      cards,
      card(
        '',
        'State',
        stateBadge(s.state, s.reason),
        s.verified ? 'digests verified' : s.state === 'finished' ? 'verifying digests…' : '',
      ),
      card(
        '',
        'Progress',
        p ? `${p.step}/${p.totalSteps}` : '—',
        p
          ? `epoch ${p.epoch}/${p.epochs} · ETA ${s.state === 'finished' ? '0 s' : duration(p.eta)}`
          : 'no event log',
      ),
      card(
        'forget',
        m ? 'Forget acc.' : 'Batch facc',
        m ? pct(m.accuracy.forget) : pct(lastStep?.facc),
        lastStep ? `loss ${fixed(lastStep.loss)}` : '',
      ),
      card(
        'retain',
        m ? 'Retain acc.' : 'Batch racc',
        m ? pct(m.accuracy.retain) : pct(lastStep?.racc),
      ),
      card('test', 'Test acc.', m ? pct(m.accuracy.test) : '—', m ? duration(m.seconds) : ''),
    );
    clear(
      links,
      ...[
        s.hasReport ? link(`/report?path=${q(s.path)}`, 'report') : null,
        s.hasPredictions && s.command === 'unlearn'
          ? link(`/forget?path=${q(s.path)}`, 'forget set as pictures')
          : null,
        s.comparison !== undefined
          ? link(`/comparison?path=${q(s.comparison)}`, 'its comparison')
          : null,
      ]
        .filter((x): x is HTMLAnchorElement => x !== null)
        .flatMap((a, i) => (i ? [document.createTextNode(' · '), a] : [a])),
    );
    clear(
      problemBox,
      ...(problems.length
        ? [
            h(
              'div',
              { class: 'callout' },
              h('strong', {}, 'Unreadable lines in events.jsonl'),
              problems.slice(-5).join('; '),
            ),
          ]
        : []),
    );
  };

  let pending = false;
  const redraw = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      // By step and by epoch, the latest record wins: a resumed run's log repeats the steps and
      // epochs after its checkpoint, and epoch 0 is logged before the loop's start record.
      const bySteps = new Map<number, Extract<LogRecord, { type: 'step' }>>();
      const byEpoch = new Map<number, Extract<LogRecord, { type: 'epoch' }>>();
      for (const r of records) {
        if (r.type === 'step') bySteps.set(r.step, r);
        else if (r.type === 'epoch') byEpoch.set(r.epoch, r);
      }
      const steps = [...bySteps.values()].sort((a, b) => a.step - b.step);
      const epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
      const m = detail.metrics && 'history' in detail.metrics ? detail.metrics : null;
      const stepRows = steps.length ? steps : (m?.history.steps ?? []);
      const epochRows = epochs.length ? epochs : (m?.history.epochs ?? []);
      const n = (v: number): number | null => (Number.isFinite(v) ? v : null);
      charts.batch.data.datasets[0].data = stepRows.map((r) => ({ x: r.step, y: n(r.facc) }));
      charts.batch.data.datasets[1].data = stepRows.map((r) => ({ x: r.step, y: n(r.racc) }));
      charts.loss.data.datasets[0].data = stepRows.map((r) => ({ x: r.step, y: n(r.loss) }));
      charts.evals.data.datasets[0].data = epochRows.map((r) => ({ x: r.epoch, y: r.forget }));
      charts.evals.data.datasets[1].data = epochRows.map((r) => ({ x: r.epoch, y: r.retain }));
      charts.evals.data.datasets[2].data = epochRows.map((r) => ({ x: r.epoch, y: r.test }));
      for (const c of Object.values(charts) as LineChart[]) c.update('none');
      document.body.dataset.steps = String(stepRows.length);
      renderCards();
    });
  };

  renderCards();
  redraw();
  follow(`/api/run/stream?path=${q(detail.summary.path)}`, {
    reset: () => {
      records = [];
      problems.length = 0;
    },
    records: (data) => {
      const d = data as { records: LogRecord[]; problems: string[] };
      records.push(
        ...d.records.map((r) =>
          r.type === 'step' ? { ...r, facc: r.facc ?? NaN, racc: r.racc ?? NaN } : r,
        ),
      );
      problems.push(...d.problems);
      redraw();
    },
    run: (data) => {
      detail = data as RunDetail;
      redraw();
    },
  });
}
