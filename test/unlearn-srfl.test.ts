import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeSplit } from '../src/data/index.js';
import {
  autocast,
  cat,
  dispose,
  manualSeed,
  memory,
  randn,
  tensor,
  tidy,
  type Tensor,
} from '../src/tensor/index.js';
import { train, unlearn } from '../src/unlearn/api.js';
import {
  drawShifts,
  rollRows,
  SRFL_DEFAULTS,
  srflLoss,
  studentLogits,
} from '../src/unlearn/methods/srfl.js';
import { SRFL_TUNED_DEFAULTS } from '../src/unlearn/methods/srfl-tuned.js';
import { getMethod } from '../src/unlearn/registry.js';
import { resnet20 } from '../src/models/index.js';
import { srflPublishedLoss } from '../src/unlearn/methods/srfl-published.js';
import { Rng } from '../src/util/rng.js';
import { syntheticPair } from './unlearn-helpers.js';

interface Fixture {
  shape: [number, number];
  teacherForget: number[];
  studentForget: number[];
  teacherRetain: number[];
  studentRetain: number[];
  retainLabels: number[];
  classWeights: number[];
  cases: {
    variant: string;
    shift: number;
    temperature?: number;
    weights?: number[];
    classWeights?: boolean;
    loss: number;
  }[];
  perSample: { shifts: number[]; rolled: number[]; loss: number };
}

const fx = JSON.parse(
  readFileSync(new URL('../fixtures/srfl/loss.json', import.meta.url), 'utf8'),
) as Fixture;
const t = (values: number[]): Tensor => tensor(values, fx.shape, { dtype: 'float64' });

test('sRFL loss (the seed) equals PyTorch for fixed logits, every shift, temperature and weighting', () => {
  for (const c of fx.cases.filter((k) => k.variant === 'srfl')) {
    const value = tidy(() => {
      const rolled = rollRows(t(fx.teacherForget), [c.shift]);
      const [forgetWeight, cosineWeight, retainWeight] = c.weights!;
      return srflLoss(
        { forget: t(fx.studentForget), retain: t(fx.studentRetain) },
        { rolledForget: rolled, retain: t(fx.teacherRetain) },
        { forgetWeight, cosineWeight, retainWeight, temperature: c.temperature! },
      ).item();
    });
    assert.ok(
      Math.abs(value - c.loss) < 1e-10,
      `shift ${c.shift} T ${c.temperature}: ${value} vs ${c.loss}`,
    );
  }
});

test("srfl's defaults are the seed's loss as written: every weight 1, T 1, shifts ±1 per batch, layer1/layer2", () => {
  assert.equal(getMethod('srfl').defaults, SRFL_DEFAULTS);
  const { forgetWeight, cosineWeight, retainWeight, temperature, shifts, perSample, trainable } =
    SRFL_DEFAULTS;
  assert.deepEqual(
    { forgetWeight, cosineWeight, retainWeight, temperature, shifts, perSample, trainable },
    {
      forgetWeight: 1,
      cosineWeight: 1,
      retainWeight: 1,
      temperature: 1,
      shifts: [-1, 1],
      perSample: false,
      trainable: ['layer1.', 'layer2.'],
    },
  );
  // At those defaults the loss is PyTorch's KL(rolled) − cos + KL(retain) with weights 1 (the
  // fixture's cases computed by scripts/fixtures with torch.nn.KLDivLoss and F.cosine_similarity).
  const seedCases = fx.cases.filter(
    (k) => k.variant === 'srfl' && k.temperature === 1 && k.weights!.every((w) => w === 1),
  );
  assert.equal(seedCases.length, 2);
  for (const c of seedCases) {
    const value = tidy(() =>
      srflLoss(
        { forget: t(fx.studentForget), retain: t(fx.studentRetain) },
        { rolledForget: rollRows(t(fx.teacherForget), [c.shift]), retain: t(fx.teacherRetain) },
        SRFL_DEFAULTS,
      ).item(),
    );
    assert.ok(Math.abs(value - c.loss) < 1e-10, `shift ${c.shift}: ${value} vs ${c.loss}`);
  }
  // The tuned variant differs from the seed's defaults in the retain weight alone.
  assert.equal(getMethod('srfl-tuned').defaults, SRFL_TUNED_DEFAULTS);
  const tuned = SRFL_TUNED_DEFAULTS as unknown as Record<string, unknown>;
  const differing = Object.keys(tuned).filter(
    (k) =>
      JSON.stringify(tuned[k]) !==
      JSON.stringify((SRFL_DEFAULTS as unknown as Record<string, unknown>)[k]),
  );
  assert.deepEqual(differing, ['retainWeight']);
  assert.equal(tuned.retainWeight, 3);
});

test('sRFL published loss equals PyTorch, with and without class weights', () => {
  for (const c of fx.cases.filter((k) => k.variant === 'srfl-published')) {
    const value = tidy(() => {
      const teacherForget = t(fx.teacherForget);
      const weights = c.classWeights
        ? tensor(fx.classWeights, [fx.classWeights.length], { dtype: 'float64' })
        : null;
      return srflPublishedLoss(
        { forget: t(fx.studentForget), retain: t(fx.studentRetain) },
        {
          forget: teacherForget,
          rolledForget: rollRows(teacherForget, [c.shift]),
          retain: t(fx.teacherRetain),
        },
        tensor(fx.retainLabels, [fx.retainLabels.length], { dtype: 'int64' }),
        { forgetWeight: 0.8, retainWeight: 0.1, ceWeight: 1.1, cosineWeight: 1, temperature: 1 },
        weights,
      ).item();
    });
    assert.ok(Math.abs(value - c.loss) < 1e-10, `shift ${c.shift}: ${value} vs ${c.loss}`);
  }
});

test('per-sample rolls move each row by its own shift', () => {
  tidy(() => {
    const rolled = rollRows(t(fx.teacherForget), fx.perSample.shifts);
    const expected = fx.perSample.rolled;
    rolled.toArray().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12));
    const loss = srflLoss(
      { forget: t(fx.studentForget), retain: t(fx.studentRetain) },
      { rolledForget: rolled, retain: t(fx.teacherRetain) },
      { forgetWeight: 1, cosineWeight: 1, retainWeight: 1, temperature: 1 },
    ).item();
    assert.ok(Math.abs(loss - fx.perSample.loss) < 1e-10);
  });
});

test('roll shifts come only from the configured set and repeat under a seed', () => {
  const draws = (seed: number): number[] => drawShifts(new Rng(seed), [-1, 1], 400, true);
  const a = draws(3);
  assert.deepEqual(new Set(a), new Set([-1, 1]));
  assert.deepEqual(a, draws(3));
  assert.notDeepEqual(a, draws(4));
  const b = drawShifts(new Rng(5), [-3, 3], 64, false);
  assert.equal(b.length, 1);
  assert.ok([-3, 3].includes(b[0]));
});

test('an sRFL run trains only layer1/layer2 (frozen parameters bit-identical) and is reproducible', () => {
  const data = syntheticPair();
  manualSeed(0);
  const trained = train({
    architecture: { name: 'resnet20', options: { inChannels: 1, numClasses: 4 } },
    data,
    options: { epochs: 2, batchSize: 32, lr: 0.05 },
    seed: 0,
  });
  const split = makeSplit({
    train: data.train,
    testSize: data.test.labels.length,
    forgetSpec: 'class:1',
    seed: 0,
  });
  const before = memory().tensors;
  const run = () =>
    unlearn({
      model: trained.model,
      data,
      split,
      method: 'srfl',
      options: { batchSize: 32, epochs: 2, lr: 0.01 },
      seed: 4,
    });
  const a = run();
  const original = new Map(trained.model.namedParameters());
  for (const [name, p] of a.model.namedParameters()) {
    const same =
      Buffer.compare(
        Buffer.from(p.data().buffer),
        Buffer.from(original.get(name)!.data().buffer),
      ) === 0;
    if (name.startsWith('layer1.') || name.startsWith('layer2.')) {
      if (name.includes('conv')) assert.ok(!same, `${name} should have changed`);
    } else {
      assert.ok(same, `${name} is frozen and must be bit-identical`);
    }
  }
  // Steps and epochs recorded: epoch 0 (original) + 2 epochs, one step record per retain batch.
  assert.equal(a.history.epochs.length, 3);
  assert.equal(a.history.steps.length, 2 * Math.ceil(split.retain.length / 32));
  for (const s of a.history.steps)
    assert.ok(s.facc >= 0 && s.facc <= 1 && s.racc >= 0 && s.racc <= 1 && Number.isFinite(s.loss));
  assert.equal(a.metrics.method, 'srfl');
  assert.equal(a.metrics.accuracy.forget, a.history.epochs[2].forget);
  assert.equal(a.metrics.original!.forget, a.history.epochs[0].forget);
  const b = run();
  assert.deepEqual(b.history, { ...a.history, steps: b.history.steps }); // same epochs
  assert.deepEqual(
    b.history.steps.map((s) => s.loss),
    a.history.steps.map((s) => s.loss),
  );
  a.model.dispose();
  b.model.dispose();
  assert.equal(memory().tensors, before, 'no tensors leak across unlearning runs');
  trained.model.dispose();
});

test('class forgetting with srfl-tuned (retain weight 3) drives the forgotten class down while retain accuracy holds', () => {
  const data = syntheticPair({ train: 400, test: 200 });
  manualSeed(0);
  const trained = train({
    architecture: { name: 'resnet20', options: { inChannels: 1, numClasses: 4 } },
    data,
    options: { epochs: 3, batchSize: 32, lr: 0.05 },
    seed: 0,
  });
  const split = makeSplit({
    train: data.train,
    testSize: data.test.labels.length,
    forgetSpec: 'class:2',
    seed: 0,
  });
  const r = unlearn({
    model: trained.model,
    data,
    split,
    method: 'srfl-tuned',
    options: { batchSize: 32, epochs: 3, lr: 0.01 },
    seed: 0,
  });
  const o = r.metrics.original!;
  assert.ok(o.forget > 0.9, `original forget accuracy ${o.forget}`);
  assert.ok(
    r.metrics.accuracy.forget < 0.2,
    `forget accuracy after sRFL ${r.metrics.accuracy.forget}`,
  );
  assert.ok(
    r.metrics.accuracy.retain > o.retain - 0.1,
    `retain ${r.metrics.accuracy.retain} vs ${o.retain}`,
  );
  assert.equal(r.metrics.perClass!.test.length, 4);
  assert.ok((r.metrics.perClass!.test[2] ?? 1) < 0.2);
  r.model.dispose();
  trained.model.dispose();
});

test('the student runs both batches in one forward pass in eval mode under autocast (same logits up to bf16 rounding); two in float32 and in training mode', () => {
  manualSeed(21);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  tidy(() => model.forward(randn([16, 1, 28, 28]))); // running statistics of its own
  const forget = randn([5, 1, 28, 28]);
  const retain = randn([7, 1, 28, 28]);
  const bf16 = <T>(fn: () => T): T => autocast({ device: 'cpu', dtype: 'bfloat16' }, fn);
  const separately = (): Tensor[] =>
    tidy(() => [model.forward(forget).float(), model.forward(retain).float()]);
  const jointly = (): Tensor[] =>
    tidy(() => {
      const s = studentLogits(model, forget, retain);
      return [s.forget.float(), s.retain.float()];
    });
  const relative = (a: Tensor, b: Tensor): number =>
    tidy(() => a.sub(b).abs().max().item() / b.abs().max().item());
  const compare = (what: string, check: (f: number, r: number) => boolean): void => {
    const [[f1, r1], [f2, r2]] = [separately(), jointly()];
    assert.deepEqual([f2.shape, r2.shape], [f1.shape, r1.shape], what);
    const [f, r] = [relative(f2, f1), relative(r2, r1)];
    assert.ok(check(f, r), `${what}: relative differences ${f}, ${r}`);
    dispose([f1, r1, f2, r2]);
  };
  model.eval();
  bf16(() => compare('eval, bf16', (f, r) => f < 3e-2 && r < 3e-2));
  compare('eval, float32', (f, r) => f === 0 && r === 0);
  // In training mode each batch has its own statistics: one pass over both would differ.
  model.train();
  bf16(() => compare('train, bf16', (f, r) => f === 0 && r === 0));
  const joint = tidy(() => model.forward(cat([forget, retain])).narrow(0, 0, 5));
  const alone = tidy(() => model.forward(forget));
  assert.ok(relative(joint, alone) > 1e-3, 'a joint pass in training mode would change the logits');
  dispose([joint, alone, forget, retain]);
  model.dispose();
});
