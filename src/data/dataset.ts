/**
 * The in-memory image data set every reader produces and every loader consumes: one contiguous
 * pixel buffer plus one label buffer, never one JavaScript object per sample.
 */
import { DataError, OptionError } from '../util/errors.js';

/** Channels, height, width of one image. */
export type ImageShape = readonly [c: number, h: number, w: number];

/**
 * A labelled image data set held in two contiguous buffers.
 *
 * `images` holds N images in CHW order, image after image (`N*C*H*W` values):
 * - a `Uint8Array` holds raw pixels on the 0..255 scale (what every file reader returns);
 * - a `Float32Array` holds pixels on the 0..1 scale (the same scale as `uint8 / 255`), for data
 *   built in memory.
 *
 * `mean` and `std` are per-channel statistics on the 0..1 scale, used by the loader to normalise:
 * `(pixel / 255 - mean[c]) / std[c]` (or `(pixel - mean[c]) / std[c]` for float images).
 */
export interface ImageDataset {
  /** A short name for reports, e.g. `fashion-mnist/train`. */
  readonly name: string;
  readonly images: Uint8Array | Float32Array;
  /** One class id per image, each in `0..numClasses-1`. */
  readonly labels: Int32Array;
  readonly shape: ImageShape;
  readonly numClasses: number;
  /** `numClasses` names, index = class id. */
  readonly classNames: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** A data set's training and test parts; the test part shares the training part's mean/std. */
export interface DatasetPair {
  train: ImageDataset;
  test: ImageDataset;
}

/** The number of images in a data set. */
export function datasetSize(ds: ImageDataset): number {
  return ds.labels.length;
}

/** Normalisation statistics (0..1 scale) for the built-in data sets, as published with each. */
export const DATASET_STATS = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
} as const satisfies Record<string, { mean: readonly number[]; std: readonly number[] }>;

/** Fashion-MNIST's class names, index = label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** MNIST's class names (the digits). */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** CIFAR-10's class names, as in `batches.meta.txt`. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Options of {@link createDataset}. */
export interface CreateDatasetOptions {
  /** Default `'memory'`. */
  name?: string;
  /** N*C*H*W pixels in CHW order: uint8 on 0..255, or float32 on 0..1. */
  images: Uint8Array | Float32Array;
  labels: Int32Array | ArrayLike<number>;
  shape: readonly [number, number, number];
  /** Default: `classNames.length` if given, else the largest label + 1. */
  numClasses?: number;
  /** Default: `'0'`, `'1'`, ... */
  classNames?: readonly string[];
  /** Per-channel mean on the 0..1 scale. Default: computed from `images`. */
  mean?: readonly number[];
  /** Per-channel standard deviation on the 0..1 scale. Default: computed from `images`. */
  std?: readonly number[];
}

/**
 * Builds a validated {@link ImageDataset} from typed arrays already in memory.
 *
 * @example
 * const ds = createDataset({ images: new Float32Array(4 * 1 * 2 * 2), labels: [0, 1, 0, 1], shape: [1, 2, 2] });
 */
export function createDataset(options: CreateDatasetOptions): ImageDataset {
  const { images, shape } = options;
  if (!(images instanceof Uint8Array) && !(images instanceof Float32Array)) {
    throw new OptionError(
      `Expected a Uint8Array or Float32Array for images but received ${describe(images)}`,
    );
  }
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw new OptionError(
      `Expected [C, H, W] of positive integers for shape but received ${JSON.stringify(shape)}`,
    );
  }
  const labels = toInt32(options.labels, 'labels');
  const [c, h, w] = shape;
  const n = labels.length;
  if (images.length !== n * c * h * w) {
    throw new DataError(
      `Expected ${n}*${c}*${h}*${w} = ${n * c * h * w} image values for ${n} labels of shape [${c}, ${h}, ${w}] but received ${images.length}`,
    );
  }
  let numClasses = options.numClasses;
  if (numClasses === undefined) {
    if (options.classNames) numClasses = options.classNames.length;
    else {
      let max = -1;
      for (let i = 0; i < n; i++) if (labels[i] > max) max = labels[i];
      numClasses = max + 1;
    }
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new OptionError(
      `Expected a positive integer for numClasses but received ${String(numClasses)}`,
    );
  }
  const classNames = options.classNames ?? defaultClassNames(numClasses);
  if (classNames.length !== numClasses) {
    throw new OptionError(
      `Expected ${numClasses} class names for numClasses but received ${classNames.length}`,
    );
  }
  checkLabels(labels, numClasses, options.name ?? 'memory');
  if (images instanceof Float32Array) {
    for (let i = 0; i < images.length; i++) {
      if (!Number.isFinite(images[i])) {
        throw new DataError(`Expected finite image values but value ${i} is ${images[i]}`);
      }
    }
  }
  let mean = options.mean;
  let std = options.std;
  if (!mean || !std) {
    const stats = computeMeanStd(images, shape);
    mean ??= stats.mean;
    std ??= stats.std;
  }
  checkStats(mean, std, c);
  return {
    name: options.name ?? 'memory',
    images,
    labels,
    shape: [c, h, w],
    numClasses,
    classNames: [...classNames],
    mean: [...mean],
    std: [...std],
  };
}

/**
 * Per-channel mean and standard deviation (population, 0..1 scale) of CHW images.
 * A channel with zero variance gets std 1 so that normalising never divides by zero.
 */
export function computeMeanStd(
  images: Uint8Array | Float32Array,
  shape: ImageShape,
): { mean: number[]; std: number[] } {
  const [c, h, w] = shape;
  const plane = h * w;
  const n = images.length / (c * plane);
  const scale = images instanceof Uint8Array ? 1 / 255 : 1;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * plane;
      // Per-image partial sums keep the float64 accumulation accurate for 60k-image sets.
      let ps = 0;
      let ps2 = 0;
      for (let k = 0; k < plane; k++) {
        const v = images[base + k];
        ps += v;
        ps2 += v * v;
      }
      s += ps;
      s2 += ps2;
    }
    const count = n * plane;
    if (count === 0) {
      mean.push(0);
      std.push(1);
      continue;
    }
    const m = (s / count) * scale;
    const variance = Math.max(0, (s2 / count) * scale * scale - m * m);
    mean.push(m);
    std.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}

/** Throws a {@link DataError} naming `where` if any label lies outside `0..numClasses-1`. */
export function checkLabels(labels: Int32Array, numClasses: number, where: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0 || y >= numClasses) {
      throw new DataError(
        `${where}: label ${y} of sample ${i} is out of range; expected a class id in 0..${numClasses - 1}`,
      );
    }
  }
}

/** Class names `'0'..'n-1'`. */
export function defaultClassNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

function checkStats(mean: readonly number[], std: readonly number[], c: number): void {
  if (mean.length !== c || !mean.every(Number.isFinite)) {
    throw new OptionError(
      `Expected ${c} finite numbers for mean but received ${JSON.stringify(mean)}`,
    );
  }
  if (std.length !== c || !std.every((s) => Number.isFinite(s) && s > 0)) {
    throw new OptionError(
      `Expected ${c} positive numbers for std but received ${JSON.stringify(std)}`,
    );
  }
}

function toInt32(a: Int32Array | ArrayLike<number>, what: string): Int32Array {
  if (a instanceof Int32Array) return a;
  if (a === null || typeof a !== 'object' || typeof a.length !== 'number') {
    throw new OptionError(
      `Expected an Int32Array or array of integers for ${what} but received ${describe(a)}`,
    );
  }
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!Number.isInteger(v)) {
      throw new OptionError(`Expected integers for ${what} but element ${i} is ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}
