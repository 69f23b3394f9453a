import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EPSILON_CAP,
  epsilonForExample,
  epsilonPoints,
  forgettingQuality,
  forgettingQualityBins,
  logitScaledConfidence,
  neuripsScore,
} from '../src/eval/stats/index.js';
import { DataError } from '../src/util/errors.js';

const close = (actual: number, expected: number, tol = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected} ± ${tol}, got ${actual}`);

test('logitScaledConfidence matches a worked 3-class example', () => {
  // Row 0: logits (1, 2, 3), label 2: f = 3 − ln(e + e²) = 2 − ln(1 + e).
  // Row 1: same logits, label 0: f = 1 − ln(e² + e³) = −1 − ln(1 + e).
  // Row 2: equal logits, label 1: p_y = 1/3, rest 2/3, f = −ln 2.
  // Row 3: p_y = e^−1000 underflows to 0 in float64, so f = ln(1e-45) − ln(1) ≈ −103.616.
  const logits = Float32Array.of(1, 2, 3, 1, 2, 3, 0, 0, 0, 1000, 0, 0);
  const f = logitScaledConfidence(logits, Int32Array.of(2, 0, 1, 1));
  assert.ok(f instanceof Float64Array);
  close(f[0], 2 - Math.log(1 + Math.E), 1e-12);
  close(f[1], -1 - Math.log(1 + Math.E), 1e-12);
  close(f[2], -Math.LN2, 1e-12);
  close(f[3], Math.log(1e-45), 1e-9);
  close(f[0], 0.6867383124818149, 1e-12);
});

test('logitScaledConfidence rejects mismatched shapes and out-of-range labels', () => {
  assert.throws(
    () => logitScaledConfidence(Float32Array.of(1, 2, 3), Int32Array.of(0, 1)),
    (e: unknown) => e instanceof DataError && /rows × classes/.test(e.message),
  );
  assert.throws(() => logitScaledConfidence(Float32Array.of(1, 2, 3), Int32Array.of(3)), {
    message: 'Expected a label in [0, 3) for row 0 but received 3',
  });
});

test('identical distributions give ε = 0 and F = 1', () => {
  const values = [0.3, -1.2, 2.5, 0.9, 1.7, -0.4, 3.1, 0.0];
  assert.equal(epsilonForExample(values, values), 0);
  // Same multiset in another order (models are exchangeable).
  assert.equal(epsilonForExample(values, [...values].reverse()), 0);

  const n = 8;
  const examples = 5;
  const u: Float64Array[] = [];
  const r: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    u.push(Float64Array.from({ length: examples }, (_, s) => values[j] + s));
    r.push(Float64Array.from({ length: examples }, (_, s) => values[(j + 3) % n] + s));
  }
  const { F, epsilons } = forgettingQuality(u, r);
  assert.equal(F, 1);
  assert.deepEqual([...epsilons], [0, 0, 0, 0, 0]);
});

test('fully separated distributions give ε at the cap and F = 0', () => {
  const low = [0, 0.2, 0.5, 0.7, 1];
  const high = low.map((v) => v + 5);
  assert.equal(epsilonForExample(high, low), EPSILON_CAP);
  assert.equal(epsilonForExample(low, high), EPSILON_CAP);
  const { F, epsilons } = forgettingQuality(
    high.map((v) => Float64Array.of(v, v + 1)),
    low.map((v) => Float64Array.of(v, v - 3)),
  );
  assert.equal(F, 0);
  assert.deepEqual([...epsilons], [50, 50]);
});

test('a peaky unlearned distribution gets the cap', () => {
  // Range 0.001 against range 1: ratio 0.001 < 0.01.
  assert.equal(epsilonForExample([1, 1.001, 1, 1.0005], [0, 0.5, 1, 0.25]), 50);
});

test('a hand-computed intermediate ε', () => {
  // Unlearned {1,2,3,4} (larger median, positive) vs retrained {0,1,2,3}, N = 4.
  // Best single threshold t ∈ (1, 2]: FNR = 1/4 (the 1), FPR = 2/4 ({2, 3}):
  //   ε = max(ln(1 − δ − 1/2) − ln(1/4), ln(1 − δ − 1/4) − ln(1/2)) = ln(2 − 4δ).
  // No interval does better: one holding 3 of the positives holds 2 of the negatives.
  const expected = Math.log(0.5 - 1e-5) - Math.log(0.25);
  close(epsilonForExample([1, 2, 3, 4], [0, 1, 2, 3]), expected, 1e-12);
  close(expected, 0.69312718, 1e-8);
  // Swapping roles gives the same ε (the positive set follows the median).
  close(epsilonForExample([0, 1, 2, 3], [1, 2, 3, 4]), expected, 1e-12);
  // δ enters as stated: δ = 0 gives exactly ln 2.
  close(epsilonForExample([1, 2, 3, 4], [0, 1, 2, 3], 0), Math.LN2, 1e-12);
});

test('forgetting quality bins and points', () => {
  assert.equal(forgettingQualityBins(512), 14); // ceil(ln 511) = 7 → 14 bins
  assert.equal(forgettingQualityBins(4), 4); // ceil(ln 3) = 2
  assert.equal(forgettingQualityBins(3), 2); // ceil(ln 2) = 1
  assert.equal(forgettingQualityBins(2), 1); // ln 1 = 0, kept at one bin
  assert.equal(epsilonPoints(0, 4), 1);
  assert.equal(epsilonPoints(0.4999, 4), 1);
  assert.equal(epsilonPoints(0.5, 4), 0.5);
  assert.equal(epsilonPoints(1.2, 4), 0.25);
  assert.equal(epsilonPoints(1.99, 4), 0.125);
  assert.equal(epsilonPoints(2, 4), 0);
  assert.equal(epsilonPoints(50, 14), 0);
});

test('F averages points over examples: identical, intermediate and separated', () => {
  // N = 4 models → 4 bins; example 0 identical (ε 0 → 1), 1 intermediate (ε ≈ 0.69 → ½),
  // 2 separated (ε 50 → 0): F = 1.5 / 3 = 0.5.
  const u = [0, 1, 2, 3].map((j) => Float64Array.of(j, j + 1, j * 0.25));
  const r = [0, 1, 2, 3].map((j) => Float64Array.of(j, j, 10 + j * 0.25));
  const { F, epsilons } = forgettingQuality(u, r);
  assert.equal(epsilons[0], 0);
  close(epsilons[1], Math.log(2 - 4e-5), 1e-12);
  assert.equal(epsilons[2], 50);
  close(F, 0.5, 1e-15);
});

test('two models per side: only ε = 0 or the cap, one bin', () => {
  const same = forgettingQuality(
    [Float64Array.of(1), Float64Array.of(2)],
    [Float64Array.of(2), Float64Array.of(1)],
  );
  assert.equal(same.F, 1);
  const apart = forgettingQuality(
    [Float64Array.of(1), Float64Array.of(2)],
    [Float64Array.of(8), Float64Array.of(9)],
  );
  assert.equal(apart.F, 0);
});

test('forgettingQuality validates its shapes', () => {
  assert.throws(() => forgettingQuality([Float64Array.of(1)], [Float64Array.of(1)]), {
    message:
      'Expected the same number N ≥ 2 of unlearned and retrained models but received 1 and 1',
  });
  assert.throws(
    () =>
      forgettingQuality(
        [Float64Array.of(1, 2), Float64Array.of(1)],
        [Float64Array.of(1, 2), Float64Array.of(1, 2)],
      ),
    { message: 'Expected 2 confidences for fUnlearned[1] but received 1' },
  );
});

test('neuripsScore arithmetic', () => {
  // RA_U = 0.9, RA_R = 1 → 0.9; TA_U = 0.6, TA_R = 0.8 → 0.75; score = 0.5 · 0.9 · 0.75.
  const r = neuripsScore(0.5, [0.9, 0.9], [0.7, 0.5], [1, 1], [0.8, 0.8]);
  assert.equal(r.n, 2);
  assert.equal(r.forgettingQuality, 0.5);
  close(r.retainRatio, 0.9, 1e-15);
  close(r.testRatio, 0.75, 1e-15);
  close(r.score, 0.3375, 1e-15);
  assert.throws(() => neuripsScore(1.5, [1], [1], [1], [1]), {
    message: 'Expected a forgetting quality in [0, 1] for F but received 1.5',
  });
});

test('a realistic N = 64 run stays fast and is order-independent', () => {
  // Deterministic pseudo-normal draws; both sides from one distribution, shuffled apart.
  let x = 12345;
  const draw = (): number => {
    let s = 0;
    for (let k = 0; k < 12; k++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      s += x / 4294967296;
    }
    return s - 6;
  };
  const n = 64;
  const examples = 20;
  const u = Array.from({ length: n }, () => Float64Array.from({ length: examples }, draw));
  const r = Array.from({ length: n }, () => Float64Array.from({ length: examples }, draw));
  const t0 = performance.now();
  const a = forgettingQuality(u, r);
  const elapsed = performance.now() - t0;
  const b = forgettingQuality([...u].reverse(), [...r].reverse());
  assert.deepEqual([...a.epsilons], [...b.epsilons]);
  // Same distribution: finite-sample ε stays well below the cap (tail thresholds give ~ln 2–ln 4).
  for (const e of a.epsilons) assert.ok(e >= 0 && e < 3, `ε = ${e}`);
  assert.ok(a.F > 0.1 && a.F <= 1, `F = ${a.F}`);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
});
