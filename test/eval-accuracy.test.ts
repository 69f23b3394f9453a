import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, avgGap, meanStd, perClassAccuracy } from '../src/eval/stats/index.js';

const close = (actual: number, expected: number, tol = 1e-12): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected} ± ${tol}, got ${actual}`);

test('accuracy counts exact matches', () => {
  assert.equal(accuracy(Int32Array.of(0, 1, 1, 2), Int32Array.of(0, 1, 0, 2)), 0.75);
  assert.throws(() => accuracy(Int32Array.of(0), Int32Array.of(0, 1)), {
    message: 'Expected as many predictions as labels (2) but received 1',
  });
  assert.throws(() => accuracy(new Int32Array(0), new Int32Array(0)), {
    message: 'Expected at least one label but received 0',
  });
});

test('perClassAccuracy gives null for absent classes', () => {
  const pred = Int32Array.of(0, 0, 1, 1, 1, 0);
  const labels = Int32Array.of(0, 0, 1, 1, 0, 1);
  // Class 0: rows 0, 1, 4 → 2 of 3; class 1: rows 2, 3, 5 → 2 of 3; class 2 absent.
  assert.deepEqual(perClassAccuracy(pred, labels, 3), [2 / 3, 2 / 3, null]);
  assert.throws(() => perClassAccuracy(Int32Array.of(0), Int32Array.of(3), 3), {
    message: 'Expected a label in [0, 3) at index 0 but received 3',
  });
});

test('meanStd uses the sample standard deviation', () => {
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(r.mean, 5);
  close(r.std, Math.sqrt(32 / 7));
  assert.equal(r.n, 8);
  assert.deepEqual(meanStd([0.7]), { mean: 0.7, std: 0, n: 1 });
});

test('avgGap on a worked example', () => {
  const g = avgGap(
    { forget: 0.9, retain: 0.99, test: 0.88, mia: 0.2 },
    { forget: 0.85, retain: 1, test: 0.9, mia: 0.3 },
  );
  close(g.forget, 0.05);
  close(g.retain, 0.01);
  close(g.test, 0.02);
  close(g.mia, 0.1);
  close(g.avg, 0.045);
  assert.deepEqual(Object.keys(g), ['forget', 'retain', 'test', 'mia', 'avg']);
});
