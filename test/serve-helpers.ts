/**
 * Run directories for `lethe serve`'s tests, written through the real writers (commitRun), with
 * predictions whose logits the test chooses, so every number a page shows can be computed by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Split } from '../src/data/split.js';
import type { Predictions, SetPredictions } from '../src/models/predict.js';
import { Linear } from '../src/nn/index.js';
import type { RunMetrics } from '../src/records/metrics.js';
import { commitRun, runVersions, type RunConfig } from '../src/run/rundir.js';

/** Predictions for `indices` (labels `labels`) with logits from `logit(index, class)`. */
export function predictionsOf(
  indices: number[],
  labels: number[],
  classes: number,
  logit: (index: number, c: number) => number,
): Predictions {
  const logits = new Float32Array(indices.length * classes);
  indices.forEach((k, i) => {
    for (let c = 0; c < classes; c++) logits[i * classes + c] = logit(k, c);
  });
  return {
    logits,
    labels: Int32Array.from(labels),
    indices: Int32Array.from(indices),
    numClasses: classes,
  };
}

export interface FixtureRun {
  command?: 'train' | 'unlearn';
  method: string;
  data: string;
  forget: number[];
  trainSize: number;
  labelOf: (index: number) => number;
  classes: number;
  logit: (index: number, c: number) => number;
  from?: string;
  seed?: number;
  metrics?: Partial<RunMetrics>;
  scenario?: string;
}

/** Commits a run directory at `dir` with the given predictions (as `commitRun` does for a real run). */
export function writeFixtureRun(dir: string, run: FixtureRun): void {
  const forget = run.forget;
  const retain = Array.from({ length: run.trainSize }, (_, i) => i).filter(
    (i) => !forget.includes(i),
  );
  const split: Split = {
    seed: run.seed ?? 0,
    forgetSpec: `indices:${forget.length}`,
    forget: Int32Array.from(forget),
    retain: Int32Array.from(retain),
    val: Int32Array.from([0]),
    test: Int32Array.from([1, 2]),
    trainSize: run.trainSize,
    testSize: 3,
  };
  const part = (indices: number[]): Predictions =>
    predictionsOf(indices, indices.map(run.labelOf), run.classes, run.logit);
  const predictions: SetPredictions = {
    forget: part(forget),
    retain: part(retain),
    test: part([1, 2]),
    val: part([0]),
  };
  const config: RunConfig = {
    command: run.command ?? 'unlearn',
    method: run.method,
    data: run.data,
    model: 'linear',
    modelOptions: {} as RunConfig['modelOptions'],
    forget: run.command === 'train' ? 'none' : `indices:${forget.length}`,
    seed: run.seed ?? 0,
    device: 'cpu',
    precision: 'fp32',
    threads: 1,
    options: {},
    ...(run.from ? { from: run.from } : {}),
    ...(run.scenario ? { scenario: { name: run.scenario, settings: {} } as never } : {}),
    createdAt: new Date(0).toISOString(),
    versions: runVersions(),
  };
  const metrics: RunMetrics = {
    method: run.method,
    accuracy: { forget: 0.25, retain: 0.75, test: 0.5 },
    seconds: 1.5,
    history: { epochs: [], steps: [] },
    ...run.metrics,
  };
  const model = new Linear(2, run.classes);
  try {
    commitRun(dir, {
      config,
      split,
      model,
      predictions,
      metrics,
      report: '<!doctype html><title>report</title><p>the run report',
    });
  } finally {
    model.dispose();
  }
}

/** Writes `examples.json` and `audit.json` of a membership audit into `dir`. */
export function writeAudit(
  dir: string,
  data: string,
  method: string,
  examples: { index: number; label: number; accuracy: number; separation: number }[],
): void {
  mkdirSync(dir, { recursive: true });
  const stats = { n: 4, mean: 1, std: 0.5 };
  writeFileSync(
    join(dir, 'audit.json'),
    JSON.stringify({
      attack: 'u-lira',
      scenario: null,
      data,
      shadows: 4,
      targets: 2,
      entries: [
        {
          method,
          accuracy: { mean: 0.6, ci95: [0.55, 0.65] },
          auc: 0.6,
          'tpr@1%fpr': 0.02,
          'tpr@5%fpr': 0.08,
        },
      ],
    }),
  );
  writeFileSync(
    join(dir, 'examples.json'),
    JSON.stringify({
      format: 'lethe-audit-examples/1',
      data,
      methods: {
        [method]: examples.map((e) => ({
          ...e,
          unlearned: stats,
          retrained: { ...stats, mean: 1 - e.separation / 2 },
        })),
      },
    }),
  );
}
