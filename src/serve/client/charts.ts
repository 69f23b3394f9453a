/** Chart.js (inlined by the server as a global, like the reports) with the reports' colours. */
import type { Chart as ChartClass, ChartConfiguration } from 'chart.js';

declare const Chart: typeof ChartClass;

export const COLORS = {
  forget: '#d55e00',
  retain: '#0072b2',
  test: '#009e73',
  loss: '#6b4c9a',
  oracle: '#888888',
};

export type LineChart = ChartClass<'line', { x: number; y: number | null }[]>;

/** A line chart on a linear x axis, without animation (it is redrawn as data arrives). */
export function lineChart(
  canvas: HTMLCanvasElement,
  series: { label: string; color: string }[],
  opts: { x: string; y: string; percent?: boolean },
): LineChart {
  const config: ChartConfiguration<'line', { x: number; y: number | null }[]> = {
    type: 'line',
    data: {
      datasets: series.map((s) => ({
        label: s.label,
        data: [],
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: 1.5,
        // Points only while there are few of them (a one-epoch run is otherwise invisible).
        pointRadius: (ctx: { dataset: { data: unknown[] } }) =>
          ctx.dataset.data.length < 60 ? 2 : 0,
        spanGaps: true,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: { type: 'linear', title: { display: true, text: opts.x } },
        y: {
          title: { display: true, text: opts.y },
          ...(opts.percent
            ? { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(Number(v) * 100)}%` } }
            : {}),
        },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  };
  return new Chart(canvas, config) as LineChart;
}

export function barChart(
  canvas: HTMLCanvasElement,
  labels: string[],
  series: { label: string; color: string; data: (number | null)[] }[],
  y: string,
): ChartClass<'bar'> {
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s) => ({ label: s.label, data: s.data, backgroundColor: s.color })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { min: 0, max: 1, title: { display: true, text: y } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

export function chartBox(
  id: string,
  label: string,
): { box: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const inner = document.createElement('div');
  inner.className = 'chart';
  inner.append(canvas);
  const box = document.createElement('figure');
  box.className = 'chart-figure';
  const title = document.createElement('h3');
  title.textContent = label;
  box.append(title, inner);
  return { box, canvas };
}
