/**
 * Times batch preparation (the JavaScript side of every training step): batches of 128 from
 * Fashion-MNIST (or a synthetic set of the same shape) with normalisation, and CIFAR-shaped
 * synthetic images with crop + flip augmentation.
 */
import { existsSync } from 'node:fs';
import {
  DataLoader,
  FASHION_MNIST_DIR,
  type ImageDataset,
  type LoaderOptions,
  createDataset,
  loadDataset,
} from '../src/data/index.js';
import { Rng } from '../src/util/rng.js';
import { resnet20 } from '../src/models/index.js';
import { SGD } from '../src/optim/index.js';
import { F, manualSeed, randint, randn, tidy } from '../src/tensor/index.js';
import { medianMs } from './common.js';

const BATCH = 128;

function synthetic(n: number, shape: [number, number, number], seed: number): ImageDataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < images.length; i++) images[i] = rng.nextUint32() & 255;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(10);
  const c = shape[0];
  return createDataset({
    name: `synthetic-${c}x${shape[1]}x${shape[2]}`,
    images,
    labels,
    shape,
    numClasses: 10,
    mean: Array(c).fill(0.5),
    std: Array(c).fill(0.25),
  });
}

/** Iterates whole epochs until at least `minMs` have passed; returns ms per batch. */
function time(
  ds: ImageDataset,
  options: LoaderOptions,
  minMs = 1000,
): { ms: number; batches: number } {
  const loader = new DataLoader(ds, null, options);
  // One warm-up epoch so the JIT has compiled the inner loops.
  let sink = 0;
  for (const b of loader.epoch(0)) sink += b.x[0];
  let batches = 0;
  const start = performance.now();
  let e = 1;
  while (performance.now() - start < minMs) {
    for (const b of loader.epoch(e++)) {
      sink += b.x[0];
      batches++;
    }
  }
  const ms = performance.now() - start;
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the batches alive');
  return { ms: ms / batches, batches };
}

/** The loader benchmarks, for bench/run.ts. */
export default async function bench(): Promise<object[]> {
  const results: object[] = [];
  const real = existsSync(FASHION_MNIST_DIR);
  const fmnist = real
    ? (await loadDataset('fashion-mnist')).train
    : synthetic(60000, [1, 28, 28], 1);
  const f = time(fmnist, { batchSize: BATCH, shuffle: true, seed: 0 });
  results.push({
    name: 'loader-fmnist',
    ms_per_batch: round(f.ms),
    batch_size: BATCH,
    batches: f.batches,
    images_per_s: Math.round((BATCH * 1000) / f.ms),
    data: real ? FASHION_MNIST_DIR : 'synthetic 60000x1x28x28',
    augment: 'none',
  });
  const cifar = synthetic(50000, [3, 32, 32], 2);
  const c = time(cifar, {
    batchSize: BATCH,
    shuffle: true,
    seed: 0,
    augment: { cropPadding: 4, flip: true },
  });
  results.push({
    name: 'loader-cifar-augment',
    ms_per_batch: round(c.ms),
    batch_size: BATCH,
    batches: c.batches,
    images_per_s: Math.round((BATCH * 1000) / c.ms),
    data: 'synthetic 50000x3x32x32',
    augment: 'crop padding 4 + horizontal flip',
  });
  // The loader's share of a training step: the step it feeds (ResNet-20, batch 128, 1×28×28).
  const step = trainStepMs();
  for (const r of results as { ms_per_batch: number }[]) {
    Object.assign(r, {
      train_step_ms: round(step),
      fraction_of_train_step: round(r.ms_per_batch / step),
      target_fraction: 0.05,
    });
  }
  return results;
}

function trainStepMs(): number {
  manualSeed(0);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([BATCH, 1, 28, 28]);
  const y = randint(0, 10, [BATCH]);
  const ms = medianMs(
    () =>
      tidy(() => {
        opt.zeroGrad(true);
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
      }),
    5,
  );
  model.dispose();
  opt.dispose();
  return ms;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await bench(), null, 2));
}
