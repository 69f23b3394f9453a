import assert from 'node:assert/strict';
import { resolveCompute } from '../src/records/compute.js';
import { test } from 'node:test';
import { makeSplit } from '../src/data/index.js';
import { grad, memory, tensor } from '../src/tensor/index.js';
import { runLoop, type SetPredictions } from '../src/unlearn/loop.js';
import {
  absentClassConfidence,
  calibrationTargets,
  forgetTargets,
  forgottenClasses,
  logitConfidence,
  loweredLogits,
  stillRemembered,
} from '../src/unlearn/calibration.js';
import {
  maskedLogitLoss,
  srflCalibrated,
  type SrflCalibratedOptions,
} from '../src/unlearn/methods/srfl-calibrated.js';
import { getMethod, resolveOptions } from '../src/unlearn/registry.js';
import { paramBits, predictSets, problem, TinyNet } from './methods-helpers.js';

test('logit-scaled confidence is z_y − log Σ_{c≠y} exp(z_c)', () => {
  const phi = logitConfidence(Float32Array.from([2, 1, 0, 0, 0, 3]), Int32Array.from([0, 1]), 3);
  assert.ok(Math.abs(phi[0] - (2 - Math.log(Math.E + 1))) < 1e-6);
  assert.ok(Math.abs(phi[1] - (0 - Math.log(1 + Math.exp(3)))) < 1e-6);
});

test('targets give forget examples the held-out quantile at their rank', () => {
  // Held-out φ −1, 0, 1, 2; teacher φ on three forget examples 5, 3, 4 (ranks 2, 0, 1).
  // Quantiles (r + ½)/3 of the sorted held-out values: positions 0.5, 1.5, 2.5 → −0.5, 0.5, 1.5.
  const t = calibrationTargets(Float64Array.from([5, 3, 4]), Float64Array.from([2, -1, 1, 0]));
  assert.deepEqual(Array.from(t), [1.5, -0.5, 0.5]);
  assert.throws(() => calibrationTargets(Float64Array.from([1]), new Float64Array(0)), {
    name: 'OptionError',
  });
});

test('a class is forgotten when D_f holds it and D_r does not', () => {
  const gone = forgottenClasses(Int32Array.from([2, 2, 0, 1]), Int32Array.from([0, 1, 1, 3]));
  assert.deepEqual([...gone], [2]);
  assert.equal(forgottenClasses(Int32Array.from([0, 1]), Int32Array.from([1, 0, 2])).size, 0);
});

test("a forgotten class's targets are its held-out confidence on images of other classes", () => {
  // Val: 4 images over 3 classes. Toward class 2: row 0 (label 0) φ_2 = 0 − log(e^3 + e^1),
  // row 1 (label 1) φ_2 = 1 − log(e^0 + e^2); row 2 is class 2 itself (left out); row 3 (label 0)
  // calls it class 2 (φ_2 > 0: left out, the original does not treat it as not-2).
  const val = {
    logits: Float32Array.from([3, 1, 0, 0, 2, 1, 0, 0, 5, 0, 0, 4]),
    labels: Int32Array.from([0, 1, 2, 0]),
  };
  const phi0 = 0 - Math.log(Math.exp(3) + Math.exp(1));
  const phi1 = 1 - Math.log(Math.exp(0) + Math.exp(2));
  const absent = absentClassConfidence(val.logits, val.labels, 2, 3);
  assert.equal(absent.length, 2);
  assert.ok(Math.abs(absent[0] - phi0) < 1e-6 && Math.abs(absent[1] - phi1) < 1e-6);

  // D_f: two images of class 2 (gone from D_r) and one of class 0 (kept). The class-0 example's
  // target is the kept classes' held-out φ (rows 0, 1, 3 with their own labels; median); the two
  // class-2 ones get the absent quantiles at their rank (teacher φ 4 > 1: the first ranks higher).
  const forget = {
    logits: Float32Array.from([0, 0, 4, 0, 0, 1, 2, 0, 0]),
    labels: Int32Array.from([2, 2, 0]),
  };
  const t = forgetTargets(forget, val, Int32Array.from([0, 1, 0]), 3);
  const kept = Array.from(
    logitConfidence(Float32Array.from([3, 1, 0, 0, 2, 1, 0, 0, 4]), Int32Array.from([0, 1, 0]), 3),
  ).sort((a, b) => a - b);
  assert.ok(Math.abs(t[2] - kept[1]) < 1e-6);
  const [lo, hi] = [Math.min(phi0, phi1), Math.max(phi0, phi1)];
  assert.ok(Math.abs(t[0] - (lo + 0.75 * (hi - lo))) < 1e-6);
  assert.ok(Math.abs(t[1] - (lo + 0.25 * (hi - lo))) < 1e-6);
  assert.ok(t[0] < 0 && t[1] < 0, 'a forgotten class ends misclassified');
});

test('lowered logits reach the target confidence exactly and keep the other classes', () => {
  const logits = Float32Array.from([9, 2, 1, 3, 12, 0]);
  const labels = Int32Array.from([0, 1]);
  const targets = Float64Array.from([1.25, -0.5]);
  const out = loweredLogits(logits, labels, targets, 3);
  const phi = logitConfidence(out, labels, 3);
  assert.ok(Math.abs(phi[0] - 1.25) < 1e-5);
  assert.ok(Math.abs(phi[1] + 0.5) < 1e-5);
  assert.deepEqual([out[1], out[2], out[3], out[5]], [2, 1, 3, 0]);
  // A negative target leaves the example misclassified as the teacher's runner-up (class 0).
  assert.ok(out[3] > out[4] && out[3] > out[5]);
});

test('the stopping rule: an example leaves the forget loss once it is at or below its target', () => {
  const phi = Float64Array.from([3, 1, 2, -1]);
  const target = Float64Array.from([2, 1, 2.5, -2]);
  assert.deepEqual(Array.from(stillRemembered(phi, target)), [1, 0, 0, 1]);

  const student = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { requiresGrad: true });
  const goal = tensor(Float32Array.from([0, 0, 0, 1, 1, 1]), [2, 3]);
  // Nobody above target: no forget loss and no gradient at all.
  const none = maskedLogitLoss(student, goal, tensor(Float32Array.from([0, 0]), [2]));
  assert.equal(none.item(), 0);
  const [g0] = grad(none, [student]);
  assert.deepEqual(Array.from(g0!.data<'float32'>()), [0, 0, 0, 0, 0, 0]);
  // Only row 1 above target: its mean squared error, over the batch of 2.
  const one = maskedLogitLoss(student, goal, tensor(Float32Array.from([0, 1]), [2]));
  assert.ok(Math.abs(one.item() - (9 + 16 + 25) / 3 / 2) < 1e-6);
  const [g1] = grad(one, [student]);
  assert.deepEqual(
    Array.from(g1!.data<'float32'>()).map((v) => Math.round(v * 1e6) / 1e6),
    [0, 0, 0, 1, 1.333333, 1.666667],
  );
});

/** The texture problem with a forget set (a random 10%), and the original's predictions on val too. */
function randomProblem(forgetSpec = 'random:0.1'): {
  split: ReturnType<typeof makeSplit>;
  predictions: SetPredictions;
} {
  const p = problem();
  const split = makeSplit({
    train: p.data.train,
    testSize: p.data.test.labels.length,
    forgetSpec,
    seed: 3,
  });
  const predictions = predictSets(p.original, p.data, split);
  return { split, predictions };
}

function runCalibrated(
  options: Partial<SrflCalibratedOptions>,
  seed = 0,
  forgetSpec = 'random:0.1',
) {
  const p = problem();
  const { split, predictions } = randomProblem(forgetSpec);
  const resolved = resolveOptions(getMethod('srfl-calibrated'), {
    batchSize: 32,
    forgetBatchSize: 8,
    lr: 0.01,
    ...options,
  }) as SrflCalibratedOptions;
  const result = runLoop({
    method: srflCalibrated,
    options: resolved,
    original: p.original,
    createModel: () => new TinyNet(),
    data: p.data,
    split,
    compute: resolveCompute({ seed }),
    evalEveryEpoch: false,
    originalPredictions: predictions,
  });
  return { result, split, predictions, stepsPerEpoch: Math.ceil(split.retain.length / 32) };
}

test('a run stops after one pass over D_f when every example starts below its target', () => {
  // Targets far above any confidence: nothing to forget, so one pass over D_f (40 / 8 = 5 steps).
  const { result } = runCalibrated({ targetOffset: 1000, epochs: 3 });
  assert.equal(result.history.steps.length, 5);
  result.model.dispose();
});

test('a run does not stop before its examples reach their targets', () => {
  // Targets out of reach: the run trains every step of every epoch.
  const { result, stepsPerEpoch } = runCalibrated({ targetOffset: -20, epochs: 2, lr: 1e-5 });
  assert.equal(result.history.steps.length, 2 * stepsPerEpoch);
  result.model.dispose();
});

test("when it stops, D_f sits at the original's held-out targets", () => {
  // The textures are not memorized (forget examples look like val ones), so nothing but the
  // forget term may move them: without the retain and held-out terms their targets are reachable.
  const fixed: Partial<SrflCalibratedOptions> = {
    epochs: 20,
    retainWeight: 0,
    heldOutWeight: 0,
    heldOut: 'original',
  };
  const { result, predictions, stepsPerEpoch } = runCalibrated(fixed);
  const steps = result.history.steps.length;
  assert.ok(steps < 20 * stepsPerEpoch, `stopped early (${steps} steps)`);
  const c = 4;
  const f = predictions.forget;
  const targets = calibrationTargets(
    logitConfidence(f.logits, f.labels, c),
    logitConfidence(predictions.val!.logits, predictions.val!.labels, c),
  );
  const teacherAbove = stillRemembered(logitConfidence(f.logits, f.labels, c), targets);
  const finalAbove = stillRemembered(
    logitConfidence(result.final.forget.logits, result.final.forget.labels, c),
    targets,
  );
  const frac = (m: Float32Array): number => m.reduce((a, b) => a + b, 0) / m.length;
  assert.ok(frac(teacherAbove) > 0.5, `the memorized original is above most targets`);
  assert.ok(frac(finalAbove) <= 0.05, `at most 5% above target (${frac(finalAbove)})`);
  result.model.dispose();
});

test('the held-out term keeps val predictions nearer the original', () => {
  // Mean |Δφ| on val between the unlearned model and the original, with and without the term.
  const drift = (heldOutWeight: number): number => {
    const { result, predictions } = runCalibrated({ epochs: 3, heldOutWeight });
    const v = predictions.val!;
    const before = logitConfidence(v.logits, v.labels, 4);
    const after = logitConfidence(result.final.val!.logits, result.final.val!.labels, 4);
    result.model.dispose();
    return before.reduce((a, b, i) => a + Math.abs(b - after[i]), 0) / before.length;
  };
  const without = drift(0);
  const withTerm = drift(1);
  assert.ok(withTerm < 0.9 * without, `val drift ${withTerm} against ${without} without the term`);
});

test('targets re-read from the student, with the held-out term: frozen parts keep their bits; seeded', () => {
  const studentHeldOut: Partial<SrflCalibratedOptions> = {
    epochs: 3,
    heldOut: 'student',
    heldOutWeight: 1,
  };
  const p = problem();
  const before = memory().tensors;
  const { result } = runCalibrated(studentHeldOut);
  // Only layer1 and layer2 train (sRFL's choice); everything else keeps its bits.
  const original = paramBits(p.original);
  const after = paramBits(result.model);
  for (const [name, bitsBefore] of original) {
    const same = bitsBefore.every((v, i) => v === after.get(name)![i]);
    if (name.startsWith('layer1.') || name.startsWith('layer2.')) continue;
    assert.ok(same, `${name} is frozen`);
  }
  assert.ok(
    [...original].some(
      ([n, b]) => n.startsWith('layer') && !b.every((v, i) => v === after.get(n)![i]),
    ),
  );

  const again = runCalibrated(studentHeldOut);
  assert.deepEqual(paramBits(again.result.model), after);
  const other = runCalibrated(studentHeldOut, 1);
  assert.notDeepEqual(paramBits(other.result.model), after);
  for (const r of [result, again.result, other.result]) r.model.dispose();
  assert.equal(memory().tensors, before, 'no tensor leaked');
});

test('a forgotten class ends misclassified, the classes kept stay', () => {
  const { result, predictions } = runCalibrated({ epochs: 2 }, 0, 'class:1');
  const accuracy = (p: { logits: Float32Array; labels: Int32Array }): number =>
    Array.from(p.labels).filter((y, i) => {
      const row = Array.from(p.logits.subarray(i * 4, (i + 1) * 4));
      return row.indexOf(Math.max(...row)) === y;
    }).length / p.labels.length;
  assert.ok(accuracy(predictions.forget) > 0.9, 'the original knows the class');
  assert.ok(accuracy(result.final.forget) < 0.05, `forget ${accuracy(result.final.forget)}`);
  assert.ok(accuracy(result.final.retain) > accuracy(predictions.retain) - 0.05);
  result.model.dispose();
});

test('options are checked before any work', () => {
  const m = getMethod('srfl-calibrated');
  for (const bad of [
    { heldOut: 'teacher' },
    { heldOutSample: 0 },
    { heldOutWeight: -1 },
    { classForgetWeight: Number.NaN },
  ])
    assert.throws(() => m.validate!(resolveOptions(m, bad) as SrflCalibratedOptions, 4), {
      name: 'OptionError',
      message: new RegExp(Object.keys(bad)[0]),
    });
});
