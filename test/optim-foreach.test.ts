/**
 * SGD steps all unmasked parameters of a group with multi-tensor operations (`_foreach_*`, one
 * call per operation instead of one per parameter); libtorch runs those as the per-tensor
 * kernels on the CPU, so the numbers must be the per-parameter rule's, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  foreachAdd,
  foreachAdd_,
  foreachMul_,
  foreachNeg,
  tensor,
  tidy,
  type Tensor,
} from '../src/tensor/index.js';
import { SGD, type SGDOptions } from '../src/optim/index.js';
import { bits, problem, stepEach } from './optim-helpers.js';

const CASES: SGDOptions[] = [
  { lr: 0.1 },
  { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
  { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true },
  { lr: 0.05, momentum: 0.8, dampening: 0.1, maximize: true },
];

/** An SGD that takes the per-parameter path (`update`) for every parameter. */
function perParameter(opt: SGD): SGD {
  Object.defineProperty(opt, 'updateMany', { value: undefined });
  return opt;
}

for (const options of CASES) {
  test(`SGD ${JSON.stringify(options)}: the multi-tensor step equals the per-parameter step bit for bit`, () => {
    const a = problem(21);
    const b = problem(21);
    const optA = new SGD(a.params, options);
    const optB = perParameter(new SGD(b.params, options));
    for (let i = 0; i < 4; i++) {
      for (const [p, opt] of [
        [a, optA],
        [b, optB],
      ] as const) {
        opt.zeroGrad(true);
        p.backward();
        // Step 2 leaves the bias without a gradient: it is skipped, its momentum kept.
        if (i === 2) p.params[1].grad = null;
        opt.step();
      }
      a.params.forEach((p, k) =>
        assert.deepEqual(bits(p), bits(b.params[k]), `step ${i} param ${k}`),
      );
    }
    const sa = optA.stateDict().state;
    const sb = optB.stateDict().state;
    assert.deepEqual(Object.keys(sa), Object.keys(sb));
    for (const k of Object.keys(sb)) {
      const bufA = sa[Number(k)].momentum_buffer;
      const bufB = sb[Number(k)].momentum_buffer;
      if (bufB === undefined) assert.equal(bufA, undefined);
      else assert.deepEqual(bits(bufA as Tensor), bits(bufB as Tensor), `momentum ${k}`);
    }
    for (const o of [optA, optB]) o.dispose();
    a.dispose();
    b.dispose();
  });
}

test('SGD with a gradient mask steps the masked parameter alone and the rest together, as the per-parameter path does', () => {
  const options = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
  const a = problem(22);
  const b = problem(22);
  const maskA = tensor([1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1], [3, 4]);
  const maskB = maskA.clone();
  const optA = new SGD(a.params, { ...options, gradMask: new Map([[a.params[0], maskA]]) });
  const optB = perParameter(
    new SGD(b.params, { ...options, gradMask: new Map([[b.params[0], maskB]]) }),
  );
  stepEach(
    [
      [a, optA],
      [b, optB],
    ],
    3,
  );
  a.params.forEach((p, k) => assert.deepEqual(bits(p), bits(b.params[k]), `param ${k}`));
  for (const o of [optA, optB]) o.dispose();
  maskA.dispose();
  maskB.dispose();
  a.dispose();
  b.dispose();
});

test('foreach operations equal their per-tensor counterparts and accept empty lists', () => {
  tidy(() => {
    const a = [tensor([1, 2, 3], [3]), tensor([0.5, -1], [2])];
    const b = [tensor([4, 5, 6], [3]), tensor([2, 2], [2])];
    assert.deepEqual(
      foreachAdd(a, b, 0.5).map((t) => t.toArray()),
      [
        [3, 4.5, 6],
        [1.5, 0],
      ],
    );
    assert.deepEqual(
      foreachNeg(a).map((t) => t.toArray()),
      [
        [-1, -2, -3],
        [-0.5, 1],
      ],
    );
    const c = a.map((t) => t.clone());
    foreachMul_(c, 2);
    foreachAdd_(c, b, -1);
    assert.deepEqual(
      c.map((t) => t.toArray()),
      [
        [-2, -1, 0],
        [-1, -4],
      ],
    );
    assert.deepEqual(foreachAdd([], []), []);
    foreachAdd_([], []);
    foreachMul_([], 3);
  });
});
