import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  FASHION_MNIST_DIR,
  createDataset,
  loadCifar10,
  loadCifar100,
  loadDataset,
  loadIdxPair,
  parseDatasetSpec,
  readIdxImages,
  readIdxLabels,
} from '../src/data/index.js';
import { DataError, FileFormatError, OptionError } from '../src/util/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lethe-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function idxImages(
  n: number,
  rows: number,
  cols: number,
  pixel: (i: number, k: number) => number,
): Buffer {
  const buf = Buffer.alloc(16 + n * rows * cols);
  buf.writeUInt32BE(2051, 0);
  buf.writeUInt32BE(n, 4);
  buf.writeUInt32BE(rows, 8);
  buf.writeUInt32BE(cols, 12);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < rows * cols; k++) buf[16 + i * rows * cols + k] = pixel(i, k);
  return buf;
}

function idxLabels(labels: number[]): Buffer {
  const buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(2049, 0);
  buf.writeUInt32BE(labels.length, 4);
  labels.forEach((y, i) => (buf[8 + i] = y));
  return buf;
}

function write(name: string, data: Buffer | string): string {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
}

/** Writes an MNIST-style dir with 3 train and 2 test 4x5 images. */
function mnistDir(name: string, gz: boolean): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const enc = (b: Buffer): Buffer => (gz ? gzipSync(b) : b);
  const suffix = gz ? '.gz' : '';
  const px = (i: number, k: number): number => (i * 20 + k) % 256;
  writeFileSync(join(dir, `train-images-idx3-ubyte${suffix}`), enc(idxImages(3, 4, 5, px)));
  writeFileSync(join(dir, `train-labels-idx1-ubyte${suffix}`), enc(idxLabels([9, 0, 3])));
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${suffix}`), enc(idxImages(2, 4, 5, px)));
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${suffix}`), enc(idxLabels([1, 2])));
  return dir;
}

test('IDX: raw and gzipped files read into one buffer with the same contents', () => {
  const raw = write(
    'a-images',
    idxImages(3, 2, 2, (i, k) => i * 10 + k),
  );
  const gz = write('a-images.gz', gzipSync(idxImages(3, 2, 2, (i, k) => i * 10 + k)));
  for (const file of [raw, gz]) {
    const img = readIdxImages(file);
    assert.equal(img.count, 3);
    assert.equal(img.rows, 2);
    assert.equal(img.cols, 2);
    assert.deepEqual(Array.from(img.pixels), [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
  }
  const labels = readIdxLabels(write('a-labels.gz', gzipSync(idxLabels([7, 0, 255]))));
  assert.ok(labels instanceof Int32Array);
  assert.deepEqual(Array.from(labels), [7, 0, 255]);
});

test('IDX: a wrong magic number names the file and both numbers', () => {
  const file = write('swapped', idxLabels([1, 2]));
  assert.throws(() => readIdxImages(file), {
    name: 'FileFormatError',
    message: `${file}: expected IDX magic number 2051 (unsigned-byte images, 3 dimensions) but found 2049`,
  });
  const file2 = write(
    'swapped2',
    idxImages(1, 2, 2, () => 0),
  );
  assert.throws(() => readIdxLabels(file2), {
    message: `${file2}: expected IDX magic number 2049 (unsigned-byte labels, 1 dimension) but found 2051`,
  });
});

test('IDX: a truncated file gives expected vs actual bytes', () => {
  const full = idxImages(10, 28, 28, () => 1);
  const file = write('trunc.gz', gzipSync(full.subarray(0, 1000)));
  assert.throws(() => readIdxImages(file), {
    name: 'FileFormatError',
    message: `${file}: truncated IDX file: expected 7856 bytes for 10 images of 28x28 but found 1000`,
  });
  const labels = write('trunc-labels', idxLabels([1, 2, 3]).subarray(0, 9));
  assert.throws(() => readIdxLabels(labels), {
    message: `${labels}: truncated IDX file: expected 11 bytes for 3 labels but found 9`,
  });
  const header = write('trunc-header', Buffer.from([0, 0, 8]));
  assert.throws(() => readIdxImages(header), {
    message: `${header}: truncated IDX header: expected at least 16 bytes but found 3`,
  });
  const badGz = write('bad.gz', gzipSync(full).subarray(0, 50));
  assert.throws(
    () => readIdxImages(badGz),
    (err: unknown) => {
      assert.ok(err instanceof FileFormatError);
      assert.match(err.message, /^.*bad\.gz: corrupt gzip data \(unexpected end of file\)$/);
      return true;
    },
  );
});

test('IDX: label count must equal image count, labels must be in range', () => {
  const images = write(
    'cnt-images',
    idxImages(3, 2, 2, () => 0),
  );
  const labels = write('cnt-labels', idxLabels([1, 2]));
  assert.throws(() => loadIdxPair({ name: 'x', imagesFile: images, labelsFile: labels }), {
    message: `${labels}: expected 3 labels to match ${images} but found 2`,
  });
  const bad = write('range-labels', idxLabels([1, 10, 2]));
  assert.throws(() => loadIdxPair({ name: 'x', imagesFile: images, labelsFile: bad }), {
    name: 'DataError',
    message: `${bad}: label 10 of sample 1 is out of range; expected a class id in 0..9`,
  });
});

test('loadDataset: mnist from raw and gzipped directories', async () => {
  for (const gz of [false, true]) {
    const dir = mnistDir(`mnist-${gz}`, gz);
    const { train, test } = await loadDataset(`mnist:${dir}`);
    assert.deepEqual(train.shape, [1, 4, 5]);
    assert.equal(train.name, 'mnist/train');
    assert.deepEqual(Array.from(train.labels), [9, 0, 3]);
    assert.deepEqual(Array.from(test.labels), [1, 2]);
    assert.equal(train.images.length, 3 * 20);
    assert.equal(train.images[20 + 7], 27);
    assert.deepEqual(train.mean, [0.1307]);
    assert.deepEqual(train.std, [0.3081]);
    assert.equal(train.numClasses, 10);
  }
});

test('loadDataset: fashion-mnist at a path reads the same layout with its class names', async () => {
  const dir = mnistDir('fmnist', true);
  const { train } = await loadDataset(`fashion-mnist:${dir}`);
  assert.equal(train.classNames[9], 'Ankle boot');
  assert.deepEqual(train.mean, [0.286]);
});

test('loadDataset: errors for unknown names, missing paths and missing directories', async () => {
  await assert.rejects(loadDataset('imagenet'), {
    name: 'OptionError',
    message:
      'Unknown data set "imagenet"; expected one of fashion-mnist, mnist, cifar10, cifar100, image-folder (as name or name:path)',
  });
  await assert.rejects(loadDataset('cifar10'), {
    message:
      'Data set "cifar10" needs a path: use cifar10:<dir>, where <dir> is the cifar-10-batches-bin directory',
  });
  const missing = join(tmp, 'nope');
  await assert.rejects(loadDataset(`fashion-mnist:${missing}`), {
    name: 'FileFormatError',
    message:
      `${missing}: directory not found; expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ` +
      `t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz there (Debian's dataset-fashion-mnist package provides them)`,
  });
  await assert.rejects(loadDataset(`cifar10:${missing}`), {
    message: `${missing}: directory not found; expected data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin, batches.meta.txt there`,
  });
  const empty = join(tmp, 'empty-mnist');
  mkdirSync(empty);
  await assert.rejects(loadDataset(`mnist:${empty}`), {
    message: `${join(empty, 'train-images-idx3-ubyte.gz')}: file not found; expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz there`,
  });
  assert.deepEqual(parseDatasetSpec('cifar10:/a:b'), { name: 'cifar10', path: '/a:b' });
  assert.throws(() => parseDatasetSpec('mnist:'), OptionError);
});

function cifarRecords(labelBytes: number[][], pixel: (r: number, k: number) => number): Buffer {
  const lb = labelBytes[0].length;
  const rec = lb + 3072;
  const buf = Buffer.alloc(labelBytes.length * rec);
  labelBytes.forEach((ls, r) => {
    ls.forEach((l, j) => (buf[r * rec + j] = l));
    for (let k = 0; k < 3072; k++) buf[r * rec + lb + k] = pixel(r, k);
  });
  return buf;
}

test('CIFAR-10: five training batches and the test batch concatenate in order', () => {
  const dir = join(tmp, 'cifar10');
  mkdirSync(dir);
  for (let b = 1; b <= 5; b++) {
    writeFileSync(
      join(dir, `data_batch_${b}.bin`),
      cifarRecords([[b], [b + 1]], (r, k) => (b * 7 + r * 3 + k) % 256),
    );
  }
  writeFileSync(
    join(dir, 'test_batch.bin'),
    cifarRecords([[9]], (_r, k) => k >> 4),
  );
  writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  const { train, test } = loadCifar10(dir);
  assert.equal(train.labels.length, 10);
  assert.deepEqual(Array.from(train.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
  assert.deepEqual(train.shape, [3, 32, 32]);
  assert.equal(train.images.length, 10 * 3072);
  // Record 3 is batch 2, row 1: pixel k = (14 + 3 + k) % 256; channel 1 starts at k = 1024.
  assert.equal(train.images[3 * 3072 + 1024], (14 + 3 + 1024) % 256);
  assert.deepEqual(Array.from(test.labels), [9]);
  assert.equal(test.images[3071], 3071 >> 4);
  assert.deepEqual(train.classNames, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  assert.deepEqual(train.mean, [0.4914, 0.4822, 0.4465]);

  writeFileSync(
    join(dir, 'test_batch.bin'),
    cifarRecords([[10]], () => 0),
  );
  assert.throws(() => loadCifar10(dir), {
    name: 'FileFormatError',
    message: `${join(dir, 'test_batch.bin')}: label 10 of record 0 is out of range; expected a class id in 0..9`,
  });
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(3073 + 5));
  assert.throws(() => loadCifar10(dir), {
    message: `${join(dir, 'test_batch.bin')}: expected a whole number of 3073-byte records (1 label byte + 3072 pixels) but the file has 3078 bytes`,
  });
});

test('CIFAR-100: fine labels by default, coarse on request', async () => {
  const dir = join(tmp, 'cifar100');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'train.bin'),
    cifarRecords(
      [
        [3, 42],
        [19, 99],
      ],
      (r, k) => (r + k) % 256,
    ),
  );
  writeFileSync(
    join(dir, 'test.bin'),
    cifarRecords([[0, 7]], () => 5),
  );
  const fine = loadCifar100(dir);
  assert.deepEqual(Array.from(fine.train.labels), [42, 99]);
  assert.equal(fine.train.numClasses, 100);
  assert.equal(fine.train.images[3072 + 5], 6);
  assert.equal(fine.test.images[100], 5);
  const coarse = await loadDataset(`cifar100:${dir}`, { cifar100Labels: 'coarse' });
  assert.deepEqual(Array.from(coarse.train.labels), [3, 19]);
  assert.equal(coarse.train.numClasses, 20);
  assert.deepEqual(coarse.train.std, [0.2673, 0.2564, 0.2762]);
  writeFileSync(
    join(dir, 'test.bin'),
    cifarRecords([[20, 7]], () => 5),
  );
  assert.throws(() => loadCifar100(dir, { labels: 'coarse' }), {
    message: `${join(dir, 'test.bin')}: label 20 of record 0 is out of range; expected a class id in 0..19`,
  });
  writeFileSync(join(dir, 'train.bin'), Buffer.alloc(3073));
  assert.throws(() => loadCifar100(dir), {
    message: `${join(dir, 'train.bin')}: expected a whole number of 3074-byte records (2 label bytes + 3072 pixels) but the file has 3073 bytes`,
  });
});

test('createDataset: validates lengths, labels and stats; computes mean/std when absent', () => {
  const ds = createDataset({
    images: new Float32Array([0, 1, 0, 1, 0.5, 0.5, 0.5, 0.5]),
    labels: [0, 2],
    shape: [1, 2, 2],
  });
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(ds.classNames, ['0', '1', '2']);
  assert.ok(Math.abs(ds.mean[0] - 0.5) < 1e-12);
  assert.ok(Math.abs(ds.std[0] - Math.sqrt(0.125)) < 1e-12);
  assert.throws(
    () => createDataset({ images: new Uint8Array(7), labels: [0, 1], shape: [1, 2, 2] }),
    {
      name: 'DataError',
      message: 'Expected 2*1*2*2 = 8 image values for 2 labels of shape [1, 2, 2] but received 7',
    },
  );
  assert.throws(
    () =>
      createDataset({ images: new Uint8Array(8), labels: [0, 3], shape: [1, 2, 2], numClasses: 3 }),
    { message: 'memory: label 3 of sample 1 is out of range; expected a class id in 0..2' },
  );
  assert.throws(
    () => createDataset({ images: new Uint8Array(8), labels: [0, 1], shape: [1, 2, 2], std: [0] }),
    { name: 'OptionError', message: 'Expected 1 positive numbers for std but received [0]' },
  );
  assert.throws(
    () => createDataset({ images: [1, 2] as unknown as Uint8Array, labels: [0], shape: [1, 1, 2] }),
    { message: 'Expected a Uint8Array or Float32Array for images but received an array' },
  );
  assert.throws(
    () => createDataset({ images: new Float32Array([0, NaN]), labels: [0], shape: [1, 1, 2] }),
    DataError,
  );
});

test(
  'Fashion-MNIST from the system install: counts, first labels, class names',
  { skip: !existsSync(FASHION_MNIST_DIR) && 'Fashion-MNIST not installed' },
  async () => {
    const { train, test } = await loadDataset('fashion-mnist');
    assert.equal(train.labels.length, 60000);
    assert.equal(test.labels.length, 10000);
    assert.deepEqual(train.shape, [1, 28, 28]);
    assert.equal(train.images.length, 60000 * 784);
    assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert.deepEqual(Array.from(test.labels.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    assert.equal(train.classNames[0], 'T-shirt/top');
    assert.equal(train.numClasses, 10);
  },
);

test('IDX pixels are a plain Uint8Array owning its buffer', () => {
  const img = readIdxImages(write('own.gz', gzipSync(idxImages(2, 2, 2, () => 3))));
  assert.equal(img.pixels.constructor, Uint8Array);
  assert.equal(img.pixels.byteOffset, 0);
  assert.equal(img.pixels.buffer.byteLength, 8);
});
