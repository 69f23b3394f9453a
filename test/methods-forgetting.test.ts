/**
 * Class forgetting on the synthetic texture problem: every baseline that targets D_f drives the
 * forgotten class's eval-mode accuracy down while the other classes survive, and a run is a pure
 * function of its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyOf } from '../src/models/predict.js';
import { getMethod, methodIds } from '../src/unlearn/registry.js';
import type { LoopOptions, UnlearnMethod } from '../src/unlearn/types.js';
import { neggrad, NEGGRAD_DEFAULTS } from '../src/unlearn/methods/neggrad.js';
import { neggradPlus, NEGGRAD_PLUS_DEFAULTS } from '../src/unlearn/methods/neggrad-plus.js';
import { randomLabel, RANDOM_LABEL_DEFAULTS } from '../src/unlearn/methods/random-label.js';
import { badTeacher, BAD_TEACHER_DEFAULTS } from '../src/unlearn/methods/bad-teacher.js';
import { scrub, SCRUB_DEFAULTS } from '../src/unlearn/methods/scrub.js';
import { salun, SALUN_DEFAULTS } from '../src/unlearn/methods/salun.js';
import { l1Sparse, L1_SPARSE_DEFAULTS } from '../src/unlearn/methods/l1-sparse.js';
import { ssd, SSD_DEFAULTS } from '../src/unlearn/methods/ssd.js';
import { paramBits, problem, unlearnWith } from './methods-helpers.js';

test('the baselines are registered under their ids with their exported defaults', () => {
  const expected: [string, UnlearnMethod<LoopOptions>, Readonly<LoopOptions>][] = [
    ['neggrad', neggrad as never, NEGGRAD_DEFAULTS],
    ['neggrad+', neggradPlus as never, NEGGRAD_PLUS_DEFAULTS],
    ['random-label', randomLabel as never, RANDOM_LABEL_DEFAULTS],
    ['bad-teacher', badTeacher as never, BAD_TEACHER_DEFAULTS],
    ['scrub', scrub as never, SCRUB_DEFAULTS],
    ['salun', salun as never, SALUN_DEFAULTS],
    ['l1-sparse', l1Sparse as never, L1_SPARSE_DEFAULTS],
    ['ssd', ssd as never, SSD_DEFAULTS],
  ];
  for (const [id, method, defaults] of expected) {
    assert.ok(methodIds().includes(id), id);
    assert.equal(getMethod(id), method);
    assert.equal(method.defaults, defaults);
    assert.ok(Object.isFrozen(defaults), `${id} defaults are frozen`);
  }
  // The numbers baselines.md gives.
  assert.equal(NEGGRAD_DEFAULTS.lr, 1e-4);
  assert.equal(NEGGRAD_PLUS_DEFAULTS.alpha, 0.99);
  assert.deepEqual(
    [
      BAD_TEACHER_DEFAULTS.optimizer,
      BAD_TEACHER_DEFAULTS.lr,
      BAD_TEACHER_DEFAULTS.epochs,
      BAD_TEACHER_DEFAULTS.batchSize,
    ],
    ['adam', 1e-4, 1, 256],
  );
  assert.deepEqual(
    [BAD_TEACHER_DEFAULTS.temperature, BAD_TEACHER_DEFAULTS.retainFraction],
    [1, 0.3],
  );
  const s = SCRUB_DEFAULTS;
  assert.deepEqual(
    [
      s.optimizer,
      s.lr,
      s.momentum,
      s.weightDecay,
      s.epochs,
      s.msteps,
      s.temperature,
      s.gamma,
      s.alpha,
      s.batchSize,
      s.forgetBatchSize,
    ],
    ['sgd', 5e-4, 0.9, 5e-4, 3, 2, 4, 0.99, 0.001, 128, 32],
  );
  assert.deepEqual(
    [
      SALUN_DEFAULTS.maskFraction,
      SALUN_DEFAULTS.lr,
      SALUN_DEFAULTS.epochs,
      SALUN_DEFAULTS.batchSize,
    ],
    [0.5, 0.013, 10, 256],
  );
  assert.deepEqual(
    [L1_SPARSE_DEFAULTS.gamma, L1_SPARSE_DEFAULTS.lr, L1_SPARSE_DEFAULTS.epochs],
    [1e-4, 0.01, 10],
  );
  assert.deepEqual([SSD_DEFAULTS.alpha, SSD_DEFAULTS.lambda, SSD_DEFAULTS.epochs], [10, 1, 0]);
  assert.equal(ssd.iteration, 'none');
});

/**
 * Options for a 400-image problem: smaller batches (so an epoch has several steps) and, where the
 * CIFAR-scale defaults would barely move a tiny net in a few dozen steps, a higher rate.
 */
const FORGETTING: [UnlearnMethod<LoopOptions>, Record<string, unknown>][] = [
  [neggrad as never, { batchSize: 32, lr: 5e-3 }],
  [neggradPlus as never, { batchSize: 32, alpha: 0.9 }],
  [randomLabel as never, { batchSize: 32 }],
  [badTeacher as never, { batchSize: 32, lr: 1e-2, epochs: 2 }],
  [scrub as never, { batchSize: 32, forgetBatchSize: 16, lr: 5e-3 }],
  [salun as never, { batchSize: 32, epochs: 5 }],
];

for (const [method, options] of FORGETTING) {
  test(`${method.id} forgets class 0 and keeps the other classes`, () => {
    const p = problem();
    const before = {
      forget: accuracyOf(p.originalPredictions.forget),
      retain: accuracyOf(p.originalPredictions.retain),
    };
    assert.ok(
      before.forget > 0.95 && before.retain > 0.95,
      `the original learnt the problem: ${JSON.stringify(before)}`,
    );
    const result = unlearnWith(method, options);
    try {
      const forget = accuracyOf(result.final.forget);
      const retain = accuracyOf(result.final.retain);
      const testAcc = accuracyOf(result.final.test);
      assert.ok(forget < before.forget - 0.5, `forget accuracy ${forget} vs ${before.forget}`);
      assert.ok(retain > 0.85, `retain accuracy ${retain}`);
      // Class 0 is a quarter of the test set: ~0.75 means only it was lost.
      assert.ok(testAcc > 0.6, `test accuracy ${testAcc}`);
      const last = result.history.epochs[result.history.epochs.length - 1];
      assert.equal(last.forget, forget);
      assert.ok(result.history.steps.length > 0);
    } finally {
      result.model.dispose();
    }
  });
}

function sameBits(a: Map<string, Uint32Array>, b: Map<string, Uint32Array>): boolean {
  return [...a].every(([name, x]) => {
    const y = b.get(name)!;
    return x.length === y.length && x.every((v, i) => v === y[i]);
  });
}

for (const [method, options] of [FORGETTING[2], FORGETTING[3], FORGETTING[4], FORGETTING[5]]) {
  test(`${method.id}: the same seed gives the same model, another seed another`, () => {
    const runs = [3, 3, 4].map((seed) => {
      const r = unlearnWith(method, { ...options, epochs: 1 }, seed);
      const out = paramBits(r.model);
      r.model.dispose();
      return out;
    });
    assert.ok(sameBits(runs[0], runs[1]), 'seed 3 twice');
    assert.ok(!sameBits(runs[0], runs[2]), 'seeds 3 and 4');
  });
}
