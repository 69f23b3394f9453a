import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatMeanStd,
  metricKeys,
  renderComparisonMarkdown,
  renderComparisonReport,
} from '../src/report/index.js';
import type { Comparison, MeanStd } from '../src/records/metrics.js';
import { OptionError } from '../src/util/errors.js';

const ms = (mean: number, std: number, n = 3): MeanStd => ({ mean, std, n });

const COMPARISON: Comparison = {
  forget: 'random-10%',
  data: 'cifar10',
  model: 'resnet18',
  entries: [
    {
      method: 'finetune',
      seeds: [0, 1, 2],
      metrics: {
        'accuracy.forget': ms(0.95, 0.01),
        'accuracy.retain': ms(0.97, 0.005),
        'accuracy.test': ms(0.86, 0.012),
        'mia.simple': ms(0.6, 0.02),
        'mia.efficacy': ms(0.08, 0.01),
        'gap.avg': ms(0.06, 0.01),
        seconds: ms(30.24, 1.13),
        'neurips.score': ms(0.05, 0.01),
      },
    },
    {
      method: 'retrain',
      seeds: [0, 1, 2],
      metrics: {
        'accuracy.forget': ms(0.87, 0.01),
        'accuracy.retain': ms(1, 0),
        'accuracy.test': ms(0.87, 0.01),
        'mia.simple': ms(0.5, 0.01),
        'mia.efficacy': ms(0.14, 0.01),
        'gap.avg': ms(0, 0),
        seconds: ms(612.4, 12.2),
      },
    },
    {
      method: 'srfl',
      seeds: [0, 1, 2],
      metrics: {
        'accuracy.forget': ms(0.1234, 0.0312),
        'accuracy.retain': ms(0.9, 0.02),
        'accuracy.test': ms(0.8, 0.02),
        'mia.simple': ms(0.83, 0.02),
        'mia.efficacy': ms(0.9, 0.04),
        'gap.avg': ms(0.25, 0.02),
        seconds: ms(4.5, 0.25),
        'neurips.score': ms(0.01, 0.005),
        'custom.thing': ms(1234.5, 2),
      },
    },
  ],
};

function embeddedData(html: string): {
  kind: string;
  comparison: Comparison;
  oracleMethod: string | null;
} {
  const m = /<script type="application\/json" id="lethe-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the report has a lethe-data block');
  return JSON.parse(m[1]);
}

/** The table row of one method, tags stripped. */
function row(html: string, method: string): string {
  const m = new RegExp(`<tr[^>]*data-method="${method}"[^>]*>([\\s\\S]*?)</tr>`).exec(html);
  assert.ok(m, `a row for ${method}`);
  return m[1]
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

test('the table shows every metric as formatted mean ± std per method', () => {
  const html = renderComparisonReport({ comparison: COMPARISON });
  assert.equal(
    row(html, 'srfl'),
    'srfl 3 12.34 ± 3.12 90.00 ± 2.00 80.00 ± 2.00 83.00 ± 2.00 90.00 ± 4.00 25.00 ± 2.00 0.0100 4.50 ± 0.25 1234.5 ± 2.0',
  );
  assert.equal(
    row(html, 'finetune'),
    'finetune 3 95.00 ± 1.00 97.00 ± 0.50 86.00 ± 1.20 60.00 ± 2.00 8.00 ± 1.00 6.00 ± 1.00 0.0500 30.2 ± 1.1 —',
  );
  assert.equal(
    row(html, 'retrain'),
    'retrain (oracle) 3 87.00 ± 1.00 100.00 ± 0.00 87.00 ± 1.00 50.00 ± 1.00 14.00 ± 1.00 0.00 ± 0.00 — 612 ± 12 —',
  );
  // Headers name each metric with its unit, in a fixed order.
  const headers = [...html.matchAll(/<th class="num" data-key="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(headers, [
    'accuracy.forget',
    'accuracy.retain',
    'accuracy.test',
    'mia.simple',
    'mia.efficacy',
    'gap.avg',
    'neurips.score',
    'seconds',
    'custom.thing',
  ]);
  assert.match(html, /Forget acc\. <span class="muted">\(%\)<\/span>/);
  assert.match(html, /Time <span class="muted">\(s\)<\/span>/);
});

test('the oracle row comes first and the best other method per column is bold', () => {
  const html = renderComparisonReport({ comparison: COMPARISON });
  const order = [...html.matchAll(/data-method="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(order, ['retrain', 'finetune', 'srfl']);
  assert.match(html, /<tr class="oracle" data-method="retrain">/);
  const best = (key: string): string => {
    const rows = [...html.matchAll(/<tr[^>]*data-method="([^"]+)"[^>]*>([\s\S]*?)<\/tr>/g)];
    const hit = rows.filter((r) =>
      new RegExp(`class="num best" data-key="${key.replace('.', '\\.')}"`).test(r[2]),
    );
    assert.equal(hit.length, 1, `one best for ${key}`);
    return hit[0][1];
  };
  assert.equal(best('accuracy.forget'), 'finetune'); // |0.95 − 0.87| < |0.12 − 0.87|
  assert.equal(best('mia.simple'), 'finetune'); // closest to the oracle's 0.5
  assert.equal(best('gap.avg'), 'finetune'); // lowest
  assert.equal(best('seconds'), 'srfl'); // fastest
  assert.equal(best('neurips.score'), 'finetune'); // highest
});

test('the comparison is embedded as JSON and every chart has a canvas', () => {
  const html = renderComparisonReport({ comparison: COMPARISON });
  const data = embeddedData(html);
  assert.equal(data.kind, 'comparison');
  assert.equal(data.oracleMethod, 'retrain');
  assert.deepEqual(data.comparison, COMPARISON);
  for (const id of ['chart-accuracy', 'chart-mia', 'chart-gap', 'chart-time']) {
    assert.match(html, new RegExp(`<canvas id="${id}"`));
  }
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.match(html, /<title>Lethe comparison: cifar10 \/ resnet18 \/ random-10%<\/title>/);
});

test('a named oracle, a missing oracle, and charts only for metrics present', () => {
  const onlyAcc: Comparison = {
    ...COMPARISON,
    entries: COMPARISON.entries.map((e) => ({
      ...e,
      metrics: { 'accuracy.forget': e.metrics['accuracy.forget'] },
    })),
  };
  const named = renderComparisonReport({ comparison: onlyAcc, oracleMethod: 'finetune' });
  assert.match(named, /<tr class="oracle" data-method="finetune">/);
  assert.match(named, /<canvas id="chart-accuracy"/);
  assert.doesNotMatch(named, /<canvas id="chart-(mia|gap|time)"/);
  const none = renderComparisonReport({ comparison: onlyAcc, oracleMethod: 'oracle' });
  assert.doesNotMatch(none, /<tr class="oracle"/);
  assert.match(none, /No retrain oracle \(<code>oracle<\/code>\) in this comparison/);
  assert.equal(embeddedData(none).oracleMethod, null);
});

test('method names and metric keys are escaped', () => {
  const evil: Comparison = {
    forget: '</script>',
    data: 'd',
    model: 'm',
    entries: [{ method: '<b>x</b>', seeds: [0], metrics: { '<k>': ms(1, 0) } }],
  };
  const html = renderComparisonReport({ comparison: evil });
  assert.equal(html.match(/<\/script>/g)?.length, 3);
  assert.ok(html.includes('<code>&lt;b&gt;x&lt;/b&gt;</code>'));
  assert.ok(!html.includes('<b>x</b>'));
  assert.deepEqual(embeddedData(html).comparison, evil);
});

test('formatMeanStd scales by metric kind', () => {
  assert.equal(formatMeanStd('accuracy.test', ms(0.87654, 0.01234)), '87.65 ± 1.23');
  assert.equal(formatMeanStd('timeRatio', ms(0.075, 0.005)), '7.50 ± 0.50');
  assert.equal(formatMeanStd('seconds', ms(3.214, 0.1)), '3.21 ± 0.10');
  assert.equal(formatMeanStd('seconds', ms(45.67, 1.26)), '45.7 ± 1.3');
  assert.equal(formatMeanStd('seconds', ms(1234.4, 20.6)), '1234 ± 21');
  assert.equal(
    formatMeanStd('neurips.forgettingQuality', ms(0.12345, 0.01)),
    '0.1235',
    'computed once: no spread',
  );
  assert.equal(formatMeanStd('accuracy.forget', ms(0.5, NaN, 1)), '50.00');
  assert.equal(formatMeanStd('gap.avg', ms(-0.01, 0)), '−1.00 ± 0.00');
});

test('metricKeys orders known metrics first, then the rest alphabetically', () => {
  const c: Comparison = {
    ...COMPARISON,
    entries: [
      {
        method: 'a',
        seeds: [],
        metrics: { zeta: ms(0, 0), seconds: ms(1, 0), alpha: ms(0, 0), 'accuracy.test': ms(1, 0) },
      },
    ],
  };
  assert.deepEqual(metricKeys(c), ['accuracy.test', 'seconds', 'alpha', 'zeta']);
});

test('bad input is rejected with an exact message', () => {
  assert.throws(
    () =>
      renderComparisonReport({
        comparison: { forget: '', data: '', model: '' } as unknown as Comparison,
      }),
    (e: unknown) =>
      e instanceof OptionError &&
      e.message === 'Expected an array for comparison.entries but received undefined',
  );
  assert.throws(
    () =>
      renderComparisonReport({ comparison: { ...COMPARISON, entries: [{ method: 3 } as never] } }),
    { message: 'Expected a string for comparison.entries[0].method but received number' },
  );
});

test('the Markdown table has one row per method and only the columns some method has', () => {
  const md = renderComparisonMarkdown(COMPARISON);
  const lines = md.trim().split('\n');
  assert.equal(lines[0], 'Forget random-10% on cifar10 (resnet18); mean ± std over seeds 0, 1, 2.');
  assert.equal(
    lines[2],
    '| method | Forget acc. (%) | Retain acc. (%) | Test acc. (%) | Simple MIA (%) | MIA-efficacy (%) | Avg Gap (%) | NeurIPS score | Time (s) |',
  );
  assert.equal(lines[3], '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  assert.equal(
    lines[6],
    '| srfl | 12.34 ± 3.12 | 90.00 ± 2.00 | 80.00 ± 2.00 | 83.00 ± 2.00 | 90.00 ± 4.00 | 25.00 ± 2.00 | 0.0100 | 4.50 ± 0.25 |',
  );
  assert.match(lines[5], /^\| retrain \| 87\.00 ± 1\.00 .* \| – \| 612 ± 12 \|$/);
  assert.equal(lines.length, 7);
});
