import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticPair } from './unlearn-helpers.js';

/**
 * Writes a synthetic data set (4 classes of 10×10 images) as raw IDX files, the MNIST layout, so
 * that the CLI reads it by `mnist:<dir>`.
 */
export function writeIdx(dir: string, sizes: { train: number; test: number }): void {
  const pair = syntheticPair({ ...sizes, classes: 4, size: 10 });
  for (const [prefix, ds] of [
    ['train', pair.train],
    ['t10k', pair.test],
  ] as const) {
    const n = ds.labels.length;
    const images = Buffer.alloc(16 + n * 100);
    images.writeUInt32BE(2051, 0);
    images.writeUInt32BE(n, 4);
    images.writeUInt32BE(10, 8);
    images.writeUInt32BE(10, 12);
    Buffer.from(ds.images as Uint8Array).copy(images, 16);
    const labels = Buffer.alloc(8 + n);
    labels.writeUInt32BE(2049, 0);
    labels.writeUInt32BE(n, 4);
    for (let i = 0; i < n; i++) labels[8 + i] = ds.labels[i];
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), images);
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), labels);
  }
}

/**
 * Writes a synthetic IDX data set into `dataDir` and a scenario file naming it (ResNet-20, batch
 * 32): the tiny scenario the executor and audit tests run.
 */
export function writeTinyScenario(
  file: string,
  dataDir: string,
  o: { train: number; test: number; epochs: number; forget: string },
): void {
  mkdirSync(dataDir);
  writeIdx(dataDir, { train: o.train, test: o.test });
  writeFileSync(
    file,
    JSON.stringify({
      name: 'tiny',
      description: 'a few hundred synthetic images',
      notes: [],
      data: `mnist:${dataDir}`,
      model: 'resnet20',
      train: { epochs: o.epochs, batchSize: 32 },
      forget: o.forget,
    }),
  );
}
