/**
 * A reader for a user's own images laid out as `root/<class>/*.png|jpg|jpeg` (torchvision's
 * ImageFolder layout), optionally split into `root/train/<class>/...` and `root/test/<class>/...`.
 * Images are decoded with sharp, alpha is dropped, and every image is resized (stretched, like
 * torchvision's `Resize((h, w))`) to one size so that they share one contiguous buffer.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, FileFormatError, OptionError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { type DatasetPair, type ImageDataset, computeMeanStd, createDataset } from './dataset.js';
import { requireDir } from './files.js';

/** Image file extensions read by {@link loadImageFolder} (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Output size: one number for square images, or `[height, width]`. */
  size?: number | readonly [number, number];
  /** 3 for RGB, 1 for grayscale. */
  channels?: 1 | 3;
  /**
   * Fraction of each class held out as the test set when `root` has no `train`/`test`
   * subfolders (seeded, per class).
   */
  testFraction?: number;
  /** Seed of that hold-out. */
  seed?: number;
  /** How many images sharp decodes at once. */
  concurrency?: number;
  /** Name prefix of the data sets. */
  name?: string;
}

/** Defaults of {@link ImageFolderOptions}. */
export const IMAGE_FOLDER_DEFAULTS = {
  size: 32,
  channels: 3,
  testFraction: 0.2,
  seed: 0,
  concurrency: 8,
  name: 'image-folder',
} as const;

interface FileList {
  classNames: string[];
  files: string[];
  labels: number[];
}

/**
 * Loads an image folder into a train/test pair. Classes are the sorted subdirectory names (of
 * `root/train` when that exists); mean and std are computed from the training images and shared
 * by the test set.
 *
 * @example
 * const { train, test } = await loadImageFolder('/data/flowers', { size: 64 });
 */
export async function loadImageFolder(
  root: string,
  options: ImageFolderOptions = {},
): Promise<DatasetPair> {
  const o = { ...IMAGE_FOLDER_DEFAULTS, ...options };
  const [h, w] = typeof o.size === 'number' ? [o.size, o.size] : o.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new OptionError(
      `Expected a positive integer or [height, width] for size but received ${JSON.stringify(o.size)}`,
    );
  }
  if (o.channels !== 1 && o.channels !== 3) {
    throw new OptionError(`Expected 1 or 3 for channels but received ${String(o.channels)}`);
  }
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) {
    throw new OptionError(
      `Expected a positive integer for concurrency but received ${String(o.concurrency)}`,
    );
  }
  const expected = ['<class>/*.png|jpg|jpeg', 'or train/<class>/... and test/<class>/...'];
  requireDir(root, expected);

  let trainList: FileList;
  let testList: FileList;
  if (isDir(join(root, 'train')) && isDir(join(root, 'test'))) {
    trainList = listFolder(join(root, 'train'));
    testList = listFolder(join(root, 'test'), trainList.classNames);
  } else {
    if (!(o.testFraction > 0 && o.testFraction < 1)) {
      throw new OptionError(
        `Expected a number in (0, 1) for testFraction but received ${String(o.testFraction)}`,
      );
    }
    [trainList, testList] = holdOut(listFolder(root), o.testFraction, o.seed);
  }
  const shape = [o.channels, h, w] as const;
  const trainImages = await decodeAll(trainList.files, shape, o.concurrency);
  const testImages = await decodeAll(testList.files, shape, o.concurrency);
  const { mean, std } = computeMeanStd(trainImages, shape);
  const make = (part: string, images: Uint8Array, list: FileList): ImageDataset =>
    createDataset({
      name: `${o.name}/${part}`,
      images,
      labels: Int32Array.from(list.labels),
      shape,
      numClasses: trainList.classNames.length,
      classNames: trainList.classNames,
      mean,
      std,
    });
  return { train: make('train', trainImages, trainList), test: make('test', testImages, testList) };
}

/**
 * Decodes, resizes and converts images to CHW uint8 in one buffer, `concurrency` at a time.
 * Exported for tests and for callers that hold their own file list.
 */
export async function decodeImages(
  files: readonly string[],
  shape: readonly [number, number, number],
  concurrency = IMAGE_FOLDER_DEFAULTS.concurrency,
): Promise<Uint8Array> {
  return decodeAll(files, shape, concurrency);
}

async function decodeAll(
  files: readonly string[],
  shape: readonly [number, number, number],
  concurrency: number,
): Promise<Uint8Array> {
  // Loaded here, not at import: training on the built-in data sets needs no image decoder, and
  // a machine without sharp's libvips binary (a GPU machine's copy of the kit) still runs them.
  const { default: sharp } = await import('sharp');
  const [c, h, w] = shape;
  const plane = h * w;
  const out = new Uint8Array(files.length * c * plane);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const file = files[i];
      let data: Buffer;
      let channels: number;
      try {
        let img = sharp(file).removeAlpha().resize(w, h, { fit: 'fill' });
        img = c === 1 ? img.grayscale() : img.toColourspace('srgb');
        const r = await img.raw().toBuffer({ resolveWithObject: true });
        data = r.data;
        channels = r.info.channels;
      } catch (err) {
        throw new FileFormatError(file, `cannot decode image (${(err as Error).message})`);
      }
      if (channels !== c || data.length !== c * plane) {
        throw new FileFormatError(
          file,
          `expected ${c}x${h}x${w} pixels after decoding but sharp returned ${data.length} bytes in ${channels} channels`,
        );
      }
      // sharp returns HWC (interleaved); datasets are CHW.
      const base = i * c * plane;
      for (let ch = 0; ch < c; ch++) {
        const dst = base + ch * plane;
        for (let p = 0; p < plane; p++) out[dst + p] = data[p * c + ch];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}

/** Lists `dir/<class>/*.{png,jpg,jpeg}`; with `classNames` given, subdirectories must be among them. */
function listFolder(dir: string, classNames?: readonly string[]): FileList {
  requireDir(dir, ['<class>/*.png|jpg|jpeg']);
  const subdirs = visible(dir)
    .filter((name) => isDir(join(dir, name)))
    .sort(compareCodeUnits);
  if (subdirs.length === 0) {
    throw new DataError(
      `${dir}: no class subdirectories; expected one folder of .png/.jpg/.jpeg images per class`,
    );
  }
  const classes = classNames ? [...classNames] : subdirs;
  const files: string[] = [];
  const labels: number[] = [];
  for (const sub of subdirs) {
    const label = classes.indexOf(sub);
    if (label < 0) {
      throw new DataError(
        `${join(dir, sub)}: class "${sub}" does not appear in the training set; expected one of ${classes.join(', ')}`,
      );
    }
    const images = visible(join(dir, sub))
      .filter((name) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext)))
      .sort(compareCodeUnits);
    if (images.length === 0 && !classNames) {
      throw new DataError(
        `${join(dir, sub)}: class "${sub}" has no images; expected .png, .jpg or .jpeg files`,
      );
    }
    for (const name of images) {
      files.push(join(dir, sub, name));
      labels.push(label);
    }
  }
  return { classNames: classes, files, labels };
}

/** Holds out `fraction` of each class (at least one image when the class has two or more). */
function holdOut(list: FileList, fraction: number, seed: number): [FileList, FileList] {
  const rng = new Rng(deriveSeed(seed, 'image-folder-holdout'));
  const train: FileList = { classNames: list.classNames, files: [], labels: [] };
  const test: FileList = { classNames: list.classNames, files: [], labels: [] };
  for (let k = 0; k < list.classNames.length; k++) {
    const members: number[] = [];
    list.labels.forEach((y, i) => {
      if (y === k) members.push(i);
    });
    const nTest = members.length < 2 ? 0 : Math.max(1, Math.round(fraction * members.length));
    const perm = rng.permutation(members.length);
    const isTest = new Uint8Array(members.length);
    for (let j = 0; j < nTest; j++) isTest[perm[j]] = 1;
    members.forEach((i, j) => {
      const into = isTest[j] ? test : train;
      into.files.push(list.files[i]);
      into.labels.push(k);
    });
  }
  return [train, test];
}

function visible(dir: string): string[] {
  return readdirSync(dir).filter((name) => !name.startsWith('.'));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Locale-independent ordering, so class ids never depend on the machine. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
