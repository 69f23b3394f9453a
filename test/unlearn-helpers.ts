/** A small synthetic image-classification problem that a ResNet-20 learns in a few seconds. */
import type { DatasetPair } from '../src/data/dataset.js';
import { createDataset } from '../src/data/index.js';
import { Rng } from '../src/util/rng.js';

/** `classes` classes of 1×size×size images: a bright bar at a class-specific row, plus noise. */
export function syntheticPair(
  options: { train?: number; test?: number; classes?: number; size?: number; seed?: number } = {},
): DatasetPair {
  const { train = 240, test = 120, classes = 4, size = 8, seed = 1 } = options;
  const rng = new Rng(seed);
  const make = (n: number, name: string) => {
    const images = new Uint8Array(n * size * size);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const y = i % classes;
      labels[i] = y;
      const row = Math.floor(((y + 0.5) * size) / classes);
      for (let p = 0; p < size * size; p++) {
        const bar = Math.floor(p / size) === row ? 160 : 0;
        images[i * size * size + p] = Math.min(255, bar + rng.int(60));
      }
    }
    return createDataset({ name, images, labels, shape: [1, size, size], numClasses: classes });
  };
  return { train: make(train, 'synthetic/train'), test: make(test, 'synthetic/test') };
}
