/**
 * Deterministic memory: a long training loop leaves the live-tensor count and resident memory
 * flat, and dispose/tidy/keep behave as documented.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dispose,
  F,
  getNumThreads,
  keep,
  manualSeed,
  memory,
  noGrad,
  ones,
  randint,
  randn,
  setNumThreads,
  TensorArgumentError,
  tidy,
  zeros,
  type Tensor,
} from '../src/tensor/index.js';

test('2,000 SGD steps of a conv + linear model keep tensors and resident memory flat', () => {
  const before = memory();
  manualSeed(0);
  const param = (shape: number[], scale: number): Tensor =>
    tidy(() => keep(randn(shape).mul(scale)).requiresGrad_(true));
  const convW = param([4, 1, 3, 3], 0.3);
  const convB = param([4], 0.1);
  const linW = param([10, 64], 0.1);
  const linB = param([10], 0.1);
  const params = [convW, convB, linW, linB];
  const x = randn([16, 1, 8, 8]);
  const y = randint(0, 10, [16]);
  const made = before.tensors + params.length + 2;
  assert.equal(memory().tensors, made);

  // One intra-op thread: these ops are tiny, and OpenMP's spinning workers made the loop 20x
  // slower whenever other processes shared the two cores.
  const threads = getNumThreads();
  setNumThreads(1);
  const losses: number[] = [];
  let at500 = { rss: 0, tensors: 0, bytes: 0 };
  for (let step = 1; step <= 2000; step++) {
    const loss = tidy(() => {
      const h = F.maxPool2d(F.conv2d(x, convW, convB, { padding: 1 }).relu(), 2).flatten(1);
      const l = F.crossEntropy(F.linear(h, linW, linB), y);
      l.backward();
      noGrad(() => {
        for (const p of params) {
          const g = p.grad!;
          p.sub_(g, 0.1);
          g.zero_();
        }
      });
      return l.item();
    });
    losses.push(loss);
    if (step === 500) at500 = { rss: process.memoryUsage().rss, ...memory() };
  }
  const at2000 = { rss: process.memoryUsage().rss, ...memory() };
  setNumThreads(threads);

  // Live handles: parameters and data only (gradients live inside libtorch, not as handles).
  assert.equal(at500.tensors, made);
  assert.equal(at2000.tensors, made);
  assert.equal(at2000.bytes, at500.bytes);
  const growth = (at2000.rss - at500.rss) / 2 ** 20;
  assert.ok(growth < 50, `resident memory grew ${growth.toFixed(1)} MB between step 500 and 2000`);
  // It did train: the loss on the (memorisable) batch fell.
  assert.ok(losses[1999] < losses[0] / 2, `loss ${losses[0]} -> ${losses[1999]}`);

  dispose([params, x, y]);
  assert.equal(memory().tensors, before.tensors);
  assert.equal(memory().bytes, before.bytes);
});

test('dispose twice is harmless and counts once', () => {
  const before = memory().tensors;
  const t = ones([3]);
  assert.equal(memory().tensors, before + 1);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.equal(memory().tensors, before);
  dispose([t, { t }]);
  assert.equal(memory().tensors, before);
});

test('using a disposed tensor throws TensorArgumentError naming the op', () => {
  const t = ones([2, 2]);
  const other = ones([2, 2]);
  t.dispose();
  assert.throws(() => t.add(1), {
    name: 'TensorArgumentError',
    message: 'aten::add.Scalar: the tensor has been disposed',
  });
  assert.throws(() => other.matmul(t), {
    name: 'TensorArgumentError',
    message: 'aten::matmul: the tensor has been disposed',
  });
  assert.throws(() => F.conv2d(ones([1, 1, 3, 3]), t), TensorArgumentError);
  assert.throws(() => t.data(), { message: 'toBuffer: the tensor has been disposed' });
  assert.equal(String(t), 'Tensor(disposed)');
  other.dispose();
});

test('tidy frees intermediates and keeps returned and keep()-ed tensors', () => {
  const before = memory().tensors;
  let inner: Tensor | undefined;
  let kept: Tensor | undefined;
  const { sum, parts } = tidy(() => {
    const a = ones([4]);
    inner = a.mul(2);
    kept = keep(a.add(1));
    return { sum: inner.sum(), parts: [a.sub(1)] };
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(kept!.isDisposed, false);
  assert.equal(sum.item(), 8);
  assert.deepEqual(parts[0].toArray(), [0, 0, 0, 0]);
  assert.equal(memory().tensors, before + 3);
  dispose([sum, parts, kept]);
  assert.equal(memory().tensors, before);
});

test('nested tidy moves returned tensors to the parent scope', () => {
  const before = memory().tensors;
  let moved: Tensor | undefined;
  const outer = tidy(() => {
    moved = tidy(() => zeros([2]).add(1));
    assert.equal(moved.isDisposed, false);
    const survivor = tidy(() => zeros([2]).add(2));
    return survivor;
  });
  // Returned from the inner scope but not from the outer one: the outer scope freed it.
  assert.equal(moved!.isDisposed, true);
  assert.deepEqual(outer.toArray(), [2, 2]);
  outer.dispose();
  assert.equal(memory().tensors, before);
});

test('a throwing fn inside tidy still frees what it made, and the error propagates', () => {
  const before = memory().tensors;
  let made: Tensor | undefined;
  assert.throws(
    () =>
      tidy(() => {
        made = ones([3]).mul(3);
        tidy(() => ones([5]));
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(made!.isDisposed, true);
  assert.equal(memory().tensors, before);
  // libtorch failures inside a scope too.
  assert.throws(() => tidy(() => ones([2, 3]).matmul(ones([2, 3]))), { name: 'TorchError' });
  assert.equal(memory().tensors, before);
});

test('tidy rejects async functions rather than freeing too early', () => {
  assert.throws(() => tidy(() => Promise.resolve(1)), TypeError);
});
