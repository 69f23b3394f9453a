/**
 * A child process for the kill -9 tests: commits a small but complete run into a directory,
 * `once` (seed given) or forever, alternating two seeds, until it is killed.
 *
 *   node --import tsx test/run-commit-child.ts <dir> once <seed>
 *   node --import tsx test/run-commit-child.ts <dir> loop <seedA> <seedB>
 */
import { createModel } from '../src/models/registry.js';
import { commitRun, type RunConfig } from '../src/run/rundir.js';
import type { RunMetrics } from '../src/records/metrics.js';
import { manualSeed } from '../src/tensor/index.js';

const [dir, mode, ...seeds] = process.argv.slice(2);

function commit(seed: number): void {
  manualSeed(seed);
  const model = createModel('resnet20', { inChannels: 1, numClasses: 3 });
  const part = (indices: number[]) => ({
    logits: Float32Array.from({ length: indices.length * 3 }, (_, i) => seed + i / 7),
    labels: Int32Array.from(indices, (k) => k % 3),
    indices: Int32Array.from(indices),
    numClasses: 3,
  });
  const config: RunConfig = {
    command: 'train',
    method: 'train',
    data: 'synthetic',
    model: 'resnet20',
    modelOptions: { inChannels: 1, numClasses: 3 },
    forget: 'none',
    seed,
    device: 'cpu',
    threads: 1,
    options: { epochs: 1 },
    createdAt: '2025-01-01T00:00:00.000Z',
    versions: { lethe: '0', libtorch: '0', node: '0' },
  };
  const metrics = { seed, accuracy: { forget: 0.5, retain: 0.5, test: seed / 100 } };
  try {
    commitRun(dir, {
      config,
      split: {
        seed,
        forgetSpec: 'random:2',
        forget: Int32Array.from([seed % 6, 6 + (seed % 2)]).sort(),
        retain: Int32Array.from(
          [...Array(8).keys()].filter((k) => k !== seed % 6 && k !== 6 + (seed % 2)),
        ),
        val: Int32Array.from([0, 1]),
        test: Int32Array.from([2, 3]),
        trainSize: 8,
        testSize: 4,
      },
      model,
      predictions: { forget: part([0, 1]), retain: part([2, 3, 4]), test: part([0, 1, 2, 3]) },
      metrics: metrics as unknown as RunMetrics,
      report: `<html>run ${seed}</html>\n`.repeat(2000),
    });
  } finally {
    model.dispose();
  }
}

if (mode === 'once') {
  commit(Number(seeds[0]));
} else {
  commit(Number(seeds[0]));
  console.log('ready');
  for (let i = 1; ; i++) commit(Number(seeds[i % 2]));
}
