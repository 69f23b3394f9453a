import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Batch,
  DataLoader,
  createDataset,
  makeSplit,
  pairedLoader,
  partitionBatch,
  splitLoaders,
} from '../src/data/index.js';

/** n images of 1x2x3 (uint8) whose pixel k of image i is i*6+k, label i%3. */
function tiny(n: number) {
  return createDataset({
    name: 'tiny',
    images: Uint8Array.from({ length: n * 6 }, (_, k) => k % 256),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    shape: [1, 2, 3],
    numClasses: 3,
    mean: [0.5],
    std: [0.25],
  });
}

const collect = (it: Iterable<Batch>): Batch[] => [...it];
const allIndices = (bs: Batch[]): number[] => bs.flatMap((b) => Array.from(b.indices));

test('batch count, sizes and drop-last', () => {
  const ds = tiny(10);
  const l = new DataLoader(ds, null, { batchSize: 4 });
  assert.equal(l.numBatches, 3);
  const bs = collect(l.epoch(0));
  assert.deepEqual(
    bs.map((b) => b.size),
    [4, 4, 2],
  );
  assert.deepEqual(bs[2].shape, [2, 1, 2, 3]);
  assert.equal(bs[2].x.length, 12);
  assert.deepEqual(allIndices(bs), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const d = new DataLoader(ds, null, { batchSize: 4, dropLast: true });
  assert.equal(d.numBatches, 2);
  assert.deepEqual(
    collect(d.epoch(0)).map((b) => b.size),
    [4, 4],
  );
  assert.equal(new DataLoader(ds, new Int32Array(0), { batchSize: 4 }).numBatches, 0);
});

test('a subset, labels follow indices', () => {
  const ds = tiny(10);
  const l = new DataLoader(ds, new Int32Array([2, 5, 7]), { batchSize: 8 });
  const [b] = collect(l.epoch(0));
  assert.deepEqual(Array.from(b.indices), [2, 5, 7]);
  assert.deepEqual(Array.from(b.y), [2, 2, 1]);
  assert.throws(() => new DataLoader(ds, new Int32Array([10]), { batchSize: 2 }), {
    name: 'DataError',
    message: 'tiny: loader index 10 (position 0) is out of range; expected 0..9',
  });
  assert.throws(() => new DataLoader(ds, null, { batchSize: 0 }), {
    name: 'OptionError',
    message: 'Expected a positive integer for batchSize but received 0',
  });
});

test('normalisation: (v/255 - mean)/std per channel, uint8 and float', () => {
  const ds = tiny(2);
  const [b] = collect(new DataLoader(ds, null, { batchSize: 2 }).epoch(0));
  for (let k = 0; k < 12; k++) {
    assert.ok(Math.abs(b.x[k] - (k / 255 - 0.5) / 0.25) < 1e-6, `value ${k}`);
  }
  const raw = collect(new DataLoader(ds, null, { batchSize: 2, normalize: false }).epoch(0))[0];
  assert.ok(Math.abs(raw.x[11] - 11 / 255) < 1e-7);

  const rgb = createDataset({
    images: new Float32Array([0.1, 0.2, 0.3]),
    labels: [0],
    shape: [3, 1, 1],
    mean: [0.1, 0.1, 0.5],
    std: [0.5, 0.1, 0.2],
  });
  const [c] = collect(new DataLoader(rgb, null, { batchSize: 1 }).epoch(0));
  const want = [0, 1, -1];
  want.forEach((v, i) => assert.ok(Math.abs(c.x[i] - v) < 1e-6, `channel ${i}: ${c.x[i]}`));
});

test('shuffle: deterministic per (seed, epoch), differs between epochs and seeds, a permutation', () => {
  const ds = tiny(50);
  const l = new DataLoader(ds, null, { batchSize: 8, shuffle: true, seed: 11 });
  const e0 = allIndices(collect(l.epoch(0)));
  const e1 = allIndices(collect(l.epoch(1)));
  assert.deepEqual(e0, allIndices(collect(l.epoch(0))));
  assert.deepEqual(
    e0,
    allIndices(
      collect(new DataLoader(ds, null, { batchSize: 8, shuffle: true, seed: 11 }).epoch(0)),
    ),
  );
  assert.notDeepEqual(e0, e1);
  assert.notDeepEqual(
    e0,
    allIndices(
      collect(new DataLoader(ds, null, { batchSize: 8, shuffle: true, seed: 12 }).epoch(0)),
    ),
  );
  assert.deepEqual(
    [...e0].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  // Batches are fresh arrays: an earlier batch is not overwritten by later ones.
  const bs = collect(l.epoch(0));
  assert.notEqual(bs[0].x, bs[1].x);
  assert.equal(bs[0].y[0], ds.labels[bs[0].indices[0]]);
});

test('augmentation: flip-only mirrors each row; crop keeps shapes; padding is raw 0', () => {
  const ds = tiny(64);
  const plain = collect(new DataLoader(ds, null, { batchSize: 64 }).epoch(0))[0];
  const flip = collect(
    new DataLoader(ds, null, { batchSize: 64, augment: { flip: true }, seed: 3 }).epoch(0),
  )[0];
  let flipped = 0;
  for (let i = 0; i < 64; i++) {
    const p = plain.x.subarray(i * 6, i * 6 + 6);
    const f = flip.x.subarray(i * 6, i * 6 + 6);
    const mirrored = [p[2], p[1], p[0], p[5], p[4], p[3]];
    if (Array.from(f).every((v, k) => v === p[k])) continue;
    assert.deepEqual(Array.from(f), mirrored, `image ${i}`);
    flipped++;
  }
  assert.ok(flipped > 16 && flipped < 48, `flipped ${flipped} of 64`);

  const zero = (0 - 0.5) / 0.25;
  const crop = new DataLoader(ds, null, {
    batchSize: 64,
    augment: { cropPadding: 1, flip: true },
    seed: 4,
  });
  const [c] = collect(crop.epoch(0));
  assert.deepEqual(c.shape, [64, 1, 2, 3]);
  let padded = 0;
  for (let i = 0; i < 64; i++) {
    const img = Array.from(c.x.subarray(i * 6, i * 6 + 6));
    const src = Array.from(plain.x.subarray(i * 6, i * 6 + 6));
    // Every value is either a source pixel or the normalised zero pixel.
    for (const v of img) assert.ok(v === zero || src.includes(v));
    if (img.includes(zero)) padded++;
  }
  assert.ok(padded > 32, `padded ${padded}`);
  assert.deepEqual(Array.from(collect(crop.epoch(0))[0].x), Array.from(c.x));
  assert.notDeepEqual(Array.from(collect(crop.epoch(1))[0].x), Array.from(c.x));
});

test('augmentation: a crop by a known offset matches torchvision RandomCrop on a 3x3 image', () => {
  // A hand check of the geometry against torchvision (pad with 0, crop at (top, left), then
  // flip). Seeds are tried until all 9 offsets x 2 flips have been drawn.
  const ds = createDataset({
    images: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    labels: [0],
    shape: [1, 3, 3],
    mean: [0],
    std: [1 / 255],
  });
  const seen = new Set<string>();
  for (let seed = 0; seed < 200 && seen.size < 18; seed++) {
    const [b] = collect(
      new DataLoader(ds, null, {
        batchSize: 1,
        seed,
        augment: { cropPadding: 1, flip: true },
      }).epoch(0),
    );
    seen.add(Array.from(b.x).map(Math.round).join(','));
  }
  // All 9 offsets x 2 flips appear, and among them these hand-computed crops:
  assert.equal(seen.size, 18);
  assert.ok(seen.has('0,0,0,2,3,0,5,6,0'), 'top=0,left=2: down one row, left one column');
  assert.ok(seen.has('5,6,0,8,9,0,0,0,0'), 'top=2,left=2: up one row, left one column');
  assert.ok(seen.has('3,2,1,6,5,4,9,8,7'), 'no shift, flipped');
  assert.ok(seen.has('2,1,0,5,4,0,8,7,0'), 'top=1,left=0 then flip: right one column, mirrored');
});

test('pairedLoader: retain drives the epoch, forget batches cycle and reshuffle on wrap', () => {
  const ds = tiny(40);
  const retain = new DataLoader(
    ds,
    Int32Array.from({ length: 30 }, (_, i) => i + 10),
    {
      batchSize: 5,
      shuffle: true,
      seed: 1,
    },
  );
  const forget = new DataLoader(
    ds,
    Int32Array.from({ length: 10 }, (_, i) => i),
    {
      batchSize: 4,
      shuffle: true,
      seed: 2,
    },
  );
  const paired = pairedLoader(retain, forget);
  assert.equal(paired.numBatches, 6);
  const steps = [...paired.epoch(0)];
  assert.equal(steps.length, 6);
  assert.deepEqual(
    steps.map((s) => s.step),
    [0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    steps.map((s) => s.forget.size),
    [4, 4, 2, 4, 4, 2],
  );
  const pass1 = steps.slice(0, 3).flatMap((s) => Array.from(s.forget.indices));
  const pass2 = steps.slice(3, 6).flatMap((s) => Array.from(s.forget.indices));
  assert.deepEqual(
    [...pass1].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.deepEqual(
    [...pass2].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.notDeepEqual(pass1, pass2);
  assert.ok(steps.every((s) => s.retain.indices.every((i) => i >= 10)));
  assert.deepEqual(allIndices(steps.map((s) => s.retain)), allIndices(collect(retain.epoch(0))));
  // Reproducible, and the next epoch uses new forget shuffles.
  const again = [...paired.epoch(0)].map((s) => Array.from(s.forget.indices));
  assert.deepEqual(
    again,
    steps.map((s) => Array.from(s.forget.indices)),
  );
  const next = [...paired.epoch(1)].flatMap((s) => Array.from(s.forget.indices));
  assert.notDeepEqual(next, [...pass1, ...pass2]);

  const empty = new DataLoader(ds, new Int32Array([1, 2]), { batchSize: 4, dropLast: true });
  assert.throws(() => pairedLoader(retain, empty), {
    name: 'DataError',
    message: 'The forget loader yields no batches; a paired loader needs at least one',
  });
});

test('splitLoaders: retain/forget over train (shuffled), val/test over test (in order)', () => {
  const train = tiny(20);
  const testSet = tiny(6);
  const split = makeSplit({ train, testSize: 6, forgetSpec: 'class:1', seed: 9 });
  const loaders = splitLoaders({ train, test: testSet }, split, {
    batchSize: 4,
    forgetBatchSize: 2,
    seed: 9,
    augment: { flip: true },
  });
  assert.deepEqual(
    allIndices(collect(loaders.forget.epoch(0))).sort((a, b) => a - b),
    Array.from(split.forget),
  );
  assert.ok(collect(loaders.forget.epoch(0)).every((b) => b.y.every((y) => y === 1)));
  assert.equal(loaders.forget.numBatches, 4);
  assert.equal(loaders.retain.size, 13);
  assert.deepEqual(allIndices(collect(loaders.val.epoch(0))), Array.from(split.val));
  assert.deepEqual(allIndices(collect(loaders.test.epoch(0))), Array.from(split.test));
  assert.throws(
    () => splitLoaders({ train: testSet, test: testSet }, split, { batchSize: 4, seed: 9 }),
    {
      name: 'DataError',
      message: 'The split is for 20 training and 6 test examples but the data set has 6 and 6',
    },
  );
});

test('partitionBatch: forget rows and the rest, each in batch order with their pixels', () => {
  const per = 4;
  const batch = {
    x: Float32Array.from({ length: 3 * per }, (_, i) => i),
    y: Int32Array.from([7, 8, 9]),
    indices: Int32Array.from([5, 2, 9]),
    size: 3,
    shape: [3, 1, 2, 2] as [number, number, number, number],
  };
  const isForget = new Uint8Array(10);
  isForget[2] = 1;
  const { forget, retain } = partitionBatch(batch, isForget);
  assert.deepEqual([...forget!.indices], [2]);
  assert.deepEqual([...forget!.y], [8]);
  assert.deepEqual([...forget!.x], [4, 5, 6, 7]);
  assert.deepEqual(forget!.shape, [1, 1, 2, 2]);
  assert.deepEqual([...retain!.indices], [5, 9]);
  assert.deepEqual([...retain!.x], [0, 1, 2, 3, 8, 9, 10, 11]);
  assert.equal(retain!.size, 2);
  assert.equal(partitionBatch(batch, new Uint8Array(10)).forget, undefined);
});
