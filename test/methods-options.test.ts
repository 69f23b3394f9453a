/**
 * What each baseline promises beyond forgetting: SalUn's masked weights never move, `trainable`
 * leaves frozen layers bit-identical, SSD touches only the weights its criterion selects, SCRUB's
 * epochs alternate as configured, and options are validated with exact messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../src/data/index.js';
import { BatchNorm2d } from '../src/nn/index.js';
import { dispose, F, tensor, tidy } from '../src/tensor/index.js';
import { OptionError } from '../src/util/errors.js';
import { getMethod, resolveOptions } from '../src/unlearn/registry.js';
import type { LoopOptions, UnlearnEvent, UnlearnMethod } from '../src/unlearn/types.js';
import { neggrad } from '../src/unlearn/methods/neggrad.js';
import { neggradPlus } from '../src/unlearn/methods/neggrad-plus.js';
import { randomLabel, randomOtherLabels } from '../src/unlearn/methods/random-label.js';
import { badTeacher, reinitialize } from '../src/unlearn/methods/bad-teacher.js';
import { scrub } from '../src/unlearn/methods/scrub.js';
import { salun, saliencyMasks } from '../src/unlearn/methods/salun.js';
import { l1Sparse, l1Weight } from '../src/unlearn/methods/l1-sparse.js';
import { fisherDiagonal, ssd } from '../src/unlearn/methods/ssd.js';
import { Rng } from '../src/util/rng.js';
import { paramBits, problem, TinyNet, unlearnWith } from './methods-helpers.js';

type AnyMethod = UnlearnMethod<LoopOptions>;

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

test('salun: weights outside the saliency mask stay bit-identical under momentum and weight decay', () => {
  const p = problem();
  // The mask the run computes: the same function on a copy of the original, with the same loader.
  const copy = p.original.clone();
  copy.unfreeze();
  const params = copy.parameters();
  const masks = saliencyMasks(
    copy,
    params,
    new DataLoader(p.data.train, p.split.forget, { batchSize: 32 }),
    0.3,
    'cpu',
  );
  const maskOf = new Map(
    copy.namedParameters().map(([name, t]) => [name, masks.get(t)!.data<'float32'>()]),
  );
  const total = params.reduce((n, t) => n + t.numel(), 0);
  const kept = [...maskOf.values()].reduce((n, m) => n + m.reduce((a, b) => a + b, 0), 0);
  assert.equal(kept, Math.round(0.3 * total));

  const result = unlearnWith(
    salun as AnyMethod,
    { batchSize: 32, epochs: 3, maskFraction: 0.3 } as never,
  );
  assert.equal(salun.defaults.momentum, 0.9);
  assert.ok(salun.defaults.weightDecay > 0);
  const before = paramBits(p.original);
  let free = 0;
  let moved = 0;
  for (const [name, after] of paramBits(result.model)) {
    const mask = maskOf.get(name)!;
    const start = before.get(name)!;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) assert.equal(after[i], start[i], `${name}[${i}] is masked out but moved`);
      else {
        free++;
        if (after[i] !== start[i]) moved++;
      }
    }
  }
  assert.ok(moved > 0.9 * free, `${moved} of ${free} salient weights moved`);
  result.model.dispose();
  dispose([...masks.values()]);
  copy.dispose();
});

test('salun: the mask keeps the weights with the largest |Σ ∇(−CE)| over the forget batches', () => {
  const p = problem();
  const copy = p.original.clone();
  copy.unfreeze();
  const params = copy.parameters();
  const loader = new DataLoader(p.data.train, p.split.forget, { batchSize: 25 });
  const masks = saliencyMasks(copy, params, loader, 0.5, 'cpu');
  // backward() accumulates the batches' gradients: the sum the mask ranks.
  copy.eval();
  for (const batch of loader.epoch(0)) {
    tidy(() => {
      const x = tensor(batch.x, batch.shape);
      const y = tensor(
        BigInt64Array.from(batch.y, (v) => BigInt(v)),
        [batch.size],
      );
      F.crossEntropy(copy.forward(x), y).neg().backward();
    });
  }
  const kept: number[] = [];
  const dropped: number[] = [];
  for (const t of params) {
    const g = t.grad!;
    const m = masks.get(t)!.data<'float32'>();
    g.data<'float32'>().forEach((v, i) => (m[i] === 1 ? kept : dropped).push(Math.abs(v)));
    g.dispose();
  }
  assert.equal(kept.length, Math.round(0.5 * (kept.length + dropped.length)));
  const keptMin = Math.min(...kept);
  const droppedMax = Math.max(...dropped);
  assert.ok(keptMin >= droppedMax * (1 - 1e-4), `kept ≥ ${keptMin}, dropped ≤ ${droppedMax}`);
  dispose([...masks.values()]);
  copy.dispose();
});

const FROZEN_CASES: [AnyMethod, Record<string, unknown>][] = [
  [neggrad as never, { lr: 5e-3 }],
  [neggradPlus as never, { alpha: 0.9 }],
  [randomLabel as never, {}],
  [badTeacher as never, { lr: 1e-2 }],
  [scrub as never, { forgetBatchSize: 16, lr: 5e-3 }],
  [salun as never, {}],
  [l1Sparse as never, {}],
  [ssd as never, {}],
];

for (const [method, options] of FROZEN_CASES) {
  test(`${method.id}: with trainable ['layer1.'], every other parameter stays bit-identical`, () => {
    const p = problem();
    const result = unlearnWith(method, {
      batchSize: 32,
      epochs: 1,
      ...options,
      trainable: ['layer1.'],
    } as never);
    const before = paramBits(p.original);
    let changedLayer1 = false;
    for (const [name, after] of paramBits(result.model)) {
      const same = sameBits(after, before.get(name)!);
      if (name.startsWith('layer1.')) changedLayer1 ||= !same;
      else assert.ok(same, `${name} is frozen but changed`);
    }
    assert.ok(changedLayer1, 'layer1 changed');
    result.model.dispose();
  });
}

test('ssd: only weights with I_Df > α·I_D change, each by min(λ·I_D/I_Df, 1)', () => {
  const p = problem();
  const alpha = 10;
  const lambda = 0.5;
  const copy = p.original.clone();
  copy.unfreeze();
  copy.eval();
  const params = copy.parameters();
  const forget = fisherDiagonal(
    copy,
    params,
    new DataLoader(p.data.train, p.split.forget, { batchSize: 64 }),
    'cpu',
  );
  const full = fisherDiagonal(
    copy,
    params,
    new DataLoader(p.data.train, null, { batchSize: 64 }),
    'cpu',
  );
  const result = unlearnWith(ssd as AnyMethod, { alpha, lambda, batchSize: 64 } as never);
  const after = new Map(result.model.namedParameters().map(([n, t]) => [n, t.data<'float32'>()]));
  let dampened = 0;
  let untouched = 0;
  copy.namedParameters().forEach(([name, t], k) => {
    const before = t.data<'float32'>();
    const now = after.get(name)!;
    const fi = forget[k].data<'float32'>();
    const di = full[k].data<'float32'>();
    for (let i = 0; i < before.length; i++) {
      const threshold = alpha * di[i];
      if (fi[i] > threshold * 1.01) {
        dampened++;
        const expected = before[i] * Math.min((lambda * di[i]) / fi[i], 1);
        assert.ok(
          Math.abs(now[i] - expected) <= 1e-5 * Math.abs(before[i]) + 1e-12,
          `${name}[${i}]: ${now[i]} vs ${expected}`,
        );
      } else if (fi[i] < threshold * 0.99 || fi[i] === 0) {
        untouched++;
        assert.ok(Object.is(now[i], before[i]), `${name}[${i}] is not selected but changed`);
      }
    }
  });
  assert.ok(dampened > 0 && untouched > 0, `${dampened} dampened, ${untouched} untouched`);
  // Running statistics are not parameters and SSD must not touch them either (eval mode).
  const bnBefore = p.original.namedBuffers().map(([, b]) => b.data());
  result.model.namedBuffers().forEach(([n, b], i) => assert.deepEqual(b.data(), bnBefore[i], n));
  dispose([forget, full]);
  result.model.dispose();
  copy.dispose();
});

test('ssd: a selection weighting no weight exceeds leaves the model unchanged', () => {
  const p = problem();
  const result = unlearnWith(ssd as AnyMethod, { alpha: 1e30 } as never);
  const before = paramBits(p.original);
  for (const [name, after] of paramBits(result.model))
    assert.ok(sameBits(after, before.get(name)!), name);
  assert.equal(result.history.steps.length, 0);
  result.model.dispose();
});

test('scrub: epochs up to msteps run a max pass over D_f and then a min pass over D_r; later ones only D_r', () => {
  const p = problem();
  const perEpoch = new Map<number, { forget: number; retain: number }>();
  const events: UnlearnEvent[] = [];
  const options = { batchSize: 32, forgetBatchSize: 16, epochs: 3, msteps: 1 };
  const result = unlearnWith(scrub, options, 0, (e) => events.push(e));
  for (const e of events) {
    if (e.type !== 'step') continue;
    const c = perEpoch.get(e.epoch) ?? { forget: 0, retain: 0 };
    // A max step measures only the forget batch, a min step only the retain batch.
    assert.ok(Number.isNaN(e.record.facc) !== Number.isNaN(e.record.racc));
    if (Number.isNaN(e.record.racc)) {
      assert.equal(c.retain, 0, 'max steps come before min steps');
      c.forget++;
    } else c.retain++;
    perEpoch.set(e.epoch, c);
  }
  const forgetBatches = Math.ceil(p.split.forget.length / 16);
  const retainBatches = Math.ceil(p.split.retain.length / 32);
  assert.deepEqual(perEpoch.get(1), { forget: forgetBatches, retain: retainBatches });
  assert.deepEqual(perEpoch.get(2), { forget: 0, retain: retainBatches });
  assert.deepEqual(perEpoch.get(3), { forget: 0, retain: retainBatches });
  assert.equal(result.history.steps.length, forgetBatches + 3 * retainBatches);
  result.model.dispose();
});

test('bad-teacher: the bad teacher is re-initialised as a fresh model, and retainFraction is used', () => {
  const net = new TinyNet();
  const trained = problem().original.clone();
  reinitialize(trained);
  for (const [name, m] of trained.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    for (const [n, t] of m.namedParameters())
      assert.ok(
        t.toArray().every((v) => v === (n === 'weight' ? 1 : 0)),
        `${name}.${n}`,
      );
    const stats = new Map(m.namedBuffers());
    assert.ok(
      stats
        .get('running_mean')!
        .toArray()
        .every((v) => v === 0),
    );
    assert.ok(
      stats
        .get('running_var')!
        .toArray()
        .every((v) => v === 1),
    );
  }
  const fcWeight = trained
    .namedParameters()
    .find(([n]) => n === 'fc.weight')![1]
    .toArray();
  assert.ok(fcWeight.every((v) => Math.abs(v) <= 1 / Math.sqrt(16)));
  assert.ok(
    fcWeight.some(
      (v, i) =>
        v !==
        problem()
          .original.namedParameters()
          .find(([n]) => n === 'fc.weight')![1]
          .toArray()[i],
    ),
  );
  trained.dispose();
  net.dispose();

  const runs = [0.3, 1].map((retainFraction) => {
    const r = unlearnWith(
      badTeacher as AnyMethod,
      { batchSize: 32, lr: 1e-2, retainFraction } as never,
    );
    const out = paramBits(r.model).get('fc.weight')!;
    r.model.dispose();
    return out;
  });
  assert.ok(!sameBits(runs[0], runs[1]));
});

test('random labels differ from the true labels and cover the other classes', () => {
  const rng = new Rng(1);
  const y = tensor(
    BigInt64Array.from({ length: 400 }, (_, i) => BigInt(i % 4)),
    [400],
  );
  const r = randomOtherLabels(y, 4, rng, 'cpu');
  const yv = y.toArray();
  const rv = r.toArray();
  assert.ok(rv.every((v, i) => v !== yv[i] && v >= 0 && v < 4));
  for (let c = 0; c < 4; c++) assert.equal(new Set(rv.filter((_, i) => yv[i] === c)).size, 3);
  dispose([y, r]);
});

test('l1-sparse: γ_t decays linearly to 0, and a larger γ shrinks the weights', () => {
  assert.equal(l1Weight(1e-4, 0, 10), 1e-4);
  assert.equal(l1Weight(1e-4, 5, 10), 5e-5);
  assert.equal(l1Weight(1e-4, 10, 10), 0);
  const norms = [0, 0.05].map((gamma) => {
    const r = unlearnWith(l1Sparse as AnyMethod, { batchSize: 32, epochs: 2, gamma } as never);
    const n = r.model
      .parameters()
      .reduce((s, t) => s + t.toArray().reduce((a, v) => a + Math.abs(v), 0), 0);
    r.model.dispose();
    return n;
  });
  assert.ok(norms[1] < 0.9 * norms[0], `‖θ‖₁ ${norms[1]} with γ 0.05 vs ${norms[0]} with 0`);
});

test('neggrad+: α = 1 is plain fine-tuning on D_r and forgets nothing', () => {
  const r = unlearnWith(neggradPlus as AnyMethod, { batchSize: 32, alpha: 1 } as never);
  const forget = r.history.epochs[r.history.epochs.length - 1].forget;
  assert.ok(forget > 0.95, `forget accuracy ${forget}`);
  r.model.dispose();
});

test('options are validated with exact messages', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'neggrad+',
      { alpha: 1.5 },
      'Expected a number in [0, 1] for alpha of neggrad+ but received 1.5',
    ],
    [
      'salun',
      { maskFraction: 0 },
      'Expected a number in (0, 1] for maskFraction of salun but received 0',
    ],
    [
      'bad-teacher',
      { retainFraction: 2 },
      'Expected a number in (0, 1] for retainFraction of bad-teacher but received 2',
    ],
    [
      'bad-teacher',
      { temperature: 0 },
      'Expected a number in (0, ∞) for temperature of bad-teacher but received 0',
    ],
    [
      'scrub',
      { msteps: 1.5 },
      'Expected a non-negative integer for msteps of scrub but received 1.5',
    ],
    ['scrub', { gamma: -1 }, 'Expected a number in [0, ∞) for gamma of scrub but received -1'],
    [
      'l1-sparse',
      { gamma: -1 },
      'Expected a number in [0, ∞) for gamma of l1-sparse but received -1',
    ],
    ['ssd', { lambda: -1 }, 'Expected a number in [0, ∞) for lambda of ssd but received -1'],
    [
      'neggrad',
      { trainable: ['nope.'] },
      'No parameter name starts with nope.; names start with layer1., layer2., fc.',
    ],
  ];
  for (const [id, overrides, message] of cases) {
    const method = getMethod(id);
    const options = resolveOptions(method, { batchSize: 32, epochs: 1, ...overrides });
    assert.throws(
      () => unlearnWith(method, options),
      (e: Error) => {
        assert.equal(e.message, message);
        return true;
      },
    );
  }
  assert.throws(() => resolveOptions(getMethod('scrub'), { msteps: '2' }), OptionError);
});

test('random-label and salun: an epoch is one shuffled pass over D_f ∪ D_r, as in SalUn', () => {
  const p = problem();
  for (const method of [randomLabel as AnyMethod, salun as AnyMethod]) {
    const seen = new Map<number, { forget: number[]; retain: number[] }>();
    const spy: AnyMethod = {
      ...method,
      prepare(ctx, o) {
        const run = method.prepare(ctx, o);
        return {
          ...run,
          step(input) {
            const s = seen.get(input.epoch) ?? { forget: [], retain: [] };
            if (input.forget) s.forget.push(...input.forget.indices);
            if (input.retain) s.retain.push(...input.retain.indices);
            seen.set(input.epoch, s);
            return run.step(input);
          },
        };
      },
    };
    const result = unlearnWith(spy, { batchSize: 32, epochs: 2 });
    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    for (const epoch of [1, 2]) {
      const s = seen.get(epoch)!;
      assert.deepEqual(sorted(s.forget), [...p.split.forget], `${method.id}: D_f once per epoch`);
      assert.deepEqual(sorted(s.retain), [...p.split.retain], `${method.id}: D_r once per epoch`);
    }
    assert.notDeepEqual(seen.get(1)!.retain, seen.get(2)!.retain, 'reshuffled every epoch');
    const trainSize = p.split.forget.length + p.split.retain.length;
    assert.equal(result.history.steps.length, 2 * Math.ceil(trainSize / 32));
    result.model.dispose();
  }
});
