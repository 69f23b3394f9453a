/**
 * A small synthetic unlearning problem for the method tests: four texture classes (horizontal,
 * vertical, checkerboard, wide diagonal stripes with random phase and noise) of 8×8 grey images, a tiny
 * conv net named like a ResNet (`layer1`, `layer2`, `fc`), and an original model trained on all of
 * it in a couple of seconds.
 */
import {
  createDataset,
  makeSplit,
  splitTest,
  type DatasetPair,
  type Split,
} from '../src/data/index.js';
import { BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential } from '../src/nn/index.js';
import { manualSeed, setNumThreads, type Tensor } from '../src/tensor/index.js';
import { DataLoader } from '../src/data/index.js';
import { predict } from '../src/models/predict.js';
import { resolveCompute, type ComputeSettings } from '../src/records/compute.js';
import { runLoop, type LoopInput, type SetPredictions } from '../src/unlearn/loop.js';
import { retrain, TRAIN_DEFAULTS } from '../src/unlearn/methods/supervised.js';
import type { EventHandler, LoopOptions, UnlearnMethod } from '../src/unlearn/types.js';
import { Rng } from '../src/util/rng.js';

// One thread: the net is tiny, and the test machine's cores are shared with other test files.
setNumThreads(1);

export const CLASSES = 4;
const SIDE = 8;

function textures(n: number, seed: number): { images: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const images = new Float32Array(n * SIDE * SIDE);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const c = k % CLASSES;
    labels[k] = c;
    const phase = rng.int(2);
    for (let i = 0; i < SIDE; i++) {
      for (let j = 0; j < SIDE; j++) {
        const on =
          c === 3
            ? (i + j + 2 * phase) % 4 < 2
            : [i + phase, j + phase, i + j + phase][c] % 2 === 0;
        const v = (on ? 0.75 : 0.25) + 0.2 * rng.normal();
        images[k * SIDE * SIDE + i * SIDE + j] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return { images, labels };
}

export function syntheticData(): DatasetPair {
  const train = textures(400, 1);
  const test = textures(200, 2);
  const trainSet = createDataset({
    name: 'textures/train',
    ...train,
    shape: [1, SIDE, SIDE],
    numClasses: CLASSES,
  });
  const testSet = createDataset({
    name: 'textures/test',
    ...test,
    shape: [1, SIDE, SIDE],
    numClasses: CLASSES,
    mean: trainSet.mean,
    std: trainSet.std,
  });
  return { train: trainSet, test: testSet };
}

/** Conv-BN-ReLU, strided Conv-BN-ReLU, global mean pool, linear. */
export class TinyNet extends Module {
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly fc: Linear;
  constructor() {
    super();
    this.layer1 = this.registerModule(
      'layer1',
      new Sequential(new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU()),
    );
    this.layer2 = this.registerModule(
      'layer2',
      new Sequential(
        new Conv2d(8, 16, 3, { stride: 2, padding: 1 }),
        new BatchNorm2d(16),
        new ReLU(),
      ),
    );
    this.fc = this.registerModule('fc', new Linear(16, CLASSES));
  }
  forward(x: Tensor): Tensor {
    const a = this.layer1.forward(x);
    const b = this.layer2.forward(a);
    a.dispose();
    const pooled = b.mean([2, 3]);
    b.dispose();
    const out = this.fc.forward(pooled);
    pooled.dispose();
    return out;
  }
}

/** Eval-mode predictions on the split's forget, retain, test and (when it has one) val sets. */
export function predictSets(model: Module, data: DatasetPair, split: Split): SetPredictions {
  const over = (ds: DatasetPair['train'], indices: Int32Array) =>
    predict(model, new DataLoader(ds, indices, { batchSize: 256 }), resolveCompute());
  return {
    forget: over(data.train, split.forget),
    retain: over(data.train, split.retain),
    test: over(data.test, split.test),
    ...(split.val.length ? { val: over(data.test, split.val) } : {}),
  };
}

export interface Problem {
  data: DatasetPair;
  /** Forget spec `class:0`. */
  split: Split;
  original: Module;
  originalPredictions: SetPredictions;
}

let cached: Problem | null = null;

/** The trained original and a class-0 forget split (built once per test file). */
export function problem(): Problem {
  if (cached) return cached;
  const data = syntheticData();
  const trainSize = data.train.labels.length;
  const testSize = data.test.labels.length;
  const all: Split = {
    seed: 0,
    forgetSpec: 'none',
    forget: new Int32Array(0),
    retain: Int32Array.from({ length: trainSize }, (_, i) => i),
    ...splitTest(testSize, 0),
    trainSize,
    testSize,
  };
  manualSeed(7);
  const placeholder = new TinyNet();
  const trained = runLoop({
    method: retrain,
    options: { ...TRAIN_DEFAULTS, epochs: 6, lr: 0.05, batchSize: 32, augment: false },
    original: placeholder,
    createModel: () => new TinyNet(),
    data,
    split: all,
    compute: resolveCompute(),
    evalEveryEpoch: false,
  });
  placeholder.dispose();
  const original = trained.model;
  original.eval();
  const split = makeSplit({ train: data.train, testSize, forgetSpec: 'class:0', seed: 0 });
  cached = {
    data,
    split,
    original,
    originalPredictions: predictSets(original, data, split),
  };
  return cached;
}

/**
 * Runs a method with fully resolved `options` on the class-0 problem (seed 5 unless `extra` says
 * otherwise); `extra` adds or overrides any loop input (onCheckpoint, resume, ...) or compute
 * setting (precision, ...).
 */
export function runOnProblem<O extends LoopOptions>(
  method: UnlearnMethod<O>,
  options: O,
  extra: Partial<LoopInput<O>> & ComputeSettings = {},
) {
  const p = problem();
  const { seed = 5, device, threads, precision, memoryFormat, ...rest } = extra;
  return runLoop({
    method,
    options,
    original: p.original,
    createModel: () => new TinyNet(),
    data: p.data,
    split: p.split,
    compute: resolveCompute({ seed, device, threads, precision, memoryFormat }),
    evalEveryEpoch: false,
    originalPredictions: p.originalPredictions,
    ...rest,
  });
}

/** Runs a method on the class-0 problem with its defaults overridden by `options`. */
export function unlearnWith<O extends LoopOptions>(
  method: UnlearnMethod<O>,
  options: Partial<O>,
  seed = 0,
  onEvent?: EventHandler,
) {
  const p = problem();
  return runLoop({
    method,
    options: { ...method.defaults, ...options } as O,
    original: p.original,
    createModel: () => new TinyNet(),
    data: p.data,
    split: p.split,
    compute: resolveCompute({ seed }),
    evalEveryEpoch: false,
    originalPredictions: p.originalPredictions,
    onEvent,
  });
}

/** A parameter's values as raw 32-bit patterns (bit-exact comparison, NaN-safe). */
export function bits(t: Tensor): Uint32Array {
  const f = t.data<'float32'>();
  return new Uint32Array(f.buffer, f.byteOffset, f.length);
}

/** Every parameter of a model by name, as bit patterns. */
export function paramBits(model: Module): Map<string, Uint32Array> {
  return new Map(model.namedParameters().map(([n, p]) => [n, bits(p)]));
}
