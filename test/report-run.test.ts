import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  findAccuracyDisagreements,
  movingAverage,
  renderRunReport,
  unlearningVerdict,
  type RunReportData,
} from '../src/report/index.js';
import type { RunMetrics, StepRecord } from '../src/records/metrics.js';
import { OptionError } from '../src/util/errors.js';

const CIFAR10 = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** `n` steps with constant facc/racc, so tail means are known exactly. */
function flatSteps(n: number, facc: number, racc: number, from = 1): StepRecord[] {
  return Array.from({ length: n }, (_, i) => ({ step: from + i, facc, racc, loss: 1 - i / n }));
}

/**
 * Shaped like the seed's run: over the last 10 of 100 steps facc = 0.1 (chance) and racc = 0.9,
 * while eval-mode forget accuracy on the full set stays at 0.78.
 */
function seedLikeRun(overrides: Partial<RunMetrics> = {}): RunMetrics {
  return {
    method: 'srfl',
    accuracy: { forget: 0.78, retain: 0.86, test: 0.74 },
    original: { forget: 0.99, retain: 0.995, test: 0.88 },
    perClass: {
      test: [0.61, 0.72, 0.53, 0.44, 0.65, 0.56, 0.87, 0.78, 0.89, 0.9],
      forget: [0.7, 0.8, 0.6, 0.5, 0.7, 0.6, 0.9, 0.8, 0.9, null],
      originalTest: [0.9, 0.95, 0.8, 0.7, 0.88, 0.8, 0.93, 0.92, 0.95, 0.94],
      originalForget: [1, 1, 0.99, 0.98, 1, 0.99, 1, 1, 1, null],
    },
    seconds: 42.5,
    history: {
      steps: [...flatSteps(90, 0.9, 0.6), ...flatSteps(10, 0.1, 0.9, 91)],
      epochs: [
        { epoch: 0, forget: 0.99, retain: 0.995, test: 0.88 },
        { epoch: 1, forget: 0.81, retain: 0.88, test: 0.75 },
        { epoch: 2, forget: 0.78, retain: 0.86, test: 0.74 },
      ],
    },
    ...overrides,
  };
}

const CONFIG = {
  method: 'srfl',
  lr: 0.01,
  trainable: ['layer1.', 'layer2.'],
  optimizer: { momentum: 0.9 },
};

function embeddedData(html: string): RunReportData {
  const m = /<script type="application\/json" id="lethe-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the report has a lethe-data block');
  return JSON.parse(m[1]) as RunReportData;
}

/** Text of the element with this id (up to the next element with an id is enough here), tags stripped. */
function section(html: string, id: string): string | undefined {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) return undefined;
  const end = html.indexOf('</section>', start);
  return html
    .slice(start, end < 0 ? undefined : end)
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

test('the embedded JSON holds the step and epoch curves and the per-class values', () => {
  const metrics = seedLikeRun();
  const html = renderRunReport({ metrics, config: CONFIG, classNames: CIFAR10 });
  const data = embeddedData(html);
  assert.equal(data.kind, 'run');
  assert.deepEqual(data.metrics.history.steps, metrics.history.steps);
  assert.deepEqual(data.metrics.history.epochs, metrics.history.epochs);
  assert.deepEqual(data.metrics.perClass, metrics.perClass);
  assert.deepEqual(data.classNames, CIFAR10);
  assert.deepEqual(data.config, CONFIG);
  for (const id of ['chart-steps', 'chart-loss', 'chart-epochs', 'chart-per-class']) {
    assert.match(html, new RegExp(`<canvas id="${id}"`));
  }
});

test('Chart.js is inlined and nothing is loaded from the network', () => {
  const html = renderRunReport({ metrics: seedLikeRun(), config: CONFIG });
  const bundlePath = join(
    dirname(createRequire(import.meta.url).resolve('chart.js')),
    'chart.umd.js',
  );
  const bundle = readFileSync(bundlePath, 'utf8');
  // A long run of the minified bundle appears verbatim.
  assert.ok(html.includes(bundle.slice(2000, 4000)), 'the Chart.js UMD bundle is inlined');
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /url\(\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/i);
  assert.doesNotMatch(html, /sourceMappingURL/);
  // The only http(s) URLs are those in Chart.js's own licence comment.
  const urls = new Set(html.match(/https?:\/\/[^\s"'<>)]+/g) ?? []);
  const bundleUrls = new Set(bundle.match(/https?:\/\/[^\s"'<>)]+/g) ?? []);
  for (const u of urls) assert.ok(bundleUrls.has(u), `unexpected URL ${u}`);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.equal(html.match(/<script\b/g)?.length, 3);
  assert.equal(html.match(/<\/script>/g)?.length, 3);
});

test('the headline shows eval-mode accuracies next to the original model with deltas', () => {
  const text = section(renderRunReport({ metrics: seedLikeRun(), config: {} }), 'accuracy')!;
  assert.match(text, /78\.00%/);
  assert.match(text, /original 99\.00%/);
  assert.match(text, /−21\.00 pp/);
  assert.match(text, /86\.00%.*original 99\.50%.*−13\.50 pp/);
  assert.match(text, /74\.00%.*original 88\.00%.*−14\.00 pp/);
});

test('a disagreement callout appears when training-batch facc and eval-mode forget accuracy differ', () => {
  const html = renderRunReport({ metrics: seedLikeRun(), config: {} });
  assert.match(html, /id="disagreement"/);
  const text = section(html, 'accuracy')!;
  assert.match(text, /Training-batch accuracy and eval-mode accuracy disagree/);
  assert.match(text, /last 10 steps/);
  assert.match(text, /\(\s*facc\s*\) was 10\.0%, 68\.00 pp below/);
  assert.match(text, /train mode/);
  assert.match(text, /trust the eval-mode forget accuracy/);
});

test('no disagreement callout when the two kinds of accuracy agree', () => {
  const metrics = seedLikeRun({
    history: { steps: [...flatSteps(90, 0.9, 0.6), ...flatSteps(10, 0.6, 0.8, 91)], epochs: [] },
  });
  const html = renderRunReport({ metrics, config: {} });
  assert.doesNotMatch(html, /id="disagreement"/);
  assert.doesNotMatch(html, /disagree\./);
  // Nor without any per-step history.
  const none = renderRunReport({
    metrics: seedLikeRun({ history: { steps: [], epochs: [] } }),
    config: {},
  });
  assert.doesNotMatch(none, /id="disagreement"/);
  assert.match(none, /No per-step history was recorded/);
  assert.match(none, /No per-epoch evaluation was recorded/);
});

test('findAccuracyDisagreements averages the last 10% of steps and uses a 0.2 threshold', () => {
  const at = (tailFacc: number, tailRacc = 0.86): RunMetrics =>
    seedLikeRun({
      history: {
        steps: [...flatSteps(90, 0, 0), ...flatSteps(10, tailFacc, tailRacc, 91)],
        epochs: [],
      },
    });
  assert.deepEqual(findAccuracyDisagreements(at(0.59)), []); // 0.19 below
  assert.deepEqual(findAccuracyDisagreements(at(0.97)), []); // 0.19 above
  const below = findAccuracyDisagreements(at(0.57));
  assert.equal(below.length, 1);
  assert.equal(below[0].set, 'forget');
  assert.equal(below[0].tailSteps, 10);
  assert.ok(Math.abs(below[0].difference - -0.21) < 1e-12);
  const retain = findAccuracyDisagreements(at(0.78, 0.5));
  assert.deepEqual(
    retain.map((d) => [d.set, d.trainBatchMean, d.evalAccuracy]),
    [['retain', 0.5, 0.86]],
  );
  // 5 steps: the tail is ceil(0.5) = 1 step.
  const short = seedLikeRun({
    history: { steps: [...flatSteps(4, 0.78, 0.86), ...flatSteps(1, 0, 0.86, 5)], epochs: [] },
  });
  assert.equal(findAccuracyDisagreements(short)[0].tailSteps, 1);
});

test('a </script> in a config string is escaped in the JSON block and in the table', () => {
  const evil = '</script><script>alert(1)</script><!--';
  const html = renderRunReport({
    metrics: seedLikeRun(),
    config: { note: evil, nested: { x: evil } },
  });
  assert.equal(html.match(/<\/script>/g)?.length, 3, 'only the three real script blocks close');
  assert.ok(!html.includes('<script>alert(1)'));
  assert.ok(html.includes('\\u003c/script>'));
  const data = embeddedData(html);
  assert.equal(data.config.note, evil);
  assert.deepEqual(data.config.nested, { x: evil });
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)'));
  assert.match(html, /<code>nested\.x<\/code>/);
});

test('the settings table flattens nested config and shows arrays as JSON', () => {
  const text = section(renderRunReport({ metrics: seedLikeRun(), config: CONFIG }), 'settings')!;
  assert.match(text, /optimizer\.momentum 0\.9/);
  assert.match(text, /trainable \["layer1\.","layer2\."\]/);
  assert.match(text, /lr 0\.01/);
});

test('large step counts keep every step and add a moving average', () => {
  const n = 5000;
  const steps = Array.from({ length: n }, (_, i) => ({ step: i, facc: i % 2, racc: 0.9, loss: 1 }));
  const html = renderRunReport({
    metrics: seedLikeRun({ history: { steps, epochs: [] } }),
    config: {},
  });
  const data = embeddedData(html);
  assert.equal(data.metrics.history.steps.length, n);
  assert.equal(data.derived.smoothingWindow, 125);
  assert.equal(data.derived.smoothed.facc.length, n);
  assert.equal(data.derived.smoothed.facc[n - 1], 0.504); // 63 odd step numbers among the last 125 (4875…4999)
  // Small runs are drawn raw.
  assert.equal(
    embeddedData(renderRunReport({ metrics: seedLikeRun(), config: {} })).derived.smoothingWindow,
    1,
  );
});

test('movingAverage is a trailing mean that skips non-finite values', () => {
  assert.deepEqual(movingAverage([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5]);
  assert.deepEqual(movingAverage([1, NaN, 3, 5], 2), [1, 1, 3, 4]);
  assert.deepEqual(movingAverage([NaN, NaN, 2], 2), [null, null, 2]);
  assert.deepEqual(movingAverage([4, 8], 1), [4, 8]);
});

test('per-class labels fall back to class ids; no per-class section without perClass', () => {
  const data = embeddedData(renderRunReport({ metrics: seedLikeRun(), config: {} }));
  assert.deepEqual(data.classNames.slice(0, 2), ['class 0', 'class 1']);
  assert.equal(data.classNames.length, 10);
  const html = renderRunReport({ metrics: seedLikeRun({ perClass: undefined }), config: {} });
  assert.doesNotMatch(html, /id="per-class"/);
  assert.doesNotMatch(html, /<canvas id="chart-per-class"/);
});

test('"Did it forget?" appears only with MIA / gap / NeurIPS / time results', () => {
  assert.doesNotMatch(renderRunReport({ metrics: seedLikeRun(), config: {} }), /Did it forget\?/);
  // The seed's over-forgetting case: FA 12% while the oracle keeps ~83% (about its test accuracy).
  const metrics = seedLikeRun({
    accuracy: { forget: 0.12, retain: 0.9, test: 0.8 },
    mia: { simple: 0.83, efficacy: 0.9 },
    gap: { forget: 0.71, retain: 0.1, test: 0.07, mia: 0.76, avg: 0.41 },
    neurips: { n: 4, forgettingQuality: 0.05, score: 0.04, retainRatio: 0.9, testRatio: 0.92 },
    timeRatio: 0.08,
  });
  const text = section(renderRunReport({ metrics, config: {} }), 'did-it-forget')!;
  assert.match(text, /Simple MIA 0\.830 \(ideal ≈ 0\.5\)/);
  assert.match(
    text,
    /logistic regression on the per-sample cross-entropy loss, D_f \(member\) against test/,
  );
  assert.match(text, /MIA-efficacy 90\.0% of D_f predicted non-member/);
  assert.match(text, /confidence feature/);
  assert.match(text, /Avg Gap 41\.00%/);
  assert.match(text, /Forgetting quality F 0\.0500/);
  assert.match(text, /Score 0\.0400/);
  assert.match(text, /Of retrain time 8\.0%/);
  assert.match(
    text,
    /Over-forgetting: forget accuracy 12\.0% is 71\.00 pp below the retrain oracle's \(≈83\.0%\)/,
  );
  assert.match(text, /detectable \(simple MIA 0\.830, ideal ≈ 0\.5\)/);
});

test('unlearningVerdict reads the side of the forget gap', () => {
  const base = seedLikeRun({ accuracy: { forget: 0.95, retain: 0.99, test: 0.86 } });
  // With the oracle's accuracies the side is exact.
  const under = unlearningVerdict(
    {
      ...base,
      gap: { forget: 0.08, retain: 0.01, test: 0.01, mia: 0.05, avg: 0.0375 },
      mia: { simple: 0.52, efficacy: 0.05 },
    },
    { forget: 0.87, retain: 1, test: 0.87 },
  )!;
  assert.match(
    under,
    /^Under-forgetting: forget accuracy 95\.0% is 8\.00 pp above the retrain oracle's \(87\.0%\)/,
  );
  assert.match(under, /\(simple MIA 0\.520, ideal ≈ 0\.5\); Avg Gap 3\.75%\.$/);
  // Close to the oracle, attack at chance.
  const close = unlearningVerdict({
    ...base,
    gap: { forget: 0.02, retain: 0, test: 0, mia: 0, avg: 0.005 },
    mia: { simple: 0.51, efficacy: 0.1 },
  })!;
  assert.match(close, /^Close to retraining on forget accuracy/);
  assert.match(close, /near chance \(0\.510\)/);
  // With the oracle's own MIA, the attack is judged against it (a forgotten class differs from
  // test data for the oracle too), not against chance.
  const classCase = unlearningVerdict(
    {
      ...base,
      accuracy: { forget: 0.01, retain: 0.9, test: 0.8 },
      mia: { simple: 0.89, efficacy: 1 },
      oracle: {
        accuracy: { forget: 0, retain: 0.92, test: 0.82 },
        mia: { simple: 0.9, efficacy: 1 },
        seconds: 100,
        run: 'r',
      },
    },
    { forget: 0, retain: 0.92, test: 0.82 },
  )!;
  assert.match(classCase, /scores it like the oracle \(simple MIA 0\.890, retrain oracle 0\.900\)/);
  // Class-wise forgetting: the oracle sits near 0, so a remaining 30% is under-forgetting.
  const classWise = seedLikeRun({
    accuracy: { forget: 0.3, retain: 0.95, test: 0.85 },
    perClass: { test: [0.9, 0.9], forget: [0.3, null] },
    gap: { forget: 0.3, retain: 0, test: 0.05, mia: 0.2, avg: 0.1375 },
  });
  assert.match(unlearningVerdict(classWise)!, /^Under-forgetting: .*\(≈0\.0%\)/);
  // Only an attack, no oracle.
  assert.match(
    unlearningVerdict({ ...base, mia: { simple: 0.7, efficacy: 0.1 } })!,
    /tells D_f from test data/,
  );
  // Nothing to judge by.
  assert.equal(unlearningVerdict(base), undefined);
  // Slow methods are called out against the challenge's cut-off.
  assert.match(
    unlearningVerdict({ ...base, timeRatio: 0.35 })!,
    /35% of retrain time, over the challenge's ~20% cut-off/,
  );
});

test('bad input is rejected with an exact message', () => {
  const noHistory: Partial<RunMetrics> = seedLikeRun();
  delete noHistory.history;
  assert.throws(
    () => renderRunReport({ metrics: noHistory as RunMetrics, config: {} }),
    (e: unknown) =>
      e instanceof OptionError &&
      e.message === 'Expected an object for metrics.history but received undefined',
  );
  assert.throws(
    () =>
      renderRunReport({
        metrics: seedLikeRun({
          accuracy: { forget: '0.1' as unknown as number, retain: 1, test: 1 },
        }),
        config: {},
      }),
    { message: 'Expected a number for metrics.accuracy.forget but received the string "0.1"' },
  );
  assert.throws(
    () =>
      renderRunReport({ metrics: seedLikeRun(), config: [] as unknown as Record<string, unknown> }),
    {
      message: 'Expected an object for config but received an array',
    },
  );
});

test('title, footer version and timestamp', () => {
  const html = renderRunReport({
    metrics: seedLikeRun(),
    config: {},
    title: 'sRFL <on> CIFAR-10',
    generatedAt: new Date('2024-01-02T03:04:05Z'),
  });
  assert.match(html, /<title>sRFL &lt;on&gt; CIFAR-10<\/title>/);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.ok(html.includes(`Generated by Lethe ${pkg.version} on 2024-01-02T03:04:05.000Z`));
});

test('a training run shows its memorization, and warns when it missed its target', () => {
  const memorization = { train: 0.998, test: 0.876, gap: 0.122 };
  const reached = renderRunReport({
    metrics: seedLikeRun({
      memorization: {
        ...memorization,
        target: { minTrainAccuracy: 0.99, minGap: 0.05 },
        reached: true,
      },
    }),
    config: {},
  });
  assert.match(
    reached,
    /Train accuracy 99\.8%, test accuracy 87\.6%: a memorization gap of 12\.2 pp\. The scenario asks for train accuracy ≥ 99\.0% and a gap ≥ 5\.0%\. Target reached\./,
  );
  assert.doesNotMatch(reached, /memorization-warning/);
  const missed = renderRunReport({
    metrics: seedLikeRun({
      memorization: {
        train: 0.93,
        test: 0.91,
        gap: 0.02,
        target: { minTrainAccuracy: 0.99, minGap: 0.05 },
        reached: false,
      },
    }),
    config: {},
  });
  assert.match(missed, /id="memorization-warning"/);
  assert.match(missed, /The original did not reach its scenario's memorization target/);
});

test('the demo report puts the run next to its baselines, each read against the oracle', () => {
  const oracle = {
    accuracy: { forget: 0.876, retain: 0.999, test: 0.882 },
    mia: { simple: 0.5, efficacy: 0.26 },
    seconds: 100,
    run: 'retrain',
  };
  const run = (method: string, forget: number, efficacy: number): RunMetrics =>
    seedLikeRun({
      method,
      accuracy: { forget, retain: 0.99, test: 0.87 },
      mia: { simple: 0.5, efficacy },
      gap: { forget: 0, retain: 0, test: 0, mia: 0, avg: 0.05 },
      oracle,
    });
  const html = renderRunReport({
    metrics: run('srfl', 0.45, 0.8),
    peers: [run('finetune', 0.99, 0.1), run('neggrad+', 0.89, 0.28)],
    config: {},
    oracle: oracle.accuracy,
  });
  assert.match(html, /<h2>Next to the baselines<\/h2>/);
  assert.match(
    html,
    /srfl \(this run\)<\/th>.*<td>over-forgot \(forget acc\. −42\.6 pts, MIA-efficacy \+54\.0 pts\)<\/td>/,
  );
  assert.match(
    html,
    /finetune<\/th>.*<td>under-forgot \(forget acc\. \+11\.4 pts, MIA-efficacy −16\.0 pts\)<\/td>/,
  );
  assert.match(html, /neggrad\+<\/th>.*<td>forgot like retraining<\/td>/);
  // The seed's figure gets the oracle's forget accuracy as its target line.
  const data = JSON.parse(
    /<script type="application\/json" id="lethe-data">(.*?)<\/script>/s.exec(html)![1],
  );
  assert.equal(data.oracle.forget, 0.876);
  assert.match(html, /retrain oracle forget \(target\)/);
});
