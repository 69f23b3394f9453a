/** Dtype round trips through tensor()/data(), conversions, and the runtime knobs (CUDA, threads). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cuda,
  getNumThreads,
  scalar,
  setNumThreads,
  tensor,
  tidy,
  type DType,
  type Tensor,
  type TypedArray,
} from '../src/tensor/index.js';

/** The elements as read back, without converting int64's bigints. */
const vals = (t: Tensor): unknown[] => Array.from(t.data() as ArrayLike<unknown>);

const ROUND_TRIPS: [DType, TypedArray | boolean[], unknown[]][] = [
  [
    'float32',
    new Float32Array([1.5, -0.1, 3.4028234663852886e38, 1e-45]),
    [1.5, Math.fround(-0.1), 3.4028234663852886e38, Math.fround(1e-45)],
  ],
  ['float64', new Float64Array([Math.PI, -1e-300, 1e300, 0.1]), [Math.PI, -1e-300, 1e300, 0.1]],
  [
    'int64',
    new BigInt64Array([2n ** 62n + 1n, -(2n ** 63n), 0n, 7n]),
    [2n ** 62n + 1n, -(2n ** 63n), 0n, 7n],
  ],
  ['int32', new Int32Array([2 ** 31 - 1, -(2 ** 31), -5, 0]), [2 ** 31 - 1, -(2 ** 31), -5, 0]],
  ['uint8', new Uint8Array([0, 1, 128, 255]), [0, 1, 128, 255]],
  ['bool', [true, false, false, true], [1, 0, 0, 1]],
];

for (const [dtype, data, expected] of ROUND_TRIPS) {
  test(`${dtype} round-trips through tensor() and data() exactly`, () => {
    tidy(() => {
      const t = tensor(data, [2, 2]);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [2, 2]);
      assert.deepEqual(vals(t), expected);
      // A view that is not contiguous reads back in logical order.
      const tt = t.t();
      assert.deepEqual(vals(tt), [expected[0], expected[2], expected[1], expected[3]]);
    });
  });
}

test('numbers become the requested dtype', () => {
  tidy(() => {
    assert.equal(tensor([1, 2]).dtype, 'float32');
    assert.deepEqual(vals(tensor([1.9, -2.9], [2], { dtype: 'int64' })), [1n, -2n]);
    assert.deepEqual(vals(tensor([1, 0, 2], [3], { dtype: 'bool' })), [1, 0, 1]);
    assert.deepEqual(tensor([0.1], [1], { dtype: 'float64' }).toArray(), [0.1]);
    assert.deepEqual(tensor([0.1]).toArray(), [Math.fround(0.1)]);
    assert.equal(scalar(2.5).ndim, 0);
    assert.equal(scalar(2.5, { dtype: 'float64' }).item(), 2.5);
    assert.equal(tensor(new BigInt64Array([42n]), []).item(), 42);
    assert.deepEqual(tensor(new Float32Array(0), [0, 3]).shape, [0, 3]);
  });
});

test('.to(dtype) converts like PyTorch: truncation toward zero, nonzero is true', () => {
  tidy(() => {
    const x = tensor(new Float64Array([-2.7, -0.5, 0, 0.5, 3.9, 255]), [6]);
    assert.deepEqual(vals(x.to('int32')), [-2, 0, 0, 0, 3, 255]);
    assert.deepEqual(vals(x.long()), [-2n, 0n, 0n, 0n, 3n, 255n]);
    // (negative floats to uint8 are undefined behaviour in C++, so only in-range values here)
    assert.deepEqual(vals(x.narrow(0, 2, 4).to({ dtype: 'uint8' })), [0, 0, 3, 255]);
    assert.deepEqual(vals(x.bool()), [1, 1, 0, 1, 1, 1]);
    assert.deepEqual(x.float().toArray(), [-2.7, -0.5, 0, 0.5, 3.9, 255].map(Math.fround));
    assert.equal(x.float().double().dtype, 'float64');
    assert.deepEqual(
      tensor(new Int32Array([3, -4]), [2])
        .float()
        .toArray(),
      [3, -4],
    );
    assert.equal(x.int().dtype, 'int32');
    assert.equal(x.to('float64').dtype, 'float64');
    assert.equal(x.to({ device: 'cpu' }).device, 'cpu');
    assert.deepEqual(tensor([true, false]).to('float32').toArray(), [1, 0]);
  });
});

test('cuda reports a boolean and a device count', () => {
  const available = cuda.isAvailable();
  assert.equal(typeof available, 'boolean');
  const count = cuda.deviceCount();
  assert.ok(Number.isInteger(count) && count >= 0);
  assert.equal(count > 0, available);
  cuda.synchronize(); // harmless without CUDA
});

test('setNumThreads/getNumThreads round-trip', () => {
  const before = getNumThreads();
  assert.ok(Number.isInteger(before) && before >= 1);
  try {
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    setNumThreads(3);
    assert.equal(getNumThreads(), 3);
    assert.throws(() => setNumThreads(0), {
      name: 'RangeError',
      message: 'Expected a positive integer thread count but received 0',
    });
    assert.throws(() => setNumThreads(1.5), RangeError);
  } finally {
    setNumThreads(before);
  }
  assert.equal(getNumThreads(), before);
});
