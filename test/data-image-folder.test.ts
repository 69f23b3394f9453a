import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset, loadImageFolder } from '../src/data/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lethe-imgs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A solid-colour 4x4 PNG. */
async function png(file: string, rgb: [number, number, number], alpha = false): Promise<void> {
  const channels = alpha ? 4 : 3;
  const px = Buffer.alloc(16 * channels);
  for (let p = 0; p < 16; p++) {
    px.set(rgb, p * channels);
    if (alpha) px[p * channels + 3] = 255;
  }
  await sharp(px, { raw: { width: 4, height: 4, channels } })
    .png()
    .toFile(file);
}

async function folder(root: string, classes: Record<string, [number, number, number][]>) {
  for (const [name, colours] of Object.entries(classes)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < colours.length; i++) {
      await png(join(root, name, `${i}.png`), colours[i], i % 2 === 1);
    }
  }
}

test('image folder with train/test: sorted classes, CHW pixels, resize, mean/std from train', async () => {
  const root = join(tmp, 'split');
  await folder(join(root, 'train'), {
    zebra: [[255, 0, 0]],
    apple: [
      [0, 255, 0],
      [0, 0, 255],
    ],
  });
  await folder(join(root, 'test'), { zebra: [[10, 20, 30]] });
  writeFileSync(join(root, 'train', 'apple', 'notes.txt'), 'ignored');
  const { train, test } = await loadImageFolder(root, { size: 2 });
  assert.deepEqual(train.classNames, ['apple', 'zebra']);
  assert.deepEqual(Array.from(train.labels), [0, 0, 1]);
  assert.deepEqual(Array.from(test.labels), [1]);
  assert.deepEqual(train.shape, [3, 2, 2]);
  assert.equal(train.images.length, 3 * 12);
  // Image 2 is zebra/0.png, pure red: channel planes R=255, G=0, B=0.
  assert.deepEqual(
    Array.from(train.images.subarray(24, 36)),
    [255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(Array.from(test.images), [10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
  // Each channel has one 255 image out of three.
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(train.mean[c] - 1 / 3) < 1e-12);
    assert.ok(Math.abs(train.std[c] - Math.sqrt(2) / 3) < 1e-12);
  }
  assert.deepEqual(test.mean, train.mean);
});

test('image folder: grayscale option and hold-out without train/test subfolders', async () => {
  const root = join(tmp, 'flat');
  await folder(root, {
    a: Array.from({ length: 5 }, () => [255, 255, 255] as [number, number, number]),
    b: Array.from({ length: 5 }, () => [0, 0, 0] as [number, number, number]),
  });
  const { train, test } = await loadDataset(`image-folder:${root}`, {
    imageFolder: { channels: 1, size: [3, 5], testFraction: 0.2, seed: 1 },
  });
  assert.deepEqual(train.shape, [1, 3, 5]);
  assert.equal(train.labels.length, 8);
  assert.equal(test.labels.length, 2);
  assert.deepEqual(Array.from(test.labels), [0, 1]);
  assert.ok(test.images.subarray(0, 15).every((v) => v === 255));
  assert.ok(test.images.subarray(15).every((v) => v === 0));
});

test('image folder: errors for a missing root, a class without images, an unknown test class', async () => {
  const missing = join(tmp, 'missing');
  await assert.rejects(loadImageFolder(missing), {
    name: 'FileFormatError',
    message: `${missing}: directory not found; expected <class>/*.png|jpg|jpeg, or train/<class>/... and test/<class>/... there`,
  });
  const empty = join(tmp, 'emptyclass');
  await folder(empty, { a: [[1, 2, 3]] });
  mkdirSync(join(empty, 'b'));
  await assert.rejects(loadImageFolder(empty), {
    name: 'DataError',
    message: `${join(empty, 'b')}: class "b" has no images; expected .png, .jpg or .jpeg files`,
  });
  const extra = join(tmp, 'extra');
  await folder(join(extra, 'train'), { a: [[1, 2, 3]] });
  await folder(join(extra, 'test'), { c: [[1, 2, 3]] });
  await assert.rejects(loadImageFolder(extra), {
    message: `${join(extra, 'test', 'c')}: class "c" does not appear in the training set; expected one of a`,
  });
  const broken = join(tmp, 'broken');
  mkdirSync(join(broken, 'a'), { recursive: true });
  writeFileSync(join(broken, 'a', 'x.png'), 'not a png');
  await assert.rejects(loadImageFolder(broken, { testFraction: 0.5 }), (err: Error) => {
    assert.equal(err.name, 'FileFormatError');
    assert.ok(err.message.startsWith(`${join(broken, 'a', 'x.png')}: cannot decode image (`));
    return true;
  });
});
