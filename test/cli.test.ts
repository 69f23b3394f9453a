import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../src/models/index.js';
import { loadRunPredictions, rewriteRunFiles } from '../src/run/rundir.js';
import { memory } from '../src/tensor/index.js';
import { interruptAt, lethe } from './cli-helpers.js';
import { writeIdx } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-cli-'));
const dataDir = join(root, 'data');
const data = `mnist:${dataDir}`;

test('lethe train → unlearn → report writes complete run directories', async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir);
  writeIdx(dataDir, { train: 160, test: 80 });
  const original = join(root, 'original');
  const t = await lethe(
    'train',
    '--data',
    data,
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--lr',
    '0.05',
    '--seed',
    '3',
    '--out',
    original,
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /trained: .*original/);
  const config = JSON.parse(readFileSync(join(original, 'config.json'), 'utf8'));
  assert.equal(config.seed, 3);
  assert.equal(config.options.epochs, 2);
  assert.ok(config.versions.lethe && config.versions.libtorch && config.versions.node);

  const before = memory().tensors;
  const out = join(root, 'srfl');
  const u = await lethe(
    'unlearn',
    '--from',
    original,
    '--forget',
    'class:1',
    '--method',
    'srfl',
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--opt',
    'lr=0.01',
    '--opt',
    'perSample=true',
    '--seed',
    '3',
    '--out',
    out,
  );
  assert.equal(u.code, 0, u.err);
  assert.equal(memory().tensors, before, 'the CLI frees every tensor it made');
  assert.match(u.err, /srfl \[#+/, 'a progress bar is drawn');
  assert.match(u.err, /batch facc/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.method, 'srfl');
  for (const k of ['forget', 'retain', 'test', 'val'])
    assert.ok(metrics.accuracy[k] >= 0 && metrics.accuracy[k] <= 1, k);
  assert.ok(metrics.seconds > 0);
  assert.equal(metrics.history.epochs.length, 3);
  assert.deepEqual(Object.keys(metrics.history.epochs[0]).sort(), [
    'epoch',
    'forget',
    'retain',
    'test',
  ]);
  assert.deepEqual(Object.keys(metrics.history.steps[0]).sort(), ['facc', 'loss', 'racc', 'step']);
  const runConfig = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(runConfig.options.perSample, true);
  assert.equal(runConfig.options.lr, 0.01);
  assert.equal(runConfig.forget, 'class:1');
  const split = JSON.parse(readFileSync(join(out, 'split.json'), 'utf8'));
  assert.equal(split.forgetSpec, 'class:1');
  const { model, meta } = loadCheckpoint(join(out, 'model.safetensors'));
  assert.equal(meta.architecture, 'resnet20');
  model.dispose();

  // The report is one self-contained page holding the curves' data.
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const json = html.match(
    /<script type="application\/json" id="lethe-data">([\s\S]*?)<\/script>/,
  )![1];
  const embedded = JSON.parse(json);
  assert.equal(embedded.metrics.history.steps.length, metrics.history.steps.length);
  assert.equal(embedded.metrics.history.epochs[2].forget, metrics.history.epochs[2].forget);
  assert.doesNotMatch(html, /<script src=/);

  const again = join(root, 'again.html');
  const r = await lethe('report', out, '--out', again);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(again));
});

test('an interrupted lethe train continues with --resume and ends as an uninterrupted run', async () => {
  const train = (out: string, ...more: string[]) =>
    lethe('train', '--data', data, '--epochs', '3', '--batch-size', '32', '--out', out, ...more);
  const whole = join(root, 'whole');
  assert.equal((await train(whole)).code, 0);
  assert.ok(
    !existsSync(join(whole, 'checkpoint.safetensors')),
    'a finished run keeps no checkpoint',
  );

  const cut = join(root, 'cut');
  interruptAt(/epoch 2\/3/);
  try {
    assert.equal((await train(cut)).code, 1);
  } finally {
    interruptAt(null);
  }
  assert.ok(existsSync(join(cut, 'checkpoint.safetensors')), 'the state after epoch 1 is saved');
  assert.ok(!existsSync(join(cut, 'metrics.json')));

  const refused = await train(cut, '--lr', '0.2', '--resume');
  assert.equal(refused.code, 2);
  assert.match(
    refused.err,
    /checkpoint\.safetensors was saved by a run with options\.lr 0\.1 \(wanted 0\.2\)/,
  );
  const none = await train(join(root, 'never-ran'), '--resume');
  assert.equal(none.code, 2);
  assert.match(none.err, /--resume: .*checkpoint\.safetensors does not exist/);

  const resumed = await train(cut, '--resume');
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resuming after epoch 1 of 3/);
  assert.ok(!existsSync(join(cut, 'checkpoint.safetensors')));
  assert.deepEqual(
    readFileSync(join(cut, 'model.safetensors')),
    readFileSync(join(whole, 'model.safetensors')),
    'the same weights, bit for bit',
  );
  const history = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).history;
  assert.deepEqual(history(cut), history(whole));
});

test('lethe demo trains the original once and reuses it from the cache', async () => {
  process.env.LETHE_CACHE_DIR = join(root, 'cache');
  const first = await lethe(
    'demo',
    '--data',
    data,
    '--forget',
    'class:2',
    '--out',
    join(root, 'demo1'),
    '--opt',
    'batchSize=32',
  );
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /original model: trained/);
  assert.match(first.out, /demo finished/);
  const second = await lethe(
    'demo',
    '--data',
    data,
    '--forget',
    'class:2',
    '--out',
    join(root, 'demo2'),
    '--opt',
    'batchSize=32',
  );
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /original model: reused from the cache/);
  assert.ok(existsSync(join(root, 'demo2', 'srfl', 'report.html')));
  // sRFL's report shows it next to the two baselines, each read against the oracle.
  const report = readFileSync(join(root, 'demo2', 'srfl', 'report.html'), 'utf8');
  assert.match(report, /<h2>Next to the baselines<\/h2>/);
  assert.match(report, /finetune<\/th>/);
  assert.match(report, /neggrad\+<\/th>/);
  assert.match(second.out, /retrain oracle: reused from the cache/);
  assert.match(second.out, /Did it forget\?/);
  const evaluated = JSON.parse(readFileSync(join(root, 'demo2', 'srfl', 'metrics.json'), 'utf8'));
  assert.ok(evaluated.mia.simple >= 0 && evaluated.mia.simple <= 1);
  assert.ok(Number.isFinite(evaluated.gap.avg));
  const quick = await lethe(
    'demo',
    '--data',
    data,
    '--forget',
    'class:2',
    '--no-oracle',
    '--out',
    join(root, 'demo3'),
  );
  assert.equal(quick.code, 0, quick.err);
  assert.doesNotMatch(quick.out, /retrain oracle/);
  assert.ok(existsSync(join(root, 'demo3', 'srfl', 'report.html')));
  assert.ok(!existsSync(join(root, 'demo3', 'retrain')));
  delete process.env.LETHE_CACHE_DIR;
});

test('mistakes get one clear line and exit code 2', async () => {
  const aFile = join(root, 'a-file');
  writeFileSync(aFile, 'not a directory');
  const nowhere = join(root, 'never-written');
  const emptyIndices = join(root, 'empty.json');
  writeFileSync(emptyIndices, '[]');
  const cases: [string[], RegExp][] = [
    [['unlearn', '--forget', 'class:1'], /--from is required/],
    [
      ['unlearn', '--from', join(root, 'nowhere'), '--forget', 'class:1'],
      /not a finished Lethe run directory/,
    ],
    [['unlearn', '--from', join(root, 'original'), '--forget', 'class:9'], /class/],
    [
      ['unlearn', '--from', join(root, 'original'), '--forget', 'class:1', '--method', 'magic'],
      /Unknown method 'magic'/,
    ],
    [
      ['unlearn', '--from', join(root, 'original'), '--forget', 'class:1', '--opt', 'nonsense=1'],
      /Unknown option 'nonsense' for method srfl/,
    ],
    [
      ['unlearn', '--from', join(root, 'original'), '--forget', 'class:1', '--opt', 'shifts=[0]'],
      /shifts that move every class/,
    ],
    [['train', '--data', 'nope'], /Unknown data set "nope"/],
    [['train', '--epochs', 'three'], /--epochs: expected an integer/],
    // Issue 14: every mistake caught before any work.
    [['train', '--data', data, '--out', aFile], /--out .*: is a file, not a directory/],
    [
      ['train', '--data', data, '--out', join(aFile, 'run')],
      /--out .*: .* is a file, not a directory/,
    ],
    [
      ['unlearn', '--from', join(root, 'original'), '--forget', 'class:1', '--out', aFile],
      /--out .*: is a file, not a directory/,
    ],
    [['compare', '--from', join(root, 'original'), '--out', aFile], /is a file, not a directory/],
    [['train', '--data', data, '--lr', '0'], /--lr: expected a number > 0 but received '0'/],
    [['train', '--data', data, '--lr', '-0.1'], /--lr: expected a number > 0 but received '-0.1'/],
    [
      ['train', '--data', data, '--epochs', '0'],
      /--epochs: expected an integer ≥ 1 but received '0'/,
    ],
    [
      ['train', '--data', data, '--epochs', '-1'],
      /--epochs: expected an integer ≥ 1 but received '-1'/,
    ],
    [['compare', '--seeds', '0'], /--seeds: expected an integer ≥ 1 but received '0'/],
    [['train', '--precision', 'fp8'], /--precision: expected 'fp32', 'bf16-mixed', 'fp16-mixed'/],
    [
      ['compare', '--executor', 'cloud'],
      /--executor: expected 'serial', 'local', 'slurm', 'queue'/,
    ],
    [['compare', '--executor', 'queue'], /--executor queue needs --redis/],
    [['worker'], /--redis is required/],
    [
      ['unlearn', '--from', join(root, 'original'), '--forget', 'class:0,1,2,3', '--out', nowhere],
      /--forget class:0,1,2,3: selects all 160 training examples; the retain set would be empty/,
    ],
    [
      [
        'unlearn',
        '--from',
        join(root, 'original'),
        '--forget',
        'indices:' + emptyIndices,
        '--out',
        nowhere,
      ],
      /forget/,
    ],
    [
      ['eval', join(root, 'srfl'), '--oracle', join(root, 'original')],
      /--oracle .*original: expected a 'retrain' run \(lethe unlearn --method retrain\) but it is a training run/,
    ],
    [['frobnicate'], /Unknown command 'frobnicate'/],
    [['report'], /expected a run directory/],
  ];
  for (const [argv, message] of cases) {
    const r = await lethe(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, message, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
  assert.ok(!existsSync(nowhere), 'a refused run leaves no directory behind');
});

test('--help explains every command', async () => {
  for (const command of ['train', 'unlearn', 'report', 'demo']) {
    const r = await lethe(command, '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: lethe/);
    assert.match(r.out, /--seed/);
  }
  const top = await lethe('--help');
  assert.match(top.out, /Start with 'lethe demo'/);
});

test('lethe compare summarises every method over seeds, resumes, and refuses mismatched runs', async () => {
  const out = join(root, 'compare');
  const args = (finetuneEpochs: number): string[] => [
    'compare',
    '--from',
    join(root, 'original'),
    '--methods',
    'finetune,neggrad+',
    '--forget',
    'class:1',
    '--seeds',
    '2',
    '--opt',
    'retrain.epochs=1',
    '--opt',
    `finetune.epochs=${finetuneEpochs}`,
    '--opt',
    'neggrad+.epochs=2',
    '--out',
    out,
  ];
  const first = await lethe(...args(1));
  assert.equal(first.code, 0, first.err);
  assert.equal(first.err.match(/compare: running/g)?.length, 6, 'oracle and 2 methods, 2 seeds');
  const comparison = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  assert.deepEqual(
    comparison.entries.map((e: { method: string }) => e.method),
    ['retrain', 'finetune', 'neggrad+'],
  );
  const finetune = comparison.entries[1];
  assert.deepEqual(finetune.seeds, [0, 1]);
  const runs = [0, 1].map((s) =>
    JSON.parse(readFileSync(join(out, 'finetune', `seed-${s}`, 'metrics.json'), 'utf8')),
  );
  const forget = runs.map((m) => m.accuracy.forget);
  const mean = (forget[0] + forget[1]) / 2;
  assert.ok(Math.abs(finetune.metrics['accuracy.forget'].mean - mean) < 1e-12);
  const gaps = runs.map((m) => m.gap.avg);
  assert.ok(Math.abs(finetune.metrics['gap.avg'].mean - (gaps[0] + gaps[1]) / 2) < 1e-12);
  assert.ok(Number.isFinite(finetune.metrics['neurips.score'].mean), 'N = 2 gives a NeurIPS score');
  const val = runs.map((m) => m.accuracy.val);
  assert.ok(Math.abs(finetune.metrics['accuracy.val'].mean - (val[0] + val[1]) / 2) < 1e-12);
  assert.ok(existsSync(join(out, 'report.html')));
  const neggrad = JSON.parse(readFileSync(join(out, 'neggrad+', 'seed-1', 'metrics.json'), 'utf8'));
  assert.deepEqual(
    neggrad.history.epochs.map((e: { epoch: number }) => e.epoch),
    [0, 2],
    'a comparison evaluates the full sets before and after, not after every epoch',
  );
  const table = readFileSync(join(out, 'comparison.md'), 'utf8');
  assert.equal(table.match(/^\| (retrain|finetune|neggrad\+) \|/gm)?.length, 3);

  // A run saved before Lethe recorded the val set gets its val accuracy back from lethe eval.
  const old = join(out, 'finetune', 'seed-0');
  const saved = loadRunPredictions(old)!;
  assert.ok(saved.val, 'runs save their val predictions');
  delete saved.val;
  const oldMetrics = JSON.parse(readFileSync(join(old, 'metrics.json'), 'utf8'));
  delete oldMetrics.accuracy.val;
  rewriteRunFiles(old, { predictions: saved, metrics: oldMetrics });
  const evaluated = await lethe('eval', old, '--oracle', join(out, 'retrain', 'seed-0'));
  assert.equal(evaluated.code, 0, evaluated.err);
  const restored = JSON.parse(readFileSync(join(old, 'metrics.json'), 'utf8'));
  assert.equal(restored.accuracy.val, val[0]);

  const resumed = await lethe(...args(1));
  assert.equal(resumed.code, 0, resumed.err);
  assert.doesNotMatch(resumed.err, /compare: running/, 'every finished run is reused');

  const changed = await lethe(...args(2));
  assert.equal(changed.code, 2);
  assert.match(
    changed.err,
    /finetune\/seed-0 is a finished run with options\.epochs 1 \(wanted 2\)/,
  );
});
