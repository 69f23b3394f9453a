/**
 * Resuming a run from the state saved after an epoch gives the model an uninterrupted run gives,
 * bit for bit: weights, batch-norm statistics, optimizer state, schedule and the method's
 * random draws all continue where they stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memory, noGrad, type Tensor } from '../src/tensor/index.js';
import { runLoop, type LoopState } from '../src/unlearn/loop.js';
import { randomLabel } from '../src/unlearn/methods/random-label.js';
import { scrub } from '../src/unlearn/methods/scrub.js';
import { retrain } from '../src/unlearn/methods/supervised.js';
import type { LoopOptions, UnlearnMethod } from '../src/unlearn/types.js';
import { OptionError } from '../src/util/errors.js';
import { paramBits, problem, runOnProblem } from './methods-helpers.js';

type AnyMethod = UnlearnMethod<LoopOptions>;

class Interrupted extends Error {}

function run(
  method: AnyMethod,
  options: LoopOptions,
  extra: Partial<Parameters<typeof runLoop>[0]>,
) {
  return runOnProblem(method, options, extra);
}

const copy = (t: Tensor): Tensor => noGrad(() => t.clone());

/** Runs until the state after `epoch` is saved, keeps a copy of it and stops the run there. */
function interruptAfter(method: AnyMethod, options: LoopOptions, epoch: number): LoopState {
  let saved: LoopState | null = null;
  assert.throws(
    () =>
      run(method, options, {
        onCheckpoint: (state) => {
          if (state.epoch !== epoch) return;
          saved = {
            ...state,
            history: structuredClone(state.history),
            rng: [...state.rng],
            model: new Map([...state.model].map(([k, t]) => [k, copy(t)])),
            optimizer: {
              tensors: Object.fromEntries(
                Object.entries(state.optimizer.tensors).map(([k, t]) => [k, copy(t)]),
              ),
              meta: structuredClone(state.optimizer.meta),
            },
            scheduler: structuredClone(state.scheduler),
          };
          throw new Interrupted();
        },
      }),
    Interrupted,
  );
  return saved!;
}

function disposeState(state: LoopState): void {
  for (const t of [...state.model.values(), ...Object.values(state.optimizer.tensors)]) t.dispose();
}

const cases: [string, AnyMethod, Partial<LoopOptions> & Record<string, unknown>][] = [
  // Random labels from the method's generator, a per-epoch cosine schedule, D_f ∪ D_r batches.
  [
    'random-label',
    randomLabel as AnyMethod,
    { epochs: 3, batchSize: 32, schedule: 'cosine', scheduleStep: 'epoch' },
  ],
  // A fresh model with augmentation and a per-batch cosine schedule.
  ['retrain', retrain as AnyMethod, { epochs: 3, batchSize: 32, lr: 0.05, augment: true }],
  // Max and min passes that alternate by epoch.
  ['scrub', scrub as AnyMethod, { epochs: 3, batchSize: 32, forgetBatchSize: 16, msteps: 2 }],
];

for (const [name, method, overrides] of cases) {
  test(`${name}: a run resumed after epoch 1 ends bit-identical to an uninterrupted one`, () => {
    const options = { ...method.defaults, ...overrides } as LoopOptions;
    problem(); // built once per file, before counting
    const before = memory().tensors;
    const whole = run(method, options, {});
    const saved = interruptAfter(method, options, 1);
    assert.equal(saved.epoch, 1);
    assert.ok(saved.step > 0 && saved.seconds > 0);
    const resumed = run(method, options, { resume: saved });
    const a = paramBits(whole.model);
    const b = paramBits(resumed.model);
    for (const [k, bits] of a) assert.deepEqual(b.get(k), bits, `${name}: ${k}`);
    for (const [[k, x], [, y]] of whole.model
      .namedBuffers()
      .map((e, i) => [e, resumed.model.namedBuffers()[i]])) {
      assert.deepEqual(y.data(), x.data(), `${name}: buffer ${k}`);
    }
    assert.deepEqual(resumed.history.steps, whole.history.steps);
    assert.deepEqual(resumed.history.epochs, whole.history.epochs);
    assert.ok(resumed.seconds >= saved.seconds);
    whole.model.dispose();
    resumed.model.dispose();
    disposeState(saved);
    assert.equal(memory().tensors, before, 'no tensor outlives the runs');
  });
}

test('a saved state is refused by a run it does not fit', () => {
  const options = { ...randomLabel.defaults, epochs: 3, batchSize: 32 } as LoopOptions;
  const saved = interruptAfter(randomLabel as AnyMethod, options, 2);
  assert.throws(
    () => run(randomLabel as AnyMethod, { ...options, epochs: 2 }, { resume: saved }),
    (e: Error) =>
      e instanceof OptionError &&
      e.message ===
        'Expected a saved state after one of epochs 1..1 of this 2-epoch run but it was saved after epoch 2',
  );
  assert.throws(
    () =>
      run(randomLabel as AnyMethod, { ...options, schedule: 'cosine' } as LoopOptions, {
        resume: saved,
      }),
    /The saved state has no learning-rate schedule but this run has one/,
  );
  disposeState(saved);
});
