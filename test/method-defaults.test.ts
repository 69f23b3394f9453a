/**
 * Every registered method's resolved defaults, value for value and key for key in order: they are
 * written into a run's config.json and compared when a run resumes or is found in the cache, and
 * their key list is named in the unknown-option message. Pinned from the methods as they stood
 * before their loop options were derived from one shared set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError } from '../src/util/errors.js';
import { getMethod, methodIds, resolveOptions } from '../src/unlearn/registry.js';

const SRFL_LOOP = {
  epochs: 1,
  optimizer: 'sgd',
  lr: 0.001,
  momentum: 0.9,
  weightDecay: 0.0005,
  schedule: 'cosine',
  scheduleStep: 'batch',
  batchSize: 128,
  augment: false,
  studentMode: 'eval',
};

const BASELINE_LOOP = {
  optimizer: 'sgd',
  momentum: 0.9,
  weightDecay: 0.0005,
  schedule: 'constant',
  scheduleStep: 'epoch',
  batchSize: 256,
  augment: false,
  studentMode: 'train',
};

/** A baseline's loop options in their order: epochs, optimizer, lr, then the rest. */
function baseline(epochs: number, lr: number, own: Record<string, unknown> = {}) {
  const { optimizer, ...rest } = { ...BASELINE_LOOP, ...own };
  return { epochs, optimizer, lr, ...rest };
}

const EXPECTED: Record<string, Record<string, unknown>> = {
  srfl: {
    ...SRFL_LOOP,
    trainable: ['layer1.', 'layer2.'],
    shifts: [-1, 1],
    perSample: false,
    forgetWeight: 1,
    cosineWeight: 1,
    retainWeight: 1,
    temperature: 1,
  },
  'srfl-tuned': {
    ...SRFL_LOOP,
    trainable: ['layer1.', 'layer2.'],
    shifts: [-1, 1],
    perSample: false,
    forgetWeight: 1,
    cosineWeight: 1,
    retainWeight: 3,
    temperature: 1,
  },
  'srfl-published': {
    ...SRFL_LOOP,
    weightDecay: 0.0001,
    scheduleStep: 'epoch',
    studentMode: 'train',
    trainable: ['layer1.', 'layer2.'],
    shifts: [-3, 3],
    perSample: false,
    forgetWeight: 0.8,
    cosineWeight: 1,
    retainWeight: 0.1,
    temperature: 1,
    ceWeight: 1.1,
    classWeights: null,
  },
  'srfl-calibrated': {
    ...SRFL_LOOP,
    lr: 0.01,
    batchSize: 64,
    trainable: ['layer1.', 'layer2.'],
    shifts: [-1, 1],
    perSample: true,
    forgetWeight: 3,
    cosineWeight: 1,
    retainWeight: 1,
    temperature: 1,
    target: 'lowered',
    retainLoss: 'kl',
    stopFraction: 0.05,
    targetOffset: 0,
    classForgetWeight: 0.3,
    heldOut: 'original',
    heldOutSample: 1000,
    heldOutWeight: 0,
  },
  finetune: {
    ...SRFL_LOOP,
    epochs: 5,
    lr: 0.01,
    studentMode: 'train',
    labelSmoothing: 0,
  },
  retrain: {
    ...SRFL_LOOP,
    epochs: 3,
    lr: 0.1,
    augment: true,
    studentMode: 'train',
    labelSmoothing: 0,
  },
  neggrad: { ...baseline(5, 0.0001), trainable: [] },
  'neggrad+': { ...baseline(5, 0.01, { batchSize: 128 }), alpha: 0.99, trainable: [] },
  'random-label': { ...baseline(10, 0.01), forgetWeight: 1, retainWeight: 1, trainable: [] },
  'bad-teacher': {
    ...baseline(1, 0.0001, { optimizer: 'adam', momentum: 0, weightDecay: 0 }),
    temperature: 1,
    retainFraction: 0.3,
    trainable: [],
  },
  scrub: {
    epochs: 3,
    optimizer: 'sgd',
    lr: 0.0005,
    momentum: 0.9,
    weightDecay: 0.0005,
    schedule: 'constant',
    scheduleStep: 'epoch',
    batchSize: 128,
    forgetBatchSize: 32,
    augment: false,
    studentMode: 'train',
    msteps: 2,
    temperature: 4,
    gamma: 0.99,
    alpha: 0.001,
    trainable: [],
  },
  salun: {
    ...baseline(10, 0.013),
    maskFraction: 0.5,
    forgetWeight: 1,
    retainWeight: 1,
    trainable: [],
  },
  'l1-sparse': { ...baseline(10, 0.01), gamma: 0.0001, trainable: [] },
  ssd: {
    ...baseline(0, 0, { momentum: 0, weightDecay: 0, studentMode: 'eval' }),
    alpha: 10,
    lambda: 1,
    trainable: [],
  },
};

test('the registry holds exactly the pinned methods, in order', () => {
  assert.deepStrictEqual(methodIds(), Object.keys(EXPECTED));
});

for (const [id, expected] of Object.entries(EXPECTED)) {
  test(`${id}: resolved defaults are the pinned values, keys in the pinned order`, () => {
    const method = getMethod(id);
    assert.ok(Object.isFrozen(method.defaults), 'defaults are frozen');
    assert.deepStrictEqual(Object.entries(method.defaults), Object.entries(expected));
    const resolved = resolveOptions(method, {});
    assert.deepStrictEqual(Object.entries(resolved), Object.entries(expected));
    assert.equal(JSON.stringify(resolved), JSON.stringify(expected));
    assert.throws(
      () => resolveOptions(method, { nope: 1 }),
      (e: unknown) =>
        e instanceof OptionError &&
        e.message ===
          `Unknown option 'nope' for method ${id}; its options are ${Object.keys(expected).join(', ')}`,
    );
  });
}
