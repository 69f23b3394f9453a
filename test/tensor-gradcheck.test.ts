/**
 * Finite-difference gradient checks in float64: libtorch's backward for the ops Lethe's
 * training and unlearning rely on, reached through Lethe's argument plumbing, agrees with
 * central differences of the forward pass (independent of the PyTorch fixtures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F,
  manualSeed,
  noGrad,
  rand,
  randn,
  tensor,
  tidy,
  type Tensor,
} from '../src/tensor/index.js';

const EPS = 1e-6;

/**
 * Checks d(sum(f(inputs) * w))/d(input) for every input against central differences,
 * perturbing one element at a time. `w` is a fixed random weighting of the output.
 */
function gradcheck(name: string, inputs: Tensor[], f: (xs: Tensor[]) => Tensor): void {
  tidy(() => {
    const leaves = inputs.map((x) => x.detach().requiresGrad_(true));
    const out = f(leaves);
    const w = randn(out.shape, { dtype: 'float64' });
    out.mul(w).sum().backward();
    const loss = (xs: Tensor[]): number => tidy(() => noGrad(() => f(xs).mul(w).sum().item()));
    leaves.forEach((leaf, which) => {
      const analytic = leaf.grad!.toArray();
      const base = leaf.data() as Float64Array;
      for (let k = 0; k < base.length; k++) {
        const at = (delta: number): number => {
          const moved = Float64Array.from(base);
          moved[k] += delta;
          const xs = inputs.map((x, j) => (j === which ? tensor(moved, x.shape) : x));
          return loss(xs);
        };
        const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
        const tol = 1e-6 + 1e-5 * Math.abs(numeric);
        assert.ok(
          Math.abs(analytic[k] - numeric) <= tol,
          `${name}: d/d input${which}[${k}] analytic ${analytic[k]} vs numeric ${numeric}`,
        );
      }
    });
  });
}

const r = (...shape: number[]): Tensor => randn(shape, { dtype: 'float64' });

test('conv2d: input, weight and bias gradients (stride, padding, dilation, groups)', () => {
  manualSeed(1);
  gradcheck('conv2d', [r(2, 4, 5, 5), r(6, 2, 3, 3), r(6)], ([x, w, b]) =>
    F.conv2d(x, w, b, { stride: [2, 1], padding: 1, groups: 2 }),
  );
  gradcheck('conv2d dilated', [r(1, 2, 6, 6), r(3, 2, 2, 2)], ([x, w]) =>
    F.conv2d(x, w, null, { dilation: 2, padding: 1 }),
  );
});

test('batchNorm in training mode: gradients through the batch statistics', () => {
  manualSeed(2);
  gradcheck('batchNorm', [r(4, 3, 2, 2), r(3), r(3)], ([x, weight, bias]) =>
    F.batchNorm(x, null, null, { weight, bias, training: true }),
  );
});

test('crossEntropy with label smoothing and class weights', () => {
  manualSeed(3);
  const target = tensor(new BigInt64Array([0n, 2n, 1n, 2n, 3n]), [5]);
  const weight = rand([4], { dtype: 'float64' }).add(0.5);
  gradcheck('crossEntropy', [r(5, 4)], ([x]) =>
    F.crossEntropy(x, target, { labelSmoothing: 0.15 }),
  );
  gradcheck('crossEntropy weighted', [r(5, 4)], ([x]) =>
    F.crossEntropy(x, target, { labelSmoothing: 0.1, weight, reduction: 'sum' }),
  );
  target.dispose();
  weight.dispose();
});

test('klDiv batchmean: gradients for input and target', () => {
  manualSeed(4);
  gradcheck('klDiv', [r(3, 5), r(3, 5)], ([a, b]) =>
    tidy(() => F.klDiv(a.logSoftmax(1), b.softmax(1), { reduction: 'batchmean' })),
  );
  gradcheck('klDiv logTarget', [r(3, 5), r(3, 5)], ([a, b]) =>
    tidy(() =>
      F.klDiv(a.logSoftmax(1), b.logSoftmax(1), { reduction: 'batchmean', logTarget: true }),
    ),
  );
});

test('cosineSimilarity, normalize and logsumexp', () => {
  manualSeed(5);
  gradcheck('cosineSimilarity', [r(4, 6), r(4, 6)], ([a, b]) => F.cosineSimilarity(a, b, 1));
  gradcheck('normalize', [r(3, 5)], ([x]) => F.normalize(x, 2, 1));
  gradcheck('logsumexp', [r(3, 4, 2)], ([x]) => x.logsumexp([0, 2], true));
});

test('maxPool2d and linear', () => {
  manualSeed(6);
  gradcheck('maxPool2d', [r(2, 2, 5, 5)], ([x]) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
  gradcheck('linear', [r(2, 3, 4), r(5, 4), r(5)], ([x, w, b]) => F.linear(x, w, b));
});

test('a gradcheck notices a wrong gradient', () => {
  // A custom function whose "gradient" is off: d/dx of detach(x)*x is x, not 2x.
  manualSeed(7);
  assert.throws(
    () => gradcheck('wrong', [r(3)], ([x]) => tidy(() => x.detach().mul(x))),
    /analytic .* vs numeric/,
  );
});
