/**
 * Readers for the IDX format of MNIST and Fashion-MNIST, raw or gzipped.
 *
 * An IDX file is a big-endian header (a magic number whose low byte is the number of
 * dimensions and whose next byte is the element type, then one uint32 per dimension) followed
 * by the elements. Lethe reads unsigned-byte images (magic 2051: 3 dimensions) and
 * unsigned-byte labels (magic 2049: 1 dimension).
 */
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FileFormatError } from '../util/errors.js';
import { readFileOrFail } from '../util/read-file.js';
import {
  type DatasetPair,
  type ImageDataset,
  checkLabels,
  createDataset,
  defaultClassNames,
} from './dataset.js';
import { requireDir, findFile } from './files.js';

/** IDX magic number of unsigned-byte, 3-dimensional data (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** IDX magic number of unsigned-byte, 1-dimensional data (labels). */
export const IDX_LABELS_MAGIC = 2049;

/** Reads a file, gunzipping it when it starts with the gzip signature (whatever its name). */
export function readMaybeGzip(file: string): Buffer {
  const buf = readFileOrFail(file, (reason) => `cannot read file (${reason})`);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf);
    } catch (err) {
      throw new FileFormatError(file, `corrupt gzip data (${(err as Error).message})`);
    }
  }
  return buf;
}

/** IDX images: `count` images of `rows`x`cols` bytes in one buffer. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/** Reads an IDX image file (magic 2051), raw or gzipped. */
export function readIdxImages(file: string): IdxImages {
  const buf = readMaybeGzip(file);
  checkHeader(file, buf, IDX_IMAGES_MAGIC, 16, 'unsigned-byte images, 3 dimensions');
  const count = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  if (rows === 0 || cols === 0) {
    throw new FileFormatError(file, `expected positive image dimensions but found ${rows}x${cols}`);
  }
  const expected = 16 + count * rows * cols;
  checkLength(file, buf, expected, `${count} images of ${rows}x${cols}`);
  // A plain Uint8Array that owns its ArrayBuffer (offset 0), not a Buffer view of the file.
  const pixels = new Uint8Array(count * rows * cols);
  pixels.set(buf.subarray(16, expected));
  return { count, rows, cols, pixels };
}

/** Reads an IDX label file (magic 2049), raw or gzipped, into an Int32Array. */
export function readIdxLabels(file: string): Int32Array {
  const buf = readMaybeGzip(file);
  checkHeader(file, buf, IDX_LABELS_MAGIC, 8, 'unsigned-byte labels, 1 dimension');
  const count = buf.readUInt32BE(4);
  checkLength(file, buf, 8 + count, `${count} labels`);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = buf[8 + i];
  return labels;
}

/** Options of {@link loadIdxPair}. */
export interface IdxPairOptions {
  name: string;
  imagesFile: string;
  labelsFile: string;
  numClasses?: number;
  classNames?: readonly string[];
  mean?: readonly number[];
  std?: readonly number[];
}

/** Reads an IDX image file and its label file into one 1-channel {@link ImageDataset}. */
export function loadIdxPair(options: IdxPairOptions): ImageDataset {
  const images = readIdxImages(options.imagesFile);
  if (images.count === 0) {
    throw new FileFormatError(
      options.imagesFile,
      'holds 0 images; a training or test set needs at least one',
    );
  }
  const labels = readIdxLabels(options.labelsFile);
  if (labels.length !== images.count) {
    throw new FileFormatError(
      options.labelsFile,
      `expected ${images.count} labels to match ${options.imagesFile} but found ${labels.length}`,
    );
  }
  const numClasses = options.numClasses ?? options.classNames?.length ?? 10;
  checkLabels(labels, numClasses, options.labelsFile);
  return createDataset({
    name: options.name,
    images: images.pixels,
    labels,
    shape: [1, images.rows, images.cols],
    numClasses,
    classNames: options.classNames ?? defaultClassNames(numClasses),
    mean: options.mean,
    std: options.std,
  });
}

/** The four IDX files of an MNIST-style directory, by their canonical (gzipped) names. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

/** Options of {@link loadMnistDir}. */
export interface MnistDirOptions {
  /** Prefix of the data sets' names, e.g. `fashion-mnist`. */
  name: string;
  classNames: readonly string[];
  mean: readonly number[];
  std: readonly number[];
  /** Appended to the "directory not found" message, e.g. where to get the files. */
  hint?: string;
}

/**
 * Loads an MNIST-style directory: the four files of {@link MNIST_FILES}, each found gzipped or
 * not (`train-images-idx3-ubyte`, or `train-images.idx3-ubyte` as some archives name them).
 */
export function loadMnistDir(dir: string, options: MnistDirOptions): DatasetPair {
  const names = Object.values(MNIST_FILES);
  requireDir(dir, names, options.hint);
  const find = (gz: string): string => findFile(dir, mnistCandidates(gz), names, options.hint);
  const common = {
    classNames: options.classNames,
    mean: options.mean,
    std: options.std,
  };
  const train = loadIdxPair({
    name: `${options.name}/train`,
    imagesFile: find(MNIST_FILES.trainImages),
    labelsFile: find(MNIST_FILES.trainLabels),
    ...common,
  });
  const test = loadIdxPair({
    name: `${options.name}/test`,
    imagesFile: find(MNIST_FILES.testImages),
    labelsFile: find(MNIST_FILES.testLabels),
    ...common,
  });
  if (test.shape[1] !== train.shape[1] || test.shape[2] !== train.shape[2]) {
    throw new FileFormatError(
      join(dir, MNIST_FILES.testImages),
      `expected ${train.shape[1]}x${train.shape[2]} images like the training set but found ${test.shape[1]}x${test.shape[2]}`,
    );
  }
  return { train, test };
}

function mnistCandidates(gz: string): string[] {
  const raw = gz.slice(0, -'.gz'.length);
  const dotted = raw.replace(/-(idx\d)/, '.$1');
  return [gz, raw, dotted, `${dotted}.gz`];
}

function checkHeader(
  file: string,
  buf: Buffer,
  magic: number,
  headerBytes: number,
  what: string,
): void {
  const found = buf.length >= 4 ? buf.readUInt32BE(0) : -1;
  if (found >= 0 && found !== magic) {
    throw new FileFormatError(
      file,
      `expected IDX magic number ${magic} (${what}) but found ${found}`,
    );
  }
  if (buf.length < headerBytes) {
    throw new FileFormatError(
      file,
      `truncated IDX header: expected at least ${headerBytes} bytes but found ${buf.length}`,
    );
  }
}

function checkLength(file: string, buf: Buffer, expected: number, what: string): void {
  if (buf.length < expected) {
    throw new FileFormatError(
      file,
      `truncated IDX file: expected ${expected} bytes for ${what} but found ${buf.length}`,
    );
  }
  if (buf.length > expected) {
    throw new FileFormatError(
      file,
      `expected ${expected} bytes for ${what} but found ${buf.length} (trailing data)`,
    );
  }
}
