import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros } from '../src/tensor/index.js';
import {
  Adam,
  ADAM_DEFAULTS,
  AdamW,
  ADAMW_DEFAULTS,
  CosineAnnealingLR,
  createOptimizer,
  LinearWarmup,
  MultiStepLR,
  SequentialLR,
  SGD,
  SGD_DEFAULTS,
  StepLR,
} from '../src/optim/index.js';
import { bits, problem } from './optim-helpers.js';

test('defaults are PyTorch 1.13’s', () => {
  assert.deepEqual(SGD_DEFAULTS, {
    momentum: 0,
    dampening: 0,
    weightDecay: 0,
    nesterov: false,
    maximize: false,
  });
  assert.deepEqual(ADAM_DEFAULTS, {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    amsgrad: false,
    maximize: false,
  });
  assert.deepEqual(ADAMW_DEFAULTS, { ...ADAM_DEFAULTS, weightDecay: 1e-2 });
  assert.ok(
    Object.isFrozen(SGD_DEFAULTS) &&
      Object.isFrozen(ADAM_DEFAULTS) &&
      Object.isFrozen(ADAMW_DEFAULTS),
  );
});

test('options are validated with exact messages', () => {
  const p = zeros([2], { requiresGrad: true });
  const cases: [() => unknown, string][] = [
    [() => new SGD([p], { lr: -1 }), 'Expected a non-negative number for lr but received -1'],
    [
      () => new SGD([p], {} as { lr: number }),
      'Expected a non-negative number for lr but received undefined',
    ],
    [
      () => new SGD([p], { lr: 0.1, momentum: -0.5 }),
      'Expected a non-negative number for momentum but received -0.5',
    ],
    [
      () => new SGD([p], { lr: 0.1, weightDecay: NaN }),
      'Expected a non-negative number for weightDecay but received NaN',
    ],
    [
      () => new SGD([p], { lr: 0.1, nesterov: true }),
      'Expected momentum > 0 and dampening 0 for nesterov but received momentum 0 and dampening 0',
    ],
    [
      () => new SGD([p], { lr: 0.1, maximize: 1 as unknown as boolean }),
      'Expected a boolean for maximize but received 1',
    ],
    [
      () => new Adam([p], { betas: [0.9, 1] }),
      'Expected a number in [0, 1) for betas[1] but received 1',
    ],
    [
      () => new Adam([p], { eps: -1e-8 }),
      'Expected a non-negative number for eps but received -1e-8',
    ],
    [
      () => new AdamW([p], { lr: '0.1' as unknown as number }),
      "Expected a non-negative number for lr but received '0.1'",
    ],
    [() => new SGD([], { lr: 0.1 }), 'Expected a non-empty parameter list but received []'],
    [
      () => new SGD([p, p], { lr: 0.1 }),
      'Expected each parameter in one group only but received one twice',
    ],
    [
      () => new SGD([{ params: [p], lr: -2 }], { lr: 0.1 }),
      'Expected a non-negative number for lr but received -2',
    ],
    [
      () => createOptimizer('rmsprop' as 'sgd', [p], { lr: 0.1 }),
      "Expected an optimizer name (sgd, adam, adamw) but received 'rmsprop'",
    ],
  ];
  for (const [fn, message] of cases)
    assert.throws(fn, { name: 'OptionError', code: 'E_OPTION', message });
  const nonLeaf = p.mul(2);
  assert.throws(() => new SGD([nonLeaf], { lr: 0.1 }), {
    message: "Expected leaf tensors in params but received a non-leaf tensor (can't optimize it)",
  });
  nonLeaf.dispose();
  p.dispose();
});

test('scheduler options are validated with exact messages', () => {
  const p = zeros([1], { requiresGrad: true });
  const opt = new SGD([p], { lr: 0.1 });
  const other = new SGD([p], { lr: 0.1 });
  const cases: [() => unknown, string][] = [
    [
      () => new StepLR(opt, { stepSize: 0 }),
      'Expected a positive integer for stepSize but received 0',
    ],
    [
      () => new StepLR(opt, { stepSize: 2, gamma: -1 }),
      'Expected a non-negative number for gamma but received -1',
    ],
    [
      () => new MultiStepLR(opt, { milestones: [5, 3] }),
      'Expected non-decreasing non-negative integers for milestones but received [5, 3]',
    ],
    [
      () => new CosineAnnealingLR(opt, { tMax: 1.5 }),
      'Expected a positive integer for tMax but received 1.5',
    ],
    [
      () => new LinearWarmup(opt, { steps: 3, startFactor: 0 }),
      'Expected a number in (0, 1] for startFactor but received 0',
    ],
    [
      () =>
        new SequentialLR(opt, { schedulers: [new StepLR(opt, { stepSize: 1 })], milestones: [2] }),
      'Expected 0 milestones for 1 schedulers but received 1',
    ],
    [
      () =>
        new SequentialLR(opt, { schedulers: [new StepLR(other, { stepSize: 1 })], milestones: [] }),
      'Expected every scheduler to belong to the given optimizer but scheduler 0 does not',
    ],
  ];
  for (const [fn, message] of cases) assert.throws(fn, { message });
  opt.dispose();
  other.dispose();
  p.dispose();
});

test('groups override the options; schedulers scale each group from its own lr', () => {
  const a = problem();
  const [w, b, c] = a.params;
  const opt = new SGD([{ params: [w, b] }, { params: [c], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
  assert.equal(opt.paramGroups[0].lr, 0.1);
  assert.equal(opt.paramGroups[0].momentum, 0);
  assert.equal(opt.paramGroups[1].lr, 0.5);
  assert.equal(opt.paramGroups[1].momentum, 0.9);
  const sched = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
  sched.step();
  assert.deepEqual(sched.getLastLr(), [0.05, 0.25]);
  assert.deepEqual(
    opt.paramGroups.map((g) => g.initialLr),
    [0.1, 0.5],
  );
  const extra = zeros([2], { requiresGrad: true });
  opt.addParamGroup({ params: [extra], weightDecay: 1e-4 });
  assert.equal(opt.paramGroups[2].lr, 0.1);
  assert.equal(opt.paramGroups[2].weightDecay, 1e-4);
  opt.dispose();
  extra.dispose();
  a.dispose();
});

test('zeroGrad zeroes in place by default (PyTorch 1.13) and sets to null on request', () => {
  const a = problem();
  const [w] = a.params;
  const opt = new SGD(a.params, { lr: 0.1 });
  a.backward();
  opt.zeroGrad();
  const g = w.grad;
  assert.ok(g !== null);
  assert.ok(g.toArray().every((v) => v === 0));
  g.dispose();
  opt.zeroGrad(true);
  assert.equal(w.grad, null);
  opt.dispose();
  a.dispose();
});

test('step skips parameters without a gradient and creates no state for them', () => {
  const used = tensor([1, 2], [2], { requiresGrad: true });
  const unused = tensor([3, 4], [2], { requiresGrad: true });
  const opt = new SGD([used, unused], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
  const before = bits(unused);
  const loss = used.square().sum();
  loss.backward();
  loss.dispose();
  opt.step();
  assert.deepEqual(bits(unused), before);
  assert.equal(opt.getState(unused), undefined);
  assert.ok(opt.getState(used)?.momentum_buffer !== undefined);
  // d = 2·[1, 2] + 0.1·[1, 2] = [2.1, 4.2]; p − 0.1·d
  assert.deepEqual(
    used.toArray().map((v) => Math.round(v * 1e6) / 1e6),
    [0.79, 1.58],
  );
  assert.equal(opt.stepCount, 1);
  opt.dispose();
  used.dispose();
  unused.dispose();
});
