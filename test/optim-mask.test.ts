import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispose, ones, tensor, type Tensor } from '../src/tensor/index.js';
import { createOptimizer, SGD, type OptimizerName } from '../src/optim/index.js';
import { bits, problem, stepEach } from './optim-helpers.js';

/** Pairs of (masked bits before, after) for entries where the mask is 0. */
function frozenEntries(before: number[], after: number[], mask: number[]): [number, number][] {
  return mask.flatMap((m, i) => (m === 0 ? [[before[i], after[i]] as [number, number]] : []));
}

const WEIGHT_MASK = [1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1];
const CONV_MASK = [0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1];

const CASES: [OptimizerName, Record<string, unknown>][] = [
  ['sgd', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }],
  ['sgd', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true }],
  ['adam', { lr: 0.01, weightDecay: 5e-4, amsgrad: true }],
  ['adamw', { lr: 0.01, weightDecay: 0.1 }],
];

for (const [name, options] of CASES) {
  test(`${name} ${JSON.stringify(options)}: masked entries stay bit-identical`, () => {
    const a = problem(11);
    const [weight, bias, conv] = a.params;
    const masks = new Map<Tensor, Tensor>([
      [weight, tensor(WEIGHT_MASK, [3, 4])],
      [conv, tensor(CONV_MASK, [2, 1, 3, 3])],
    ]);
    const start = a.params.map(bits);
    const opt = createOptimizer(name, a.params, { ...options, gradMask: masks } as unknown as {
      lr: number;
    });
    for (let i = 0; i < 6; i++) {
      opt.zeroGrad();
      a.backward();
      opt.step();
    }
    const end = a.params.map(bits);
    for (const [before, after] of frozenEntries(start[0], end[0], WEIGHT_MASK))
      assert.equal(after, before);
    for (const [before, after] of frozenEntries(start[2], end[2], CONV_MASK))
      assert.equal(after, before);
    // Trainable entries (and the unmasked bias) did move.
    WEIGHT_MASK.forEach(
      (m, i) => m === 1 && assert.notEqual(end[0][i], start[0][i], `weight[${i}] moved`),
    );
    bias.toArray().forEach((_, i) => assert.notEqual(end[1][i], start[1][i], `bias[${i}] moved`));
    opt.dispose();
    dispose([...masks.values()]);
    a.dispose();
  });
}

test('an all-ones mask changes nothing', () => {
  const a = problem(5);
  const b = problem(5);
  const masks = new Map(b.params.map((p) => [p, ones(p.shape)]));
  const optA = new SGD(a.params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const optB = new SGD(b.params, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, gradMask: masks });
  stepEach(
    [
      [a, optA],
      [b, optB],
    ],
    3,
  );
  a.params.forEach((p, i) => assert.deepEqual(bits(b.params[i]), bits(p)));
  optA.dispose();
  optB.dispose();
  dispose([...masks.values()]);
  a.dispose();
  b.dispose();
});

test('setGradMask replaces and clears masks, and validates them', () => {
  const a = problem();
  const [weight] = a.params;
  const opt = new SGD(a.params, { lr: 0.1, weightDecay: 0.1 });
  const zero = tensor(new Array(12).fill(0), [3, 4]);
  opt.setGradMask(new Map([[weight, zero]]));
  zero.dispose(); // the optimizer keeps its own copy
  const before = bits(weight);
  a.backward();
  opt.step();
  assert.deepEqual(bits(weight), before);
  opt.setGradMask(null);
  opt.step();
  assert.notDeepEqual(bits(weight), before);

  const wrong = tensor([1, 0, 1], [3]);
  assert.throws(() => opt.setGradMask(new Map([[weight, wrong]])), {
    message: 'Expected a gradMask of shape [3,4] for parameter 0 but received [3]',
  });
  const stranger = tensor([1, 2, 3], [3]);
  assert.throws(() => opt.setGradMask(new Map([[stranger, wrong]])), {
    message:
      'Expected gradMask keys to be parameters of this optimizer but received another tensor',
  });
  dispose([wrong, stranger]);
  opt.dispose();
  a.dispose();
});
