/**
 * `lethe/run` from TypeScript: a RunSpec checked once (the same checks for flags and plan files),
 * runs that report progress as events and never print, and Slurm scripts from options.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkCompute,
  checkRunSpec,
  compare,
  planComparison,
  readPlan,
  trainRun,
  writePlan,
  writeSlurmScripts,
  type RunEvent,
  type TrainSpec,
} from '../src/run/index.js';
import { cuda } from '../src/tensor/index.js';
import { writeIdx } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-run-'));
const dataDir = join(root, 'data');
mkdirSync(dataDir);
writeIdx(dataDir, { train: 160, test: 80 });
const data = `mnist:${dataDir}`;

test('checkRunSpec refuses what the CLI refuses, with the field named', () => {
  const ok = {
    kind: 'unlearn',
    from: '/runs/original',
    forget: 'class:1',
    method: 'srfl',
    options: { epochs: 2 },
    seed: 3,
    device: 'cpu',
    precision: 'fp32',
    memoryFormat: 'channelsLast',
  };
  assert.deepEqual(checkRunSpec(ok), ok);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...ok, kind: 'evaluate' }, /expected kind 'train' or 'unlearn' but received "evaluate"/],
    [{ ...ok, method: 'magic' }, /Unknown method 'magic'/],
    [{ ...ok, forget: 'some:1' }, /Unknown forget spec "some:1"/],
    [{ ...ok, seed: -1 }, /--seed: expected an integer ≥ 0 but received '-1'/],
    [{ ...ok, threads: 0 }, /--threads: expected an integer ≥ 1 but received '0'/],
    [{ ...ok, precision: 'fp8' }, /--precision: expected 'fp32', 'bf16-mixed', 'fp16-mixed'/],
    [{ ...ok, device: 'tpu' }, /--device: expected 'cpu', 'cuda' or 'cuda:<n>' but received 'tpu'/],
    [{ ...ok, from: '' }, /expected a string for from/],
  ];
  if (!cuda.isAvailable()) cases.push([{ ...ok, device: 'cuda' }, /CUDA is not available/]);
  for (const [spec, message] of cases) assert.throws(() => checkRunSpec(spec), message);
  // The one place compute settings are defaulted: the memory format follows the device.
  assert.deepEqual(checkCompute({}), {
    seed: 0,
    device: 'cpu',
    precision: 'fp32',
    memoryFormat: 'channelsLast',
  });
});

test('runs report progress as events and print nothing', async () => {
  const printed: string[] = [];
  const { log, error } = console;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void printed.push(a.join(' '));
  console.error = (...a: unknown[]) => void printed.push(a.join(' '));
  process.stderr.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof write;
  const events: RunEvent[] = [];
  try {
    const spec: TrainSpec = {
      kind: 'train',
      data,
      model: 'resnet20',
      options: { epochs: 1, batchSize: 32 },
      ...checkCompute({ seed: 1, threads: 1 }),
    };
    const original = join(root, 'original');
    await trainRun(spec, original, { onEvent: (e) => events.push(e) });
    const comparison = await compare(
      {
        ...checkCompute({ seed: 0, threads: 1 }),
        from: original,
        methods: ['finetune'],
        forget: 'class:2',
        seeds: 1,
        out: join(root, 'compare'),
        options: { retrain: { epochs: 1 }, finetune: { epochs: 1 } },
      },
      (e) => events.push(e),
    );
    assert.deepEqual(
      comparison.entries.map((e) => e.method),
      ['retrain', 'finetune'],
    );
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
  assert.deepEqual(printed, [], 'the library printed nothing');
  const loop = events.filter((e) => e.type === 'loop');
  assert.deepEqual(
    [...new Set(loop.map((e) => e.label))],
    ['train resnet20', 'retrain (seed 0)', 'finetune (seed 0)'],
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'run').map((e) => e.label),
    ['retrain (seed 0)', 'finetune (seed 0)'],
  );
  assert.deepEqual(
    events.flatMap((e) => (e.type === 'job' ? [`${e.id} ${e.state}`] : [])),
    [
      'retrain/seed-0 running',
      'retrain/seed-0 done',
      'finetune/seed-0 running',
      'finetune/seed-0 done',
    ],
  );
});

test('slurm scripts carry the partition, GPUs, CPUs, memory, time limit and throttle', async () => {
  const plan = writePlan(
    join(root, 'slurm-plan'),
    await planComparison({
      ...checkCompute({}),
      original: {
        kind: 'train',
        data,
        model: 'resnet20',
        options: {},
        ...checkCompute({}),
      },
      methods: ['srfl', 'finetune'],
      forget: 'random:0.1',
      seeds: 3,
      out: join(root, 'slurm-compare'),
    }),
  );
  assert.equal(readPlan(plan.dir!).jobs.length, 1 + 3 * 3);
  const scripts = writeSlurmScripts(plan, {
    partition: 'gpu',
    gpus: 1,
    cpus: 4,
    mem: '8G',
    time: '1:00:00',
    throttle: 2,
  });
  const array = readFileSync(scripts.array, 'utf8');
  for (const line of [
    '#SBATCH --partition=gpu',
    '#SBATCH --gres=gpu:1',
    '#SBATCH --cpus-per-task=4',
    '#SBATCH --mem=8G',
    '#SBATCH --time=1:00:00',
    '#SBATCH --array=0-9%2',
    `#SBATCH --output=${join(plan.dir!, 'logs', 'job-%a.log')}`,
  ])
    assert.ok(array.includes(line), `${line} in\n${array}`);
  assert.match(array, /job .*slurm-plan --threads 4\n/);
  const aggregate = readFileSync(scripts.aggregate, 'utf8');
  assert.match(aggregate, /compare --collect .*slurm-plan\n/);
  assert.doesNotMatch(aggregate, /--gres/, 'the aggregation needs no GPU');
});
