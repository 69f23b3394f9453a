/**
 * Batches over a data set and a subset of its indices: seeded shuffling that differs per epoch,
 * normalisation with the data set's mean/std, and torchvision-style augmentation
 * (`RandomCrop(size, padding)` then `RandomHorizontalFlip()`), all in tight loops over typed
 * arrays. Batches are plain arrays; the tensor layer wraps them.
 */
import { DataError, OptionError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import type { DatasetPair, ImageDataset, ImageShape } from './dataset.js';
import type { Split } from './split.js';

/**
 * One batch: `x` is `[size, C, H, W]` float32 (normalised), `y` the labels. Every array is
 * freshly allocated and owned by the caller; later batches never overwrite it.
 */
export interface Batch {
  /** Normalised pixels, NCHW, `size*C*H*W` values. */
  x: Float32Array;
  /** Class ids. */
  y: Int32Array;
  /** The data-set indices of the batch's examples. */
  indices: Int32Array;
  /** Number of examples. */
  size: number;
  /** `[size, C, H, W]`. */
  shape: [number, number, number, number];
}

/** Training-time augmentation. */
export interface AugmentOptions {
  /**
   * Padding of a random crop back to the image's size (torchvision `RandomCrop(H, padding)`):
   * the raw image is padded with zero pixels before normalising. 0 disables the crop.
   */
  cropPadding?: number;
  /** Flip horizontally with probability 0.5. */
  flip?: boolean;
}

/** Options of {@link DataLoader}. */
export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle the order every epoch (default false: ascending index order). */
  shuffle?: boolean;
  /** Seed of the shuffle and augmentation (default 0). */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Normalise with the data set's mean/std (default true); otherwise pixels are on the 0..1 scale. */
  normalize?: boolean;
  /** Augmentation (default none). */
  augment?: AugmentOptions;
}

/** Defaults of {@link LoaderOptions}. */
export const LOADER_DEFAULTS = {
  shuffle: false,
  seed: 0,
  dropLast: false,
  normalize: true,
} as const;

/** Something that yields batches epoch by epoch. */
export interface BatchSource<T> {
  readonly numBatches: number;
  epoch(e: number): Iterable<T>;
}

/**
 * Iterates batches over `indices` of a data set.
 *
 * Each batch is a fresh set of arrays that the caller owns: it stays valid after the next batch.
 * Epoch `e` derives its generator from `seed` and `e` alone, so `epoch(3)` yields the same
 * batches whether or not epochs 0–2 were iterated, and a run is reproducible.
 *
 * @example
 * const retain = new DataLoader(train, split.retain, { batchSize: 128, shuffle: true, seed, augment: { cropPadding: 4, flip: true } });
 * for (const { x, y, size } of retain.epoch(0)) { ... }
 */
export class DataLoader implements BatchSource<Batch> {
  readonly dataset: ImageDataset;
  readonly indices: Int32Array;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly normalize: boolean;
  readonly cropPadding: number;
  readonly flip: boolean;
  /**
   * Per-channel `scale` and `shift` (float64) so that `out = pixel * scale[c] + shift[c]`; a
   * multiply-add is faster than a lookup table and within float32 rounding of the exact value.
   */
  private readonly scale: Float64Array;
  private readonly shift: Float64Array;

  /**
   * @param dataset the data set
   * @param indices the subset to iterate (`null`: all examples), each in range; kept, not copied
   */
  constructor(dataset: ImageDataset, indices: Int32Array | null, options: LoaderOptions) {
    const o = { ...LOADER_DEFAULTS, ...options };
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
      throw new OptionError(
        `Expected a positive integer for batchSize but received ${String(o.batchSize)}`,
      );
    }
    if (!Number.isFinite(o.seed)) {
      throw new OptionError(`Expected a finite number for seed but received ${String(o.seed)}`);
    }
    const n = dataset.labels.length;
    if (indices === null) {
      indices = new Int32Array(n);
      for (let i = 0; i < n; i++) indices[i] = i;
    } else {
      if (!(indices instanceof Int32Array)) {
        throw new OptionError('Expected an Int32Array for indices');
      }
      for (let i = 0; i < indices.length; i++) {
        const k = indices[i];
        if (k < 0 || k >= n) {
          throw new DataError(
            `${dataset.name}: loader index ${k} (position ${i}) is out of range; expected 0..${n - 1}`,
          );
        }
      }
    }
    const padding = o.augment?.cropPadding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new OptionError(
        `Expected a non-negative integer for augment.cropPadding but received ${String(padding)}`,
      );
    }
    this.dataset = dataset;
    this.indices = indices;
    this.batchSize = o.batchSize;
    this.shuffle = o.shuffle;
    this.seed = o.seed;
    this.dropLast = o.dropLast;
    this.normalize = o.normalize;
    this.cropPadding = padding;
    this.flip = o.augment?.flip ?? false;

    const c = dataset.shape[0];
    const pixelScale = dataset.images instanceof Uint8Array ? 1 / 255 : 1;
    this.scale = new Float64Array(c);
    this.shift = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const mean = o.normalize ? dataset.mean[ch] : 0;
      const std = o.normalize ? dataset.std[ch] : 1;
      this.scale[ch] = pixelScale / std;
      this.shift[ch] = -mean / std;
    }
  }

  /** Number of examples iterated per epoch (before drop-last). */
  get size(): number {
    return this.indices.length;
  }

  /** Number of batches per epoch. */
  get numBatches(): number {
    const n = this.indices.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order of examples (data-set indices) in epoch `e`. */
  order(e: number): Int32Array {
    const order = Int32Array.from(this.indices);
    if (this.shuffle) this.epochRng(e).fork('shuffle').shuffle(order);
    return order;
  }

  /** The batches of epoch `e` (0-based). */
  *epoch(e: number): Generator<Batch> {
    if (!Number.isInteger(e) || e < 0) {
      throw new OptionError(`Expected a non-negative integer for epoch but received ${String(e)}`);
    }
    const order = this.order(e);
    const augmentRng = this.epochRng(e).fork('augment');
    const nb = this.numBatches;
    for (let b = 0; b < nb; b++) {
      const start = b * this.batchSize;
      const end = Math.min(start + this.batchSize, order.length);
      yield this.makeBatch(order.subarray(start, end), augmentRng);
    }
  }

  /** Epoch 0's batches. */
  [Symbol.iterator](): Iterator<Batch> {
    return this.epoch(0);
  }

  /**
   * Builds one batch from the given data-set indices (augmenting only when enabled, drawing from
   * `rng`). Exposed for evaluation code that batches its own index lists.
   */
  makeBatch(indices: Int32Array, rng?: Rng): Batch {
    const [c, h, w] = this.dataset.shape;
    const size = indices.length;
    const sample = c * h * w;
    const x = new Float32Array(size * sample);
    const y = new Int32Array(size);
    const idx = Int32Array.from(indices);
    const labels = this.dataset.labels;
    const augment = (this.cropPadding > 0 || this.flip) && rng !== undefined;
    for (let i = 0; i < size; i++) {
      const k = idx[i];
      y[i] = labels[k];
      if (augment) {
        const p = this.cropPadding;
        const dy = p > 0 ? rng.int(2 * p + 1) - p : 0;
        const dx = p > 0 ? rng.int(2 * p + 1) - p : 0;
        const flip = this.flip && rng.next() < 0.5;
        this.writeExample(x, i * sample, k, dy, dx, flip);
      } else {
        this.writeExample(x, i * sample, k);
      }
    }
    return { x, y, indices: idx, size, shape: [size, c, h, w] };
  }

  /**
   * Writes example `k`, normalised, at `x[dst]`, cropped and/or flipped: output pixel (r, q) comes
   * from raw pixel (r + dy, q' + dx) where q' = W-1-q when flipped (crop first, then flip, as
   * torchvision composes them); pixels that fall in the padding are raw 0, normalised like any
   * other 0. Unmoved, each channel is one straight copy.
   */
  private writeExample(
    x: Float32Array,
    dst: number,
    k: number,
    dy = 0,
    dx = 0,
    flip = false,
  ): void {
    const [c, h, w] = this.dataset.shape;
    const plane = h * w;
    const images = this.dataset.images;
    const src = k * c * plane;
    const moved = dy !== 0 || dx !== 0 || flip;
    for (let ch = 0; ch < c; ch++) {
      const a = this.scale[ch];
      const b = this.shift[ch];
      const s = src + ch * plane;
      const d = dst + ch * plane;
      if (!moved) {
        for (let p = 0; p < plane; p++) x[d + p] = images[s + p] * a + b;
        continue;
      }
      // A padding pixel is raw 0, normalised like any other pixel.
      const zero = b;
      for (let r = 0; r < h; r++) {
        const sr = r + dy;
        const drow = d + r * w;
        if (sr < 0 || sr >= h) {
          x.fill(zero, drow, drow + w);
          continue;
        }
        const srow = s + sr * w;
        // Columns whose source lies inside the image; the rest are padding.
        const q0 = flip ? Math.max(0, dx) : Math.max(0, -dx);
        const q1 = flip ? Math.min(w, w + dx) : Math.min(w, w - dx);
        x.fill(zero, drow, drow + q0);
        x.fill(zero, drow + q1, drow + w);
        if (flip) {
          const base = srow + w - 1 + dx;
          for (let q = q0; q < q1; q++) x[drow + q] = images[base - q] * a + b;
        } else {
          const base = srow + dx;
          for (let q = q0; q < q1; q++) x[drow + q] = images[base + q] * a + b;
        }
      }
    }
  }

  private epochRng(e: number): Rng {
    return new Rng(deriveSeed(this.seed, `epoch:${e}`));
  }
}

/** A retain batch with the forget batch it is paired with. */
export interface PairedBatch {
  retain: Batch;
  forget: Batch;
  /** 0-based step within the epoch. */
  step: number;
}

/**
 * Pairs every retain batch of an epoch with a forget batch; the forget loader cycles,
 * reshuffled on each wrap (the pattern of sRFL and the baselines: retain batches drive the
 * epoch). Retain epoch `e` uses forget-loader epochs `e*P, e*P+1, ...` where
 * `P = ceil(retain.numBatches / forget.numBatches)`, so every wrap in the whole run gets its own
 * shuffle and any epoch can be replayed on its own.
 */
export class PairedLoader implements BatchSource<PairedBatch> {
  readonly retain: BatchSource<Batch>;
  readonly forget: BatchSource<Batch>;

  constructor(retain: BatchSource<Batch>, forget: BatchSource<Batch>) {
    if (forget.numBatches < 1) {
      throw new DataError(
        'The forget loader yields no batches; a paired loader needs at least one',
      );
    }
    this.retain = retain;
    this.forget = forget;
  }

  /** Number of steps per epoch: the retain loader's batch count. */
  get numBatches(): number {
    return this.retain.numBatches;
  }

  /** Forget-loader passes per retain epoch. */
  get forgetPassesPerEpoch(): number {
    return Math.max(1, Math.ceil(this.retain.numBatches / this.forget.numBatches));
  }

  /** The paired batches of epoch `e`. */
  *epoch(e: number): Generator<PairedBatch> {
    const passes = this.forgetPassesPerEpoch;
    let pass = 0;
    let forgetIt = this.forget.epoch(e * passes)[Symbol.iterator]();
    let step = 0;
    for (const retain of this.retain.epoch(e)) {
      let next = forgetIt.next();
      if (next.done) {
        pass++;
        forgetIt = this.forget.epoch(e * passes + pass)[Symbol.iterator]();
        next = forgetIt.next();
        if (next.done) throw new DataError('The forget loader yielded no batches after a wrap');
      }
      yield { retain, forget: next.value, step: step++ };
    }
  }
}

/** Pairs retain batches with cycling forget batches; see {@link PairedLoader}. */
export function pairedLoader(
  retainLoader: BatchSource<Batch>,
  forgetLoader: BatchSource<Batch>,
): PairedLoader {
  return new PairedLoader(retainLoader, forgetLoader);
}

/** The shape of a batch of `size` examples of `shape`. */
export function batchShape(size: number, shape: ImageShape): [number, number, number, number] {
  return [size, shape[0], shape[1], shape[2]];
}

/** Options of {@link splitLoaders}. */
export interface SplitLoaderOptions {
  /** Batch size of the retain, val and test loaders. */
  batchSize: number;
  /** Batch size of the forget loader (default `batchSize`). */
  forgetBatchSize?: number;
  /** The run's seed; each loader derives its own stream from it. */
  seed: number;
  /** Augmentation of the training loaders (retain, forget); default none. */
  augment?: AugmentOptions;
  /** Drop the last partial batch of the training loaders (default false). */
  dropLast?: boolean;
}

/** The four loaders of an unlearning run. */
export interface SplitLoaders {
  /** Shuffled, augmented: drives training epochs. */
  retain: DataLoader;
  /** Shuffled, augmented: cycled alongside retain (see {@link pairedLoader}). */
  forget: DataLoader;
  /** Shuffled, augmented: the whole training set, D_f ∪ D_r (see {@link partitionBatch}). */
  union: DataLoader;
  /** In order, not augmented. */
  val: DataLoader;
  /** In order, not augmented. */
  test: DataLoader;
}

function unionOf(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out.sort();
}

/**
 * Splits a batch into the rows whose data-set index is flagged in `isForget` and the others,
 * each in batch order; a part with no rows is absent.
 */
export function partitionBatch(
  batch: Batch,
  isForget: Uint8Array,
): { forget?: Batch; retain?: Batch } {
  const rows = { forget: [] as number[], retain: [] as number[] };
  batch.indices.forEach((k, i) => rows[isForget[k] ? 'forget' : 'retain'].push(i));
  const per = batch.x.length / batch.size;
  const take = (picked: number[]): Batch | undefined => {
    if (picked.length === 0) return undefined;
    const x = new Float32Array(picked.length * per);
    picked.forEach((i, j) => x.set(batch.x.subarray(i * per, (i + 1) * per), j * per));
    return {
      x,
      y: Int32Array.from(picked, (i) => batch.y[i]),
      indices: Int32Array.from(picked, (i) => batch.indices[i]),
      size: picked.length,
      shape: [picked.length, batch.shape[1], batch.shape[2], batch.shape[3]],
    };
  };
  const forget = take(rows.forget);
  const retain = take(rows.retain);
  return { ...(forget ? { forget } : {}), ...(retain ? { retain } : {}) };
}

/**
 * Builds the retain / forget / union loaders (training: shuffled, augmented) over the training set and the
 * val / test loaders (evaluation: in order, plain) over the test set of a {@link Split}.
 */
export function splitLoaders(
  data: DatasetPair,
  split: Split,
  options: SplitLoaderOptions,
): SplitLoaders {
  const { batchSize, seed, augment, dropLast } = options;
  if (data.train.labels.length !== split.trainSize || data.test.labels.length !== split.testSize) {
    throw new DataError(
      `The split is for ${split.trainSize} training and ${split.testSize} test examples but the data set has ${data.train.labels.length} and ${data.test.labels.length}`,
    );
  }
  const training = (label: string, indices: Int32Array, size: number): DataLoader =>
    new DataLoader(data.train, indices, {
      batchSize: size,
      shuffle: true,
      seed: deriveSeed(seed, label),
      dropLast,
      augment,
    });
  return {
    retain: training('retain', split.retain, batchSize),
    forget: training('forget', split.forget, options.forgetBatchSize ?? batchSize),
    union: training('union', unionOf(split.forget, split.retain), batchSize),
    val: new DataLoader(data.test, split.val, { batchSize }),
    test: new DataLoader(data.test, split.test, { batchSize }),
  };
}
