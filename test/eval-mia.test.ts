import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLogistic1d, miaEfficacy, simpleMia } from '../src/eval/stats/index.js';
import { Rng } from '../src/util/rng.js';
import { DataError, OptionError } from '../src/util/errors.js';

const close = (actual: number, expected: number, tol: number): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected} ± ${tol}, got ${actual}`);

function normals(n: number, mean: number, std: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => mean + std * rng.normal());
}

function uniforms(n: number, lo: number, hi: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

test("fitLogistic1d minimises scikit-learn's objective (L2 on the raw weight, C = 1)", () => {
  // x = (−1, 1), y = (0, 1): by symmetry b = 0 and ½w² + 2·softplus(−w) is stationary
  // where w = 2·σ(−w), i.e. w·(1 + e^w) = 2.
  const a = fitLogistic1d(Float64Array.of(-1, 1), Uint8Array.of(0, 1));
  close(a.bias, 0, 1e-10);
  close(a.weight * (1 + Math.exp(a.weight)), 2, 1e-9);
  close(a.weight, 0.674, 1e-3);
  // x = (−10, 10): the penalty stays on the raw weight despite standardisation:
  // w = 20·σ(−10w), i.e. w·(1 + e^{10w}) = 20.
  const b = fitLogistic1d(Float64Array.of(-10, 10), Uint8Array.of(0, 1));
  close(b.weight * (1 + Math.exp(10 * b.weight)), 20, 1e-8);
  // Shifted inputs move only the intercept.
  const c = fitLogistic1d(Float64Array.of(99, 101), Uint8Array.of(0, 1));
  close(c.weight, a.weight, 1e-9);
  close(c.bias, -100 * a.weight, 1e-7);
  assert.equal(c.predict(100.5), 1);
  assert.equal(c.predict(99.5), 0);
});

test('simple MIA ≈ 0.5 on identical loss distributions', () => {
  const forget = normals(1000, 1, 0.5, 1);
  const testLosses = normals(1000, 1, 0.5, 2);
  close(simpleMia(forget, testLosses, { seed: 0 }), 0.5, 0.05);
});

test('simple MIA ≈ 1 on separated loss distributions', () => {
  const forget = uniforms(500, 0, 0.1, 3); // members: small losses
  const testLosses = uniforms(500, 2, 3, 4);
  assert.equal(simpleMia(forget, testLosses, { seed: 0 }), 1);
});

test('simple MIA reaches the Bayes accuracy Φ(½) ≈ 0.691 for unit-variance normals 1 apart', () => {
  const forget = normals(3000, 0, 1, 5);
  const testLosses = normals(3000, 1, 1, 6);
  close(simpleMia(forget, testLosses, { seed: 0 }), 0.6915, 0.03);
});

test('simple MIA balances by subsampling the larger set', () => {
  // 300 members vs 6000 non-members: after balancing a constant guess scores 0.5, not 0.95.
  const forget = normals(300, 1, 0.5, 7);
  const testLosses = normals(6000, 1, 0.5, 8);
  close(simpleMia(forget, testLosses, { seed: 0 }), 0.5, 0.08);
  assert.equal(simpleMia(uniforms(40, 0, 0.1, 9), uniforms(4000, 2, 3, 10), { seed: 1 }), 1);
});

test('simple MIA is deterministic under its seed', () => {
  const forget = normals(300, 0, 1, 11);
  const testLosses = normals(500, 0.5, 1, 12);
  const a = simpleMia(forget, testLosses, { seed: 42 });
  const b = simpleMia(forget, testLosses, { seed: 42 });
  assert.equal(a, b);
  const others = [1, 2, 3, 4].map((seed) => simpleMia(forget, testLosses, { seed }));
  assert.ok(
    others.some((v) => v !== a),
    'different seeds should draw different splits',
  );
});

test('simple MIA validates its input', () => {
  assert.throws(() => simpleMia([1], [1, 2], { seed: 0 }), DataError);
  assert.throws(() => simpleMia([1, NaN], [1, 2], { seed: 0 }), {
    message: 'Expected finite values for forgetLosses but received NaN at index 1',
  });
  assert.throws(() => simpleMia([1, 2], [1, 2], { seed: 0, testFraction: 1 }), OptionError);
  assert.throws(() => simpleMia([1, 2], [1, 2], { seed: 0, splits: 0 }), {
    message: 'Expected a positive integer for splits but received 0',
  });
});

test('MIA-efficacy: near 1 when D_f looks like test, near 0 when it looks like D_r', () => {
  const retain = uniforms(2000, 0.9, 1, 13);
  const testConf = uniforms(500, 0.2, 0.8, 14);
  const forgotten = uniforms(300, 0.2, 0.8, 15);
  const remembered = uniforms(300, 0.9, 1, 16);
  // C = 1 on a [0, 1] feature keeps the weight small, so the boundary settles near 0.78 rather
  // than in the middle of the gap, and a few test-like confidences just below 0.8 count as members.
  const eff = miaEfficacy(retain, testConf, forgotten, { seed: 0 });
  assert.ok(eff >= 0.95 && eff <= 1, `efficacy ${eff}`);
  assert.equal(miaEfficacy(retain, testConf, remembered, { seed: 0 }), 0);
  // Half of each: half of the test-like half is predicted non-member, none of the rest.
  const mixed = Float64Array.from([...forgotten.subarray(0, 150), ...remembered.subarray(0, 150)]);
  const half = miaEfficacy(retain, testConf, mixed, { seed: 0 });
  assert.ok(half >= 0.475 && half <= 0.5, `efficacy ${half}`);
});

test('MIA-efficacy on overlapping confidences is deterministic and in between', () => {
  const retain = normals(1000, 0.8, 0.1, 17);
  const testConf = normals(800, 0.6, 0.1, 18);
  const forget = normals(200, 0.7, 0.1, 19);
  const a = miaEfficacy(retain, testConf, forget, { seed: 3 });
  assert.equal(a, miaEfficacy(retain, testConf, forget, { seed: 3 }));
  // The boundary sits near 0.7, the forget mean: about half falls on each side.
  close(a, 0.5, 0.15);
});
