/**
 * Readers for the binary versions of CIFAR-10 and CIFAR-100 ("cifar-10-batches-bin",
 * "cifar-100-binary"). Each file is a run of fixed-length records: label byte(s) then
 * 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major), which is already
 * CHW order, so pixels are copied record by record into one buffer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError, OptionError } from '../util/errors.js';
import { decodeUtf8 } from '../util/json.js';
import { readFileOrFail } from '../util/read-file.js';
import {
  type DatasetPair,
  type ImageDataset,
  CIFAR10_CLASSES,
  DATASET_STATS,
  createDataset,
  defaultClassNames,
} from './dataset.js';
import { findFile, requireDir } from './files.js';

const PIXELS = 3 * 32 * 32;

/** CIFAR-10 binary training files, in order. */
export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
/** CIFAR-10 binary test file. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** CIFAR-100 binary files. */
export const CIFAR100_FILES = { train: 'train.bin', test: 'test.bin' } as const;

/** Options of {@link readCifarRecords}. */
export interface CifarRecordOptions {
  /** Label bytes before the pixels: 1 for CIFAR-10, 2 (coarse, fine) for CIFAR-100. */
  labelBytes: number;
  /** Which label byte to keep (0-based). */
  labelOffset: number;
  numClasses: number;
}

/**
 * Reads CIFAR binary files into one pixel buffer (N*3*32*32, uint8) and one label buffer,
 * validating record-length divisibility and label range.
 */
export function readCifarRecords(
  files: readonly string[],
  options: CifarRecordOptions,
): { images: Uint8Array; labels: Int32Array } {
  const record = options.labelBytes + PIXELS;
  const buffers = files.map((file) => {
    const buf = readFileOrFail(file, (reason) => `cannot read file (${reason})`);
    if (buf.length === 0 || buf.length % record !== 0) {
      throw new FileFormatError(
        file,
        `expected a whole number of ${record}-byte records (${options.labelBytes} label byte${options.labelBytes > 1 ? 's' : ''} + ${PIXELS} pixels) but the file has ${buf.length} bytes`,
      );
    }
    return buf;
  });
  const total = buffers.reduce((n, b) => n + b.length / record, 0);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let i = 0;
  buffers.forEach((buf, f) => {
    const n = buf.length / record;
    for (let r = 0; r < n; r++, i++) {
      const at = r * record;
      const y = buf[at + options.labelOffset];
      if (y >= options.numClasses) {
        throw new FileFormatError(
          files[f],
          `label ${y} of record ${r} is out of range; expected a class id in 0..${options.numClasses - 1}`,
        );
      }
      labels[i] = y;
      images.set(buf.subarray(at + options.labelBytes, at + record), i * PIXELS);
    }
  });
  return { images, labels };
}

/**
 * Loads CIFAR-10 from a `cifar-10-batches-bin` directory (`data_batch_1.bin`..`data_batch_5.bin`,
 * `test_batch.bin`; class names from `batches.meta.txt` when present).
 */
export function loadCifar10(dir: string): DatasetPair {
  const expected = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, 'batches.meta.txt'];
  requireDir(dir, expected);
  const trainFiles = CIFAR10_TRAIN_FILES.map((f) => findFile(dir, [f], expected));
  const testFile = findFile(dir, [CIFAR10_TEST_FILE], expected);
  const classNames = readNames(join(dir, 'batches.meta.txt'), 10) ?? CIFAR10_CLASSES;
  const opts = { labelBytes: 1, labelOffset: 0, numClasses: 10 };
  const stats = DATASET_STATS.cifar10;
  const make = (name: string, files: string[]): ImageDataset =>
    createDataset({
      name,
      ...readCifarRecords(files, opts),
      shape: [3, 32, 32],
      numClasses: 10,
      classNames,
      mean: stats.mean,
      std: stats.std,
    });
  return { train: make('cifar10/train', trainFiles), test: make('cifar10/test', [testFile]) };
}

/** Options of {@link loadCifar100}. */
export interface Cifar100Options {
  /** `'fine'` (100 classes, the default) or `'coarse'` (20 superclasses). */
  labels?: 'fine' | 'coarse';
}

/**
 * Loads CIFAR-100 from a `cifar-100-binary` directory (`train.bin`, `test.bin`; class names from
 * `fine_label_names.txt` / `coarse_label_names.txt` when present).
 */
export function loadCifar100(dir: string, options: Cifar100Options = {}): DatasetPair {
  const kind = options.labels ?? 'fine';
  if (kind !== 'fine' && kind !== 'coarse') {
    throw new OptionError(
      `Expected 'fine' or 'coarse' for labels but received ${JSON.stringify(kind)}`,
    );
  }
  const namesFile = `${kind}_label_names.txt`;
  const expected = [CIFAR100_FILES.train, CIFAR100_FILES.test, namesFile];
  requireDir(dir, expected);
  const trainFile = findFile(dir, [CIFAR100_FILES.train], expected);
  const testFile = findFile(dir, [CIFAR100_FILES.test], expected);
  const numClasses = kind === 'fine' ? 100 : 20;
  const classNames = readNames(join(dir, namesFile), numClasses) ?? defaultClassNames(numClasses);
  const opts = { labelBytes: 2, labelOffset: kind === 'fine' ? 1 : 0, numClasses };
  const stats = DATASET_STATS.cifar100;
  const make = (name: string, file: string): ImageDataset =>
    createDataset({
      name,
      ...readCifarRecords([file], opts),
      shape: [3, 32, 32],
      numClasses,
      classNames,
      mean: stats.mean,
      std: stats.std,
    });
  return { train: make('cifar100/train', trainFile), test: make('cifar100/test', testFile) };
}

/** Non-empty lines of a names file, or undefined when the file is absent. */
function readNames(file: string, count: number): string[] | undefined {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = decodeUtf8(readFileSync(file));
  } catch {
    throw new FileFormatError(file, 'is not valid UTF-8 text; expected one class name per line');
  }
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== count) {
    throw new FileFormatError(
      file,
      `expected ${count} class names, one per line, but found ${names.length}`,
    );
  }
  return names;
}
