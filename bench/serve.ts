/**
 * `lethe serve` on the size of the N = 32 comparison: 225 runs (the original, then the retrain
 * oracle and 6 methods for each of 32 seeds), generated through the real writers with 400-step
 * histories. Measures in Chromium (/usr/bin/chromium, through playwright-core):
 *   - the first paint of the runs list (navigation to all 225 rows drawn), and of the comparison;
 *   - an event's latency: from a step record appended to a running run's events.jsonl to the
 *     run page showing it (median and worst of 20).
 * LETHE_SERVE_SCREENSHOTS=<dir> keeps a screenshot of the 225-run list and comparison there.
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logRecord } from '../src/run/event-log.js';
import { summarise } from '../src/run/compare.js';
import type { RunMetrics } from '../src/records/metrics.js';
import { startDashboard } from '../src/serve/app.js';
import { launchChromium } from '../test/chromium-helpers.js';
import { writeFixtureRun } from '../test/serve-helpers.js';

const METHODS = ['retrain', 'srfl', 'finetune', 'neggrad+', 'scrub', 'salun', 'l1-sparse'];
const SEEDS = 32;
const STEPS = 400;

function metricsFor(method: string, seed: number): Partial<RunMetrics> {
  const r = (k: number): number =>
    (((Math.sin(seed * 12.9898 + k * 78.233) * 43758.5453) % 1) + 1) % 1;
  const forget = method === 'retrain' ? 0.9 + 0.02 * r(1) : 0.85 + 0.1 * r(2);
  return {
    accuracy: { forget, retain: 0.97 + 0.02 * r(3), test: 0.9 + 0.02 * r(4) },
    seconds: 20 + 10 * r(5),
    history: {
      epochs: Array.from({ length: 11 }, (_, e) => ({ epoch: e, forget, retain: 0.97, test: 0.9 })),
      steps: Array.from({ length: STEPS }, (_, s) => ({
        step: s,
        facc: 0.9,
        racc: 0.95,
        loss: 1 / (1 + s),
      })),
    },
    mia: { simple: 0.5 + 0.05 * r(6), efficacy: 0.1 + 0.05 * r(7) },
    gap: { forget: 0.02, retain: 0.01, test: 0.01, mia: 0.03, avg: 0.0175 + 0.01 * r(8) },
  };
}

/** The 225-run comparison directory, with its plan, job states and comparison.json. */
function generate(root: string): void {
  const cmp = join(root, 'cmp');
  const data = 'fashion-mnist,subset=5000';
  const common = {
    data,
    forget: [1, 2, 3, 4],
    trainSize: 40,
    labelOf: (i: number) => i % 4,
    classes: 4,
    logit: () => 0,
  };
  writeFixtureRun(join(cmp, 'original'), { ...common, command: 'train', method: 'train' });
  const jobs: object[] = [{ id: 'original', out: join(cmp, 'original'), spec: { kind: 'train' } }];
  const byMethod = new Map<string, RunMetrics[]>();
  for (const method of METHODS)
    for (let seed = 0; seed < SEEDS; seed++) {
      const out = join(cmp, method, `seed-${seed}`);
      const metrics = metricsFor(method, seed);
      writeFixtureRun(out, { ...common, method, seed, from: join(cmp, 'original'), metrics });
      jobs.push({ id: `${method}/seed-${seed}`, out, spec: { kind: 'unlearn', method, seed } });
      byMethod.set(method, [...(byMethod.get(method) ?? []), { method, ...metrics } as RunMetrics]);
    }
  mkdirSync(join(cmp, 'plan', 'jobs'), { recursive: true });
  writeFileSync(
    join(cmp, 'plan', 'plan.json'),
    JSON.stringify({ format: 'lethe-plan/1', out: cmp, forget: 'random:0.1', jobs }),
  );
  jobs.forEach((_, i) =>
    writeFileSync(
      join(cmp, 'plan', 'jobs', `${i}.json`),
      JSON.stringify({ state: 'done', host: 'node1', pid: 1, at: '' }),
    ),
  );
  const seeds = Array.from({ length: SEEDS }, (_, s) => s);
  writeFileSync(
    join(cmp, 'comparison.json'),
    JSON.stringify({
      forget: 'random:0.1',
      data,
      model: 'resnet18',
      entries: METHODS.map((m) => summarise(m, seeds, byMethod.get(m)!)),
    }),
  );
}

export default async function bench(): Promise<object[]> {
  const base = mkdtempSync(join(tmpdir(), 'lethe-bench-serve-'));
  const root = join(base, 'runs');
  let t0 = performance.now();
  generate(root);
  const generateMs = performance.now() - t0;
  // A run in progress, for the event latency.
  const live = join(root, 'live');
  mkdirSync(live, { recursive: true });
  const log = join(live, 'events.jsonl');
  writeFileSync(
    log,
    `${JSON.stringify(logRecord('srfl', { type: 'start', method: 'srfl', epochs: 10, stepsPerEpoch: 40, options: {} }))}\n`,
  );

  t0 = performance.now();
  const dash = await startDashboard({ dir: root, port: 0 });
  const startMs = performance.now() - t0;
  const browser = await launchChromium();
  const shots = process.env.LETHE_SERVE_SCREENSHOTS;
  try {
    const page = await browser.newPage();
    // Timeouts for a loaded machine: the figures are what is measured, whatever they are.
    page.setDefaultTimeout(600_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    // Warm the browser and the bundle once; then time fresh navigations.
    await page.goto(dash.url);
    await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 226);
    const paint = async (path: string, ready: string): Promise<{ wall: number; fcp: number }> => {
      const times: { wall: number; fcp: number }[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await page.goto(new URL(path, dash.url).href);
        await page.waitForFunction(ready, null, { polling: 'raf' });
        const wall = performance.now() - start;
        const fcp = await page.evaluate(
          () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
        );
        times.push({ wall, fcp });
      }
      times.sort((a, b) => a.wall - b.wall);
      return times[2];
    };
    const list = await paint('/', "document.querySelectorAll('tr.run').length === 226");
    if (shots) await page.screenshot({ path: join(shots, 'bench-runs-1280.png') });
    const comparison = await paint(
      '/comparison?path=cmp',
      "document.querySelectorAll('tr.job').length === 225 && !!document.querySelector('#verdict-box')",
    );
    if (shots) await page.screenshot({ path: join(shots, 'bench-comparison-1280.png') });

    await page.goto(new URL('/run?path=live', dash.url).href);
    await page.waitForFunction(() => document.body.dataset.steps === '0');
    const latencies: number[] = [];
    for (let s = 0; s < 20; s++) {
      const written = Date.now();
      appendFileSync(
        log,
        `${JSON.stringify(logRecord('srfl', { type: 'step', epoch: 1, stepsPerEpoch: 40, record: { step: s, facc: 0.5, racc: 0.9, loss: 1 } }))}\n`,
      );
      await page.waitForFunction((n) => document.body.dataset.steps === String(n), s + 1, {
        polling: 'raf',
      });
      latencies.push(Date.now() - written);
      await page.waitForTimeout(137);
    }
    latencies.sort((a, b) => a - b);
    return [
      { name: 'serve: generate 225 committed runs', lethe_ms: Math.round(generateMs) },
      { name: 'serve: start (first scan of 226 runs)', lethe_ms: Math.round(startMs) },
      {
        name: 'serve: runs list, 226 rows drawn (median of 5)',
        lethe_ms: Math.round(list.wall),
        first_contentful_paint_ms: Math.round(list.fcp),
      },
      {
        name: 'serve: comparison of 225 runs drawn (median of 5)',
        lethe_ms: Math.round(comparison.wall),
        first_contentful_paint_ms: Math.round(comparison.fcp),
      },
      {
        name: 'serve: event written → on the page (20 events)',
        lethe_ms: latencies[10],
        worst_ms: latencies.at(-1),
        best_ms: latencies[0],
      },
    ];
  } finally {
    await browser.close();
    await dash.close();
  }
}
