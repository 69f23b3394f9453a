import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispose, memory, noGrad, tensor } from '../src/tensor/index.js';
import {
  createOptimizer,
  CosineAnnealingLR,
  SGD,
  withWarmup,
  type Optimizer,
  type OptimizerName,
  type OptimizerStateDict,
} from '../src/optim/index.js';
import { bits, problem, stepEach } from './optim-helpers.js';

const CONFIGS: [OptimizerName, Record<string, unknown>][] = [
  ['sgd', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true }],
  ['adam', { lr: 0.01, weightDecay: 1e-2, amsgrad: true }],
  ['adamw', { lr: 0.01 }],
];

function make(
  name: OptimizerName,
  params: ReturnType<typeof problem>['params'],
  options: Record<string, unknown>,
): Optimizer {
  return createOptimizer(name, params, options as { lr: number }) as unknown as Optimizer;
}

for (const [name, options] of CONFIGS) {
  test(`${name}: stateDict round trip resumes bit for bit`, () => {
    const a = problem(7);
    const optA = make(name, a.params, options);
    for (let i = 0; i < 2; i++) {
      optA.zeroGrad();
      a.backward();
      optA.step();
    }
    optA.paramGroups[0].lr *= 0.5; // as a scheduler would; the saved group must carry it
    const saved = optA.stateDict();

    const b = problem(7);
    noGrad(() => b.params.forEach((p, i) => p.copy_(a.params[i])));
    const optB = make(name, b.params, { ...options, lr: 123 });
    optB.loadStateDict(saved);
    assert.equal(optB.paramGroups[0].lr, optA.paramGroups[0].lr);
    assert.deepEqual(
      Object.keys(optB.getState(b.params[0])!).sort(),
      Object.keys(saved.state[0]).sort(),
    );

    stepEach(
      [
        [a, optA],
        [b, optB],
      ],
      2,
    );
    a.params.forEach((p, i) => assert.deepEqual(bits(b.params[i]), bits(p), `param ${i}`));
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
  });

  test(`${name}: toTensors/fromTensors survive JSON and copied tensors`, () => {
    const a = problem(3);
    const optA = make(name, a.params, options);
    optA.zeroGrad();
    a.backward();
    optA.step();
    const { tensors, meta } = optA.toTensors();
    // What a safetensors save/load would give back: fresh tensors and re-parsed JSON.
    const copies = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.clone()]));
    const metaBack = JSON.parse(JSON.stringify(meta));

    const b = problem(3);
    noGrad(() => b.params.forEach((p, i) => p.copy_(a.params[i])));
    const optB = make(name, b.params, options);
    optB.fromTensors(copies, metaBack);
    dispose(copies); // the optimizer made its own copies

    stepEach([
      [a, optA],
      [b, optB],
    ]);
    a.params.forEach((p, i) => assert.deepEqual(bits(b.params[i]), bits(p), `param ${i}`));
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
  });
}

test('stateDict has PyTorch structure: state by index, groups with indices', () => {
  const a = problem();
  const [w, b, c] = a.params;
  const opt = new SGD([{ params: [w, b] }, { params: [c], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
  a.backward();
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ['0', '1', '2']);
  assert.deepEqual(Object.keys(sd.state[2]), ['momentum_buffer']);
  assert.deepEqual(sd.paramGroups, [
    {
      lr: 0.1,
      momentum: 0.9,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      params: [0, 1],
    },
    {
      lr: 0.01,
      momentum: 0.9,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      params: [2],
    },
  ]);
  const { tensors, meta } = opt.toTensors();
  assert.deepEqual(Object.keys(tensors), [
    'state.0.momentum_buffer',
    'state.1.momentum_buffer',
    'state.2.momentum_buffer',
  ]);
  assert.equal(meta.format, 'lethe.optim/1');
  opt.dispose();
  a.dispose();
});

test('Adam keeps step as a number and restores it', () => {
  const a = problem();
  const opt = createOptimizer('adam', a.params, {});
  for (let i = 0; i < 3; i++) {
    a.backward();
    opt.step();
  }
  const { meta } = opt.toTensors();
  assert.deepEqual(meta.state, { 0: { step: 3 }, 1: { step: 3 }, 2: { step: 3 } });
  opt.dispose();
  a.dispose();
});

test('loadStateDict rejects a different group layout with PyTorch-like messages', () => {
  const a = problem();
  const opt = new SGD(a.params, { lr: 0.1 });
  const sd = opt.stateDict();
  const two: OptimizerStateDict = {
    state: {},
    paramGroups: [sd.paramGroups[0], sd.paramGroups[0]],
  };
  assert.throws(() => opt.loadStateDict(two as never), {
    message: 'Expected a state dict with 1 parameter groups but received 2',
  });
  const short = { state: {}, paramGroups: [{ ...sd.paramGroups[0], params: [0, 1] }] };
  assert.throws(() => opt.loadStateDict(short), {
    message: 'Expected 3 parameters in saved group 0 but received 2',
  });
  const bogus = tensor([1]);
  assert.throws(() => opt.fromTensors({ bogus }, opt.toTensors().meta), {
    message: "Expected optimizer tensor names like 'state.<index>.<key>' but received 'bogus'",
  });
  bogus.dispose();
  opt.dispose();
  a.dispose();
});

test('scheduler state round trip continues the same learning rates', () => {
  const a = problem();
  const opt1 = new SGD(a.params, { lr: 0.1 });
  const s1 = withWarmup(
    opt1,
    { steps: 3, startFactor: 0.1 },
    (o) => new CosineAnnealingLR(o, { tMax: 10 }),
  );
  for (let i = 0; i < 5; i++) s1.step();
  const saved = JSON.parse(JSON.stringify({ opt: opt1.stateDict(), sched: s1.stateDict() }));
  const opt2 = new SGD(a.params, { lr: 0.1 });
  const s2 = withWarmup(
    opt2,
    { steps: 3, startFactor: 0.1 },
    (o) => new CosineAnnealingLR(o, { tMax: 10 }),
  );
  opt2.loadStateDict(saved.opt);
  s2.loadStateDict(saved.sched);
  for (let i = 0; i < 6; i++) {
    s1.step();
    s2.step();
    assert.deepEqual(s2.getLastLr(), s1.getLastLr());
  }
  opt1.dispose();
  opt2.dispose();
  a.dispose();
});

test('no tensors leak across 200 steps once state exists', () => {
  for (const [name, options] of [...CONFIGS, ['sgd', { lr: 0.01, momentum: 0.9 }] as const]) {
    const a = problem();
    const mask = new Map([[a.params[0], tensor([1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0], [3, 4])]]);
    const opt = createOptimizer(name, a.params, { ...options, gradMask: mask } as unknown as {
      lr: number;
    });
    const sched = new CosineAnnealingLR(opt, { tMax: 200 });
    a.backward();
    opt.step();
    const before = memory().tensors;
    for (let i = 0; i < 200; i++) {
      opt.zeroGrad(i % 2 === 0);
      a.backward();
      opt.step();
      sched.step();
      opt.stateDict();
    }
    assert.equal(memory().tensors, before, `${name}: live tensors`);
    opt.dispose();
    dispose([...mask.values()]);
    a.dispose();
  }
});

test('dispose frees the state tensors', () => {
  const a = problem();
  const opt = createOptimizer('adam', a.params, { amsgrad: true });
  a.backward();
  opt.step();
  const withState = memory().tensors;
  opt.dispose();
  // three parameters x (exp_avg, exp_avg_sq, max_exp_avg_sq); the gradients stay on the parameters
  assert.equal(withState - memory().tensors, 9);
  assert.throws(() => opt.step(), { message: 'This optimizer has been disposed' });
  a.dispose();
});
