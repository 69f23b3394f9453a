/**
 * The optimizers and schedulers against PyTorch 1.13.1 (fixtures/optim, written by
 * scripts/fixtures/optim.py): same model, same inputs, weights after each of three steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { F, tensor, tidy, zeros, type Tensor } from '../src/tensor/index.js';
import {
  CosineAnnealingLR,
  createOptimizer,
  LinearLR,
  LinearWarmup,
  MultiStepLR,
  SequentialLR,
  StepLR,
  withWarmup,
  SGD,
  type OptimizerName,
  type Scheduler,
  type SchedulableOptimizer,
} from '../src/optim/index.js';

interface Arr {
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/optim/optimizers.json', import.meta.url), 'utf8'),
) as {
  init: Record<'weight' | 'bias' | 'conv', Arr>;
  x: Arr;
  y: number[];
  img: Arr;
  convTarget: Arr;
  cases: {
    name: string;
    optimizer: OptimizerName;
    options: Record<string, unknown>;
    steps: Record<string, number[]>[];
  }[];
};
const schedFixture = JSON.parse(
  readFileSync(new URL('../fixtures/optim/schedulers.json', import.meta.url), 'utf8'),
) as {
  cases: {
    name: string;
    scheduler: string;
    options: Record<string, unknown>;
    lrs: number[];
    sequence: number[][];
  }[];
};

const NAMES = ['weight', 'bias', 'conv'] as const;
const fromArr = (a: Arr): Tensor => tensor(a.data, a.shape);

/** PyTorch's snake_case option names → Lethe's camelCase. */
function camel(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([k, v]) => [
      k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()),
      v,
    ]),
  );
}

function assertClose(
  actual: ArrayLike<number>,
  expected: number[],
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    assert.ok(
      diff <= tol,
      `${what}[${i}]: expected ${expected[i]}, got ${actual[i]} (|diff| ${diff})`,
    );
  }
}

for (const c of fixture.cases) {
  test(`${c.name} matches PyTorch 1.13 over three steps`, () => {
    const x = fromArr(fixture.x);
    const y = tensor(fixture.y, [fixture.y.length], { dtype: 'int64' });
    const img = fromArr(fixture.img);
    const convTarget = fromArr(fixture.convTarget);
    const params = Object.fromEntries(
      NAMES.map((n) => [n, fromArr(fixture.init[n]).requiresGrad_(true)]),
    ) as Record<(typeof NAMES)[number], Tensor>;
    const opt = createOptimizer(
      c.optimizer,
      NAMES.map((n) => params[n]),
      camel(c.options) as { lr: number },
    );
    c.steps.forEach((expected, step) => {
      opt.zeroGrad();
      tidy(() => {
        const logits = F.linear(x, params.weight, params.bias);
        const loss = F.crossEntropy(logits, y).add(
          F.mseLoss(F.conv2d(img, params.conv), convTarget),
        );
        loss.backward();
      });
      opt.step();
      for (const n of NAMES)
        assertClose(
          params[n].data() as Float32Array,
          expected[n],
          1e-6,
          `${c.name} step ${step + 1} ${n}`,
        );
    });
    opt.dispose();
    for (const t of [x, y, img, convTarget, ...Object.values(params)]) t.dispose();
  });
}

function makeScheduler(
  name: string,
  kind: string,
  opt: SchedulableOptimizer,
  o: Record<string, unknown>,
): Scheduler {
  switch (kind) {
    case 'StepLR':
      return new StepLR(opt, o as { stepSize: number });
    case 'MultiStepLR':
      return new MultiStepLR(opt, o as { milestones: number[] });
    case 'CosineAnnealingLR':
      return new CosineAnnealingLR(opt, o as { tMax: number });
    case 'LinearWarmup':
      return new LinearWarmup(opt, o as { steps: number });
    case 'LinearLR':
      return new LinearLR(opt, o);
    case 'SequentialLR(LinearWarmup,CosineAnnealingLR)': {
      const w = o.warmup as { steps: number; startFactor: number };
      const cos = o.cosine as { tMax: number; etaMin: number };
      return new SequentialLR(opt, {
        schedulers: [new LinearWarmup(opt, w), new CosineAnnealingLR(opt, cos)],
        milestones: o.milestones as number[],
      });
    }
    default:
      throw new Error(`unknown scheduler ${kind} in ${name}`);
  }
}

function sgdWithGroups(lrs: number[]): { opt: SGD; params: Tensor[] } {
  const params = lrs.map(() => zeros([1], { requiresGrad: true }));
  return {
    opt: new SGD(
      params.map((p, i) => ({ params: [p], lr: lrs[i] })),
      { lr: lrs[0] },
    ),
    params,
  };
}

for (const c of schedFixture.cases) {
  test(`${c.name} (${c.scheduler}) gives PyTorch's learning rates for 20 steps`, () => {
    const { opt, params } = sgdWithGroups(c.lrs);
    const sched = makeScheduler(c.name, c.scheduler, opt, c.options);
    const seq = [sched.getLastLr()];
    for (let i = 0; i < 20; i++) {
      opt.step();
      sched.step();
      seq.push(sched.getLastLr());
      assert.deepEqual(
        opt.paramGroups.map((g) => g.lr),
        sched.getLastLr(),
      );
    }
    seq.forEach((lrs, i) => assertClose(lrs, c.sequence[i], 1e-12, `${c.name} step ${i}`));
    opt.dispose();
    params.forEach((p) => p.dispose());
  });
}

test('withWarmup equals LinearWarmup then CosineAnnealingLR in SequentialLR', () => {
  const c = schedFixture.cases.find((k) => k.name === 'warmup_cosine')!;
  const { opt, params } = sgdWithGroups(c.lrs);
  const o = c.options as {
    warmup: { steps: number; startFactor: number };
    cosine: { tMax: number; etaMin: number };
  };
  const sched = withWarmup(opt, o.warmup, (op) => new CosineAnnealingLR(op, o.cosine));
  const seq = [sched.getLastLr()];
  for (let i = 0; i < 20; i++) {
    sched.step();
    seq.push(sched.getLastLr());
  }
  seq.forEach((lrs, i) => assertClose(lrs, c.sequence[i], 1e-12, `step ${i}`));
  params.forEach((p) => p.dispose());
});

test('CosineAnnealingLR follows the closed form within tMax', () => {
  const { opt, params } = sgdWithGroups([0.1]);
  const tMax = 50;
  const etaMin = 1e-4;
  const sched = new CosineAnnealingLR(opt, { tMax, etaMin });
  for (let t = 0; t <= tMax; t++) {
    if (t > 0) sched.step();
    const closed = etaMin + ((0.1 - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
    assertClose(sched.getLastLr(), [closed], 1e-15, `t=${t}`);
  }
  params.forEach((p) => p.dispose());
});
