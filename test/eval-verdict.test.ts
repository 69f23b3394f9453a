import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgotLikeRetraining, judge, VERDICT_MARGINS } from '../src/eval/verdict.js';
import { entryVerdict } from '../src/run/compare.js';
import { renderComparisonMarkdown } from '../src/report/comparison-markdown.js';
import { unlearningVerdict } from '../src/report/analysis.js';
import type { ComparisonEntry, RunMetrics } from '../src/records/metrics.js';

// The retrain oracle of the seed's scenario, roughly: forget 89%, retain 100%, test 88%, MIA-eff 26%.
const oracle = { accuracy: { forget: 0.89, retain: 1, test: 0.88 }, miaEfficacy: 0.26 };

test('the verdict rule names every outcome, combined where several hold', () => {
  const like = judge({
    accuracy: { forget: 0.9, retain: 0.985, test: 0.865 },
    miaEfficacy: 0.27,
    oracle,
  });
  assert.deepEqual(like.outcomes, ['forgot-like-retraining']);
  assert.equal(like.label, 'forgot like retraining');
  assert.deepEqual(like.findings, []);
  assert.ok(forgotLikeRetraining(like));

  // Finetune on a memorized model: forget stays at 99.8%, the attack calls 5% of D_f non-member.
  const under = judge({
    accuracy: { forget: 0.998, retain: 1, test: 0.878 },
    miaEfficacy: 0.05,
    oracle,
  });
  assert.deepEqual(under.outcomes, ['under-forgot']);
  assert.equal(under.label, 'under-forgot (forget acc. +10.8 pts, MIA-efficacy −21.0 pts)');

  const over = judge({
    accuracy: { forget: 0.5, retain: 0.99, test: 0.87 },
    miaEfficacy: 0.6,
    oracle,
  });
  assert.deepEqual(over.outcomes, ['over-forgot']);
  assert.equal(over.label, 'over-forgot (forget acc. −39.0 pts, MIA-efficacy +34.0 pts)');

  // The issue's case: forget accuracy right at the oracle's, everything else fell.
  const damaged = judge({
    accuracy: { forget: 0.882, retain: 0.883, test: 0.794 },
    miaEfficacy: 0.43,
    oracle,
  });
  assert.deepEqual(damaged.outcomes, ['damaged-the-model', 'over-forgot']);
  assert.equal(
    damaged.label,
    'damaged the model (retain acc. −11.7 pts, test acc. −8.6 pts), over-forgot (MIA-efficacy +17.0 pts)',
  );
  assert.ok(!forgotLikeRetraining(damaged));
  // Damage alone, with the attack matched.
  const onlyDamage = judge({
    accuracy: { forget: 0.88, retain: 0.95, test: 0.86 },
    miaEfficacy: 0.26,
    oracle,
  });
  assert.deepEqual(onlyDamage.outcomes, ['damaged-the-model']);
  assert.deepEqual(
    onlyDamage.findings.map((f) => f.measure),
    ['retain'],
  );

  // Under by one measure and over by the other: both are said.
  const mixed = judge({
    accuracy: { forget: 0.95, retain: 1, test: 0.88 },
    miaEfficacy: 0.4,
    oracle,
  });
  assert.deepEqual(mixed.outcomes, ['over-forgot', 'under-forgot']);
  assert.equal(
    mixed.label,
    'over-forgot (MIA-efficacy +14.0 pts), under-forgot (forget acc. +6.0 pts)',
  );
});

test('the margins are the edges: 3 points of accuracy, 5 of MIA-efficacy', () => {
  assert.deepEqual({ ...VERDICT_MARGINS }, { forget: 0.03, mia: 0.05, damage: 0.03 });
  const at = (retain: number, forget: number, mia: number) =>
    judge({ accuracy: { forget, retain, test: 0.88 }, miaEfficacy: mia, oracle }).outcomes;
  assert.deepEqual(at(0.971, 0.861, 0.309), ['forgot-like-retraining']);
  assert.deepEqual(at(0.969, 0.89, 0.26), ['damaged-the-model']);
  assert.deepEqual(at(1, 0.859, 0.26), ['over-forgot']);
  assert.deepEqual(at(1, 0.921, 0.26), ['under-forgot']);
  assert.deepEqual(at(1, 0.89, 0.311), ['over-forgot']);
  assert.deepEqual(at(1, 0.89, 0.209), ['under-forgot']);
  // Without MIA the rule reads accuracies alone.
  assert.deepEqual(
    judge({
      accuracy: { forget: 0.89, retain: 1, test: 0.88 },
      oracle: { accuracy: oracle.accuracy },
    }).outcomes,
    ['forgot-like-retraining'],
  );
});

function metricsOf(accuracy: RunMetrics['accuracy'], efficacy: number): RunMetrics {
  const o = {
    accuracy: oracle.accuracy,
    mia: { simple: 0.5, efficacy: oracle.miaEfficacy },
    seconds: 90,
    run: 'r',
  };
  const m: RunMetrics = {
    method: 'srfl',
    accuracy,
    seconds: 7,
    history: { epochs: [], steps: [] },
    mia: { simple: 0.52, efficacy },
    gap: { forget: 0.008, retain: 0.117, test: 0.086, mia: 0.17, avg: 0.095 },
    oracle: o,
  };
  m.verdict = judge({ accuracy, miaEfficacy: efficacy, oracle });
  return m;
}

test('the report headline never calls a damaged model close to retraining', () => {
  const damaged = metricsOf({ forget: 0.882, retain: 0.883, test: 0.794 }, 0.43);
  const text = unlearningVerdict(damaged, oracle.accuracy)!;
  assert.doesNotMatch(text, /close to retraining/i);
  assert.match(
    text,
    /^Damaged the model: retain accuracy 88\.3% is 11\.70 pp below the retrain oracle's \(100\.0%\) and test accuracy 79\.4% is 8\.60 pp below the retrain oracle's \(88\.0%\); forget accuracy 88\.2% sits near the oracle's \(89\.0%\), but because the model lost accuracy everywhere/,
  );
  assert.match(text, /MIA-efficacy 43\.0% against the oracle's 26\.0% says it over-forgot/);
  // Forget close and MIA-efficacy off: not "close to retraining" either.
  const miaOff = metricsOf({ forget: 0.9, retain: 0.99, test: 0.87 }, 0.4);
  assert.match(
    unlearningVerdict(miaOff, oracle.accuracy)!,
    /^Forget accuracy 90\.0% is close to .*, but MIA-efficacy 40\.0% against the oracle's 26\.0% says it over-forgot/,
  );
  // Only a run that the rule calls like retraining is.
  const fine = metricsOf({ forget: 0.9, retain: 0.99, test: 0.87 }, 0.27);
  assert.match(
    unlearningVerdict(fine, oracle.accuracy)!,
    /^Close to retraining on forget accuracy/,
  );
});

test('a comparison judges each method on its means and the table says so', () => {
  const entry = (method: string, f: number, r: number, t: number, e: number): ComparisonEntry => ({
    method,
    seeds: [0, 1],
    metrics: {
      'accuracy.forget': { mean: f, std: 0.01, n: 2 },
      'accuracy.retain': { mean: r, std: 0.01, n: 2 },
      'accuracy.test': { mean: t, std: 0.01, n: 2 },
      'mia.efficacy': { mean: e, std: 0.01, n: 2 },
    },
  });
  const retrain = entry('retrain', 0.89, 1, 0.88, 0.26);
  const srfl = entry('srfl', 0.865, 0.88, 0.783, 0.429);
  srfl.verdict = entryVerdict(srfl, retrain);
  assert.deepEqual(srfl.verdict!.outcomes, ['damaged-the-model', 'over-forgot']);
  const calibrated = entry('srfl-calibrated', 0.9, 0.981, 0.863, 0.244);
  calibrated.verdict = entryVerdict(calibrated, retrain);
  assert.deepEqual(calibrated.verdict!.outcomes, ['forgot-like-retraining']);
  const md = renderComparisonMarkdown({
    forget: 'random:0.1',
    data: 'd',
    model: 'm',
    entries: [retrain, srfl, calibrated],
  });
  assert.match(md, /\| verdict \(means vs the oracle\) \|/);
  assert.match(md, /\| retrain \|.*\| the target \|/);
  assert.match(
    md,
    /\| srfl \|.*\| damaged the model \(retain acc\. −12\.0 pts, test acc\. −9\.7 pts\), over-forgot \(MIA-efficacy \+16\.9 pts\) \|/,
  );
  assert.match(md, /\| srfl-calibrated \|.*\| forgot like retraining \|/);
});
