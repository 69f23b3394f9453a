/**
 * A tiny end-to-end audit (synthetic 10×10 images, 4 shadows, 1-epoch runs): the plan's layout,
 * each shadow's sample of the pool, the audit files, and the same numbers through the serial
 * executor and through 2 local processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { readSplit } from '../src/data/split.js';
import { readConfig } from '../src/run/rundir.js';
import { readPlan } from '../src/run/index.js';
import { lethe as cli } from './cli-helpers.js';
import { writeTinyScenario } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-audit-'));
const dataDir = join(root, 'data');
const scenario = join(root, 'tiny.json');
const repo = resolve(import.meta.dirname, '..');

function audit(out: string, ...more: string[]): string[] {
  return [
    'audit',
    '--scenario',
    scenario,
    '--methods',
    'finetune',
    '--shadows',
    '4',
    '--threads',
    '1',
    '--opt',
    'finetune.epochs=1',
    '--out',
    out,
    ...more,
  ];
}

/** What must not depend on where the audit ran: everything but times and how it ran. */
function result(out: string): unknown {
  const a = JSON.parse(readFileSync(join(out, 'audit.json'), 'utf8'));
  delete a.runSeconds;
  delete a.wallSeconds;
  delete a.ranWith;
  return { audit: a, examples: JSON.parse(readFileSync(join(out, 'examples.json'), 'utf8')) };
}

let serial: unknown;

before(() => {
  writeTinyScenario(scenario, dataDir, { train: 200, test: 80, epochs: 1, forget: 'random:20' });
  process.env.LETHE_COMMAND = JSON.stringify([
    process.execPath,
    '--import',
    import.meta.resolve('tsx'),
    join(repo, 'test', 'lethe-bin.ts'),
  ]);
});

test('serial: shadows on their own samples, the audit files, the floor and the method', async () => {
  process.env.LETHE_CACHE_DIR = join(root, 'cache-serial');
  const out = join(root, 'serial');
  const r = await cli(...audit(out));
  assert.equal(r.code, 0, r.err);
  const plan = readPlan(join(out, 'plan'));
  assert.equal(plan.kind, 'audit');
  // Shadows in pairs: the pair's originals, then its oracles, then its methods.
  assert.deepEqual(
    plan.jobs.map((j) => j.id.replace(/\/seed-\d+$/, '')),
    [0, 2].flatMap((k) =>
      ['original', 'retrain', 'finetune'].flatMap((s) => [
        `shadow-${k}/${s}`,
        `shadow-${k + 1}/${s}`,
      ]),
    ),
  );
  // 40 audited examples (twice the forget count), each forgotten by 2 of the 4 shadows; shadow k
  // trains on the pool less the audited examples it does not forget.
  const auditSet = (plan.audit as { auditSet: number[] }).auditSet;
  assert.equal(auditSet.length, 40);
  let forgotten = 0;
  for (let k = 0; k < 4; k++) {
    const dir = join(out, `shadow-${k}`);
    const excluded: number[] = JSON.parse(readFileSync(join(dir, 'excluded.json'), 'utf8'));
    const config = readConfig(join(dir, 'original'));
    assert.equal(config.data, `mnist:${dataDir},exclude=${join(dir, 'excluded.json')}`);
    assert.equal(config.seed, k);
    const split = readSplit(dir);
    assert.equal(split.trainSize, 200 - excluded.length);
    assert.equal(split.forget.length + excluded.length, 40);
    forgotten += split.forget.length;
    const retrain = readConfig(join(dir, 'retrain', `seed-${k}`));
    assert.equal(retrain.from, join(dir, 'original'));
  }
  assert.equal(forgotten, 80, 'every audited example is forgotten by exactly 2 shadows');

  const a = JSON.parse(readFileSync(join(out, 'audit.json'), 'utf8'));
  assert.equal(a.attack, 'u-lira');
  assert.equal(a.scenario, 'tiny');
  assert.equal(a.shadows, 4);
  assert.equal(a.targets, 4);
  assert.equal(a.auditSet, 40);
  assert.deepEqual(
    a.entries.map((e: { method: string }) => e.method),
    ['retrain', 'finetune'],
  );
  for (const e of a.entries) {
    assert.ok(e.accuracy.mean >= 0 && e.accuracy.mean <= 1);
    assert.ok(e.accuracy.ci95[0] <= e.accuracy.mean && e.accuracy.mean <= e.accuracy.ci95[1]);
    assert.ok(e.auc >= 0 && e.auc <= 1);
    assert.equal(e.perTarget.length, 4);
  }
  // The method's targets: each (shadow, forgotten example), 2 × 40, scored once unlearned and once
  // retrained.
  assert.deepEqual(a.entries[1].scored, { unlearned: 80, retrained: 80 });
  // The floor's: each retrained model on the examples it forgot and on the others of the set.
  assert.deepEqual(a.entries[0].scored, { unlearned: 80, retrained: 80 });
  assert.ok(a.wallSeconds > 0);
  const examples = JSON.parse(readFileSync(join(out, 'examples.json'), 'utf8'));
  assert.equal(examples.format, 'lethe-audit-examples/1');
  assert.equal(examples.methods.finetune.length, 40);
  const e0 = examples.methods.finetune[0];
  assert.equal(e0.unlearned.n, 2);
  assert.equal(e0.retrained.n, 4);
  assert.ok(auditSet.includes(e0.index));
  assert.match(readFileSync(join(out, 'audit.md'), 'utf8'), /\| finetune \| \d+\.\d \|/);
  serial = result(out);

  // Rerunning finds every run finished and re-scores them to the same numbers.
  const again = await cli(...audit(out));
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.err, /audit: running/);
  assert.deepEqual(result(out), serial);
});

test('local: the same audit in 2 processes gives the same numbers', async () => {
  process.env.LETHE_CACHE_DIR = join(root, 'cache-local');
  const out = join(root, 'local');
  const r = await cli(...audit(out, '--executor', 'local', '--jobs', '2'));
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(result(out), serial);
});

test('bad input is refused before any work', async () => {
  const few = await cli(...audit(join(root, 'few'), '--shadows', '2'));
  assert.equal(few.code, 2);
  assert.match(few.err, /--shadows/);
  const classes = await cli(...audit(join(root, 'classes'), '--forget', 'class:1'));
  assert.equal(classes.code, 2);
  assert.match(
    classes.err,
    /expected a random forget spec \(random:<fraction\|count>\) but received 'class:1'/,
  );
  const big = await cli(...audit(join(root, 'big'), '--audit-size', '500'));
  assert.equal(big.code, 2);
  assert.match(big.err, /--audit-size: expected an integer in 2\.\.200/);
});
