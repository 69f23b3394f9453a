/**
 * A run's predictions on its split's sets: the ones saved with it, gathered for another split,
 * or computed from its model when it saved none (once per process).
 */
import { resolveCompute } from '../records/compute.js';
import { resolve } from 'node:path';
import { readSplit, type Split } from '../data/split.js';
import {
  predictIndices,
  predictSets,
  type Predictions,
  type SetPredictions,
} from '../models/predict.js';
import type { RunConfig } from '../records/run.js';
import { getData } from './datasets.js';
import { loadRunModel, loadRunPredictions, readConfig, verifyRun } from './rundir.js';

/**
 * A model's predictions on a split's sets, gathered from predictions saved for other index sets
 * (a training run covers every training example); null when some example is missing.
 */
export function predictionsForSplit(saved: SetPredictions, split: Split): SetPredictions | null {
  const c = saved.test.numClasses;
  const gather = (
    sources: Predictions[],
    indices: Int32Array,
    size: number,
  ): Predictions | null => {
    const rowOf = new Int32Array(size).fill(-1);
    const where = new Int32Array(size);
    sources.forEach((src, s) =>
      src.indices.forEach((k, row) => ((rowOf[k] = row), (where[k] = s))),
    );
    const logits = new Float32Array(indices.length * c);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i];
      if (rowOf[k] < 0) return null;
      const src = sources[where[k]];
      logits.set(src.logits.subarray(rowOf[k] * c, (rowOf[k] + 1) * c), i * c);
      labels[i] = src.labels[rowOf[k]];
    }
    return { logits, labels, indices, numClasses: c };
  };
  const train = [saved.forget, saved.retain];
  const held = saved.val ? [saved.test, saved.val] : [saved.test];
  const forget = gather(train, split.forget, split.trainSize);
  const retain = gather(train, split.retain, split.trainSize);
  const test = gather(held, split.test, split.testSize);
  const val = split.val.length ? gather(held, split.val, split.testSize) : null;
  if (!forget || !retain || !test) return null;
  return { forget, retain, test, ...(val ? { val } : {}) };
}

/** A run directory's eval-mode predictions on its split's sets (computed once per process). */
const predictionCache = new Map<
  string,
  Promise<{ predictions: SetPredictions; split: Split; config: RunConfig }>
>();

export function runPredictions(
  dir: string,
  device: string,
): Promise<{ predictions: SetPredictions; split: Split; config: RunConfig }> {
  const key = resolve(dir);
  let p = predictionCache.get(key);
  if (!p) {
    p = (async () => {
      verifyRun(dir);
      const config = readConfig(dir);
      const data = await getData(config.data);
      const split = readSplit(dir);
      const saved = loadRunPredictions(dir);
      if (saved && (saved.val || split.val.length === 0)) {
        return { predictions: saved, split, config };
      }
      // No predictions, or saved before runs recorded the val set: predict what is missing.
      const model = loadRunModel(dir);
      const compute = resolveCompute({ device });
      try {
        const predictions = saved
          ? { ...saved, val: predictIndices(model, data.test, split.val, compute) }
          : predictSets(model, data, split, compute);
        return { predictions, split, config };
      } finally {
        model.dispose();
      }
    })();
    predictionCache.set(key, p);
  }
  return p;
}
