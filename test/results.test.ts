// README's generated tables against the committed result files (issue 22): they agree now, and a
// changed result file makes the check fail until the tables are generated again.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateReadme, parseMarker, renderResult, stale } from '../scripts/results.js';

const repo = join(import.meta.dirname, '..');

test("README's generated tables and every comparison.md agree with results/", () => {
  assert.deepEqual([...stale(repo).keys()], [], "run 'npm run results'");
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  assert.ok((readme.match(/<!-- results:begin /g) ?? []).length >= 4);
});

test('a changed result file fails the check until the tables are generated again', () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-results-'));
  cpSync(join(repo, 'README.md'), join(root, 'README.md'));
  cpSync(join(repo, 'results'), join(root, 'results'), { recursive: true });
  const file = join(root, 'results', 'compare-class3', 'comparison.json');
  const comparison = JSON.parse(readFileSync(file, 'utf8'));
  const srfl = comparison.entries.find((e: { method: string }) => e.method === 'srfl');
  assert.equal(srfl.metrics['accuracy.retain'].mean.toFixed(4), '0.8994');
  srfl.metrics['accuracy.retain'].mean = 0.9123;
  writeFileSync(file, JSON.stringify(comparison));

  const changed = stale(root);
  assert.deepEqual([...changed.keys()].sort(), [
    'README.md',
    join('results', 'compare-class3', 'comparison.md'),
  ]);
  const [had, want] = changed.get('README.md')!;
  // README shows those runs as srfl-tuned (they were made when srfl defaulted to retain weight 3).
  assert.match(had, /^\| srfl-tuned \| 0\.87 ± 0\.03 \| 89\.94 ± 0\.17 \|/m);
  assert.match(want, /^\| srfl-tuned \| 0\.87 ± 0\.03 \| 91\.23 ± 0\.17 \|/m);
  // Only that row changed (its numbers and the verdict read from them).
  const a = had.split('\n');
  const b = want.split('\n');
  assert.equal(a.length, b.length);
  const differing = a.filter((line, i) => line !== b[i]);
  assert.equal(differing.length, 1);
  assert.match(differing[0], /^\| srfl-tuned \| 0\.87 ± 0\.03 \| 89\.94 ± 0\.17 \|/);

  writeFileSync(join(root, 'README.md'), generateReadme(had, root));
  writeFileSync(
    join(root, 'results', 'compare-class3', 'comparison.md'),
    changed.get(join('results', 'compare-class3', 'comparison.md'))![1],
  );
  assert.deepEqual([...stale(root).keys()], []);
});

test('markers: relabelling is shown under the table; mistakes name the marker', () => {
  const labelled = renderResult(
    repo,
    'results/memorized-fmnist/comparison.json',
    new Map([['srfl', 'srfl-tuned']]),
  );
  assert.match(labelled, /^\| srfl-tuned \| 86\.51 ± 0\.98 \|/m);
  assert.doesNotMatch(labelled, /^\| srfl \|/m);
  assert.match(
    labelled,
    /Shown here: `srfl` as `srfl-tuned`; `results\/memorized-fmnist\/comparison\.json` names the runs by the method id they were made under\./,
  );
  // NeurIPS F and score are computed once over all models: no spread.
  assert.match(
    labelled,
    /^\| srfl-calibrated \| .* \| 1\.50 ± 0\.59 \| 0\.0439 \| 0\.0424 \| 17\.3 ± 3\.1 \|/m,
  );

  assert.deepEqual(parseMarker('results/x/comparison.json label a=b,c=d', 'README.md:3'), {
    path: 'results/x/comparison.json',
    labels: new Map([
      ['a', 'b'],
      ['c', 'd'],
    ]),
  });
  assert.throws(() => parseMarker('results/x.json lable a=b', 'README.md:3'), {
    message: "README.md:3: expected 'label <id>=<shown>' after the path but found 'lable a=b'",
  });
  assert.throws(
    () => renderResult(repo, 'results/compare-class3/comparison.json', new Map([['magic', 'x']])),
    {
      message: "results/compare-class3/comparison.json: label magic=…: no method 'magic' in it",
    },
  );
  assert.throws(() => renderResult(repo, 'results/nowhere/comparison.json', new Map()), {
    message: 'results/nowhere/comparison.json: does not exist (named by a results marker)',
  });
  assert.throws(
    () =>
      generateReadme('a\n<!-- results:begin results/compare-class3/comparison.json -->\nb\n', repo),
    {
      message:
        "README.md:2: '<!-- results:begin results/compare-class3/comparison.json -->' has no <!-- results:end -->",
    },
  );
});
