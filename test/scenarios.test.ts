import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCommand } from '../src/cli/options.js';
import { loadDataset, subsetIndices } from '../src/data/registry.js';
import {
  loadScenario,
  memorizationCheck,
  scenarioNames,
  scenarioRecord,
  validateScenario,
} from '../src/run/scenarios.js';
import { lethe } from './cli-helpers.js';
import { writeIdx } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-scenarios-'));

/** A small data set as IDX files (the MNIST layout), read by `mnist:<dir>`. */
function writeIdxDir(dir: string, train = 120, test = 40): void {
  mkdirSync(dir, { recursive: true });
  writeIdx(dir, { train, test });
}

/** A CIFAR-10-format directory (five training batches, a test batch, class names). */
function writeCifar(dir: string, perBatch: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  const record = (label: number, seed: number): Buffer => {
    const b = Buffer.alloc(3073);
    b[0] = label;
    // A class-dependent pattern with per-image noise, so the classes are learnable.
    for (let k = 0; k < 3072; k++) b[1 + k] = (label * 60 + ((k * 7 + seed * 13) % 50)) % 256;
    return b;
  };
  let seed = 0;
  for (let batch = 1; batch <= 5; batch++) {
    const rows = Array.from({ length: perBatch }, (_, i) => record(i % 10, seed++));
    writeFileSync(join(dir, `data_batch_${batch}.bin`), Buffer.concat(rows));
  }
  const rows = Array.from({ length: testCount }, (_, i) => record(i % 10, seed++));
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat(rows));
  writeFileSync(
    join(dir, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
  );
}

function writeScenario(name: string, body: Record<string, unknown>): string {
  const file = join(root, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, description: `${name} for tests`, ...body }));
  return file;
}

test('the built-in scenarios load and validate', () => {
  assert.deepEqual(scenarioNames(), ['class-forgetting', 'memorized-cifar10', 'memorized-fmnist']);
  for (const name of scenarioNames()) {
    const s = loadScenario(name);
    assert.equal(s.name, name);
    assert.ok(s.notes.length > 0, `${name} documents its settings`);
  }
  const m = loadScenario('memorized-fmnist');
  assert.equal(m.forget, 'random:0.1');
  assert.match(m.data, /^fashion-mnist,subset=\d+$/);
  assert.equal(m.train.augment, false);
  assert.deepEqual(m.memorization, { minTrainAccuracy: 0.99, minGap: 0.05 });
  const c = loadScenario('memorized-cifar10');
  assert.equal(c.model, 'resnet18');
  assert.deepEqual(c.modelOptions, { cifar: true });
  assert.equal(loadScenario('class-forgetting').forget, 'class:3');
  // What runs record: everything but the description and notes.
  assert.deepEqual(Object.keys(scenarioRecord(m).settings).sort(), [
    'data',
    'forget',
    'memorization',
    'model',
    'train',
  ]);
});

test('a damaged scenario is refused with the file and the field named', () => {
  const f = 'x.json';
  const base = {
    name: 'x',
    description: 'd',
    data: 'mnist:/d',
    model: 'resnet20',
    forget: 'random:0.1',
  };
  assert.throws(() => validateScenario({ ...base, epochs: 3 }, f), {
    name: 'FileFormatError',
    message: /^x\.json: unknown key 'epochs'/,
  });
  assert.throws(() => validateScenario({ ...base, data: 'mnist:/d,subset=0' }, f), {
    message:
      'x.json: Expected a positive integer after "subset=" in data set spec "mnist:/d,subset=0" but received "0"',
  });
  assert.throws(() => validateScenario({ ...base, forget: 'random:2.5' }, f), {
    message: /^x\.json: Expected a fraction in \(0, 1\) or a count after "random:"/,
  });
  assert.throws(() => validateScenario({ ...base, train: { epochz: 3 } }, f), {
    message: /^x\.json: 'train': Unknown option 'epochz' for method retrain/,
  });
  assert.throws(() => validateScenario({ ...base, train: { epochs: '3' } }, f), {
    message: /^x\.json: 'train': Expected number for option 'epochs' of retrain/,
  });
  assert.throws(() => validateScenario({ ...base, model: 'resnet7' }, f), {
    message: /^x\.json: unknown model 'resnet7'/,
  });
  assert.throws(
    () => validateScenario({ ...base, memorization: { minTrainAccuracy: 1.5, minGap: 0 } }, f),
    { message: /^x\.json: expected \{ "minTrainAccuracy": 0\.\.1, "minGap": 0\.\.1 \}/ },
  );
  assert.throws(() => loadScenario('memorised-fmnist'), {
    name: 'OptionError',
    message:
      "--scenario: unknown scenario 'memorised-fmnist'; expected one of class-forgetting, memorized-cifar10, memorized-fmnist or a scenario file",
  });
  const dup = join(root, 'dup.json');
  writeFileSync(dup, '{"name":"a","name":"b"}');
  assert.throws(() => loadScenario(dup), {
    name: 'FileFormatError',
    message: /duplicate key "name"/,
  });
});

test('a scenario sits under the flags and a config file, over the defaults', () => {
  const table = {
    data: { type: 'string', description: '', default: 'fashion-mnist' },
    model: { type: 'string', description: '', default: 'resnet20' },
    forget: { type: 'string', description: '', default: 'class:0' },
    scenario: { type: 'string', description: '' },
  } as const;
  const file = writeScenario('layers', {
    data: 'mnist:/somewhere,subset=50',
    model: 'resnet32',
    forget: 'random:0.2',
  });
  let p = parseCommand('x', ['--scenario', file], table);
  assert.equal(p.values.data, 'mnist:/somewhere,subset=50');
  assert.equal(p.values.model, 'resnet32');
  assert.equal(p.values.forget, 'random:0.2');
  assert.equal(p.scenario?.name, 'layers');
  p = parseCommand('x', ['--scenario', file, '--forget', 'class:1'], table);
  assert.equal(p.values.forget, 'class:1');
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ model: 'resnet44' }));
  p = parseCommand('x', ['--scenario', file, '--config', config], table);
  assert.equal(p.values.model, 'resnet44');
  assert.equal(p.values.data, 'mnist:/somewhere,subset=50');
  p = parseCommand('x', [], table);
  assert.equal(p.scenario, undefined);
  assert.equal(p.values.forget, 'class:0');
});

test('subset=<n> trains on a fixed random subset of the training images', async () => {
  const dir = join(root, 'idx-subset');
  writeIdxDir(dir);
  const whole = await loadDataset(`mnist:${dir}`);
  const sub = await loadDataset(`mnist:${dir},subset=30`);
  const keep = subsetIndices(120, 30);
  assert.equal(sub.train.labels.length, 30);
  assert.equal(sub.test.labels.length, 40);
  assert.deepEqual(
    Array.from(keep),
    [...keep].sort((a, b) => a - b),
  );
  keep.forEach((k, i) => {
    assert.equal(sub.train.labels[i], whole.train.labels[k]);
    assert.deepEqual(
      Array.from(sub.train.images.subarray(i * 100, (i + 1) * 100)),
      Array.from(whole.train.images.subarray(k * 100, (k + 1) * 100)),
    );
  });
  // The subset is the same for every seed and every call; it depends on its size alone.
  assert.deepEqual(Array.from(subsetIndices(120, 30)), Array.from(keep));
  await assert.rejects(loadDataset(`mnist:${dir},subset=121`), {
    message: `Data set spec "mnist:${dir},subset=121" asks for a subset of 121 training images but the training set has 120`,
  });
});

test('runs record the scenario; an original that misses its memorization target is flagged', async () => {
  const dir = join(root, 'idx');
  writeIdxDir(dir);
  const file = writeScenario('tiny-memorized', {
    data: `mnist:${dir},subset=100`,
    model: 'resnet20',
    train: { epochs: 1, batchSize: 32, lr: 0.05, augment: false },
    forget: 'random:0.1',
    // Out of reach in one epoch: the run must say so, not pass silently.
    memorization: { minTrainAccuracy: 1, minGap: 0.9 },
  });
  const original = join(root, 'original');
  const t = await lethe('train', '--scenario', file, '--out', original);
  assert.equal(t.code, 0, t.err);
  assert.match(t.err, /lethe: warning: .*did not reach the scenario's memorization target/);
  const config = JSON.parse(readFileSync(join(original, 'config.json'), 'utf8'));
  assert.equal(config.data, `mnist:${dir},subset=100`);
  assert.deepEqual(config.options.augment, false);
  assert.equal(config.options.epochs, 1);
  assert.deepEqual(config.scenario, scenarioRecord(loadScenario(file)));
  const metrics = JSON.parse(readFileSync(join(original, 'metrics.json'), 'utf8'));
  const m = metrics.memorization;
  assert.equal(m.train, metrics.accuracy.retain);
  assert.equal(m.test, metrics.accuracy.test);
  assert.ok(Math.abs(m.gap - (m.train - m.test)) < 1e-12);
  assert.equal(m.reached, false);
  assert.deepEqual(m.target, { minTrainAccuracy: 1, minGap: 0.9 });

  const u = await lethe(
    'unlearn',
    '--scenario',
    file,
    '--from',
    original,
    '--method',
    'finetune',
    '--epochs',
    '1',
    '--out',
    join(root, 'finetune'),
  );
  assert.equal(u.code, 0, u.err);
  const uc = JSON.parse(readFileSync(join(root, 'finetune', 'config.json'), 'utf8'));
  assert.equal(uc.forget, 'random:0.1');
  assert.equal(uc.scenario.name, 'tiny-memorized');
  assert.equal(
    JSON.parse(readFileSync(join(root, 'finetune', 'split.json'), 'utf8')).forget.length,
    10,
  );
});

test('memorizationCheck reads a target both ways', () => {
  const target = { minTrainAccuracy: 0.99, minGap: 0.05 };
  assert.equal(memorizationCheck({ train: 0.995, test: 0.9 }, target)!.reached, true);
  assert.equal(memorizationCheck({ train: 0.98, test: 0.9 }, target)!.reached, false);
  assert.equal(memorizationCheck({ train: 0.995, test: 0.96 }, target)!.reached, false);
  assert.equal(memorizationCheck({ train: 0.5, test: 0.4 }, undefined), null);
});

test('memorized-cifar10 trains a CIFAR-stem ResNet-18 on a CIFAR-format directory', async () => {
  const dir = join(root, 'cifar-10-batches-bin');
  writeCifar(dir, 4, 10);
  const out = join(root, 'cifar-original');
  const t = await lethe(
    'train',
    '--scenario',
    'memorized-cifar10',
    '--data',
    `cifar10:${dir}`,
    '--epochs',
    '1',
    '--batch-size',
    '10',
    '--out',
    out,
  );
  assert.equal(t.code, 0, t.err);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.model, 'resnet18');
  assert.equal(config.modelOptions.cifar, true);
  assert.equal(config.options.augment, true);
  assert.equal(config.options.epochs, 1);
  assert.equal(config.scenario.name, 'memorized-cifar10');
  assert.equal(config.scenario.settings.train.epochs, 30);
  // One epoch on 20 images cannot memorize: the CLI says so.
  assert.match(t.err, /did not reach the scenario's memorization target/);
});

test('lethe scenarios lists the presets and shows one', async () => {
  const list = await lethe('scenarios');
  assert.equal(list.code, 0);
  for (const name of scenarioNames()) assert.match(list.out, new RegExp(`^${name} `, 'm'));
  const one = await lethe('scenarios', 'memorized-fmnist');
  assert.equal(one.code, 0);
  assert.match(one.out, /"forget": "random:0\.1"/);
  const bad = await lethe('train', '--scenario', 'nope');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^lethe: --scenario: unknown scenario 'nope'/);
});
