// The demo recorder (scripts/record-demo.ts) on a small real demo: what it copies, what it refuses,
// and the README table generated from the recording.
import assert from 'node:assert/strict';
import { resolveCompute } from '../src/records/compute.js';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { recordDemoDir } from '../scripts/record-demo.js';
import { renderResult } from '../scripts/results.js';
import { demo } from '../src/run/demo.js';
import type { RunMetrics } from '../src/records/metrics.js';
import { sourceDigest } from '../src/util/version.js';
import { writeIdx } from './idx-helpers.js';

const repo = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'lethe-record-'));

test('a demo run directory is recorded as results/demo and its table generated from it', async () => {
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  writeIdx(dataDir, { train: 96, test: 48 });
  process.env.LETHE_CACHE_DIR = join(root, 'cache');
  const out = join(root, 'demo');
  try {
    await demo({
      ...resolveCompute(),
      original: {
        kind: 'train',
        data: `mnist:${dataDir}`,
        model: 'resnet20',
        options: { epochs: 1, batchSize: 32 },
        ...resolveCompute(),
      },
      forget: 'class:2',
      method: 'srfl',
      options: {},
      baselines: ['finetune'],
      oracle: true,
      out,
    });
  } finally {
    delete process.env.LETHE_CACHE_DIR;
  }
  const results = join(root, 'checkout');
  const dest = join(results, 'results', 'demo');
  const recording = {
    command: 'node bin/lethe.js demo',
    date: '2026-12-04T22:00:00.000Z',
    wallSeconds: 12.5,
  };
  recordDemoDir(out, dest, recording, repo);

  assert.deepEqual(readdirSync(dest).sort(), [
    'finetune',
    'original',
    'retrain',
    'run.json',
    'srfl',
  ]);
  for (const run of ['original', 'srfl', 'retrain', 'finetune'])
    assert.deepEqual(readdirSync(join(dest, run)).sort(), ['config.json', 'metrics.json'], run);
  const record = JSON.parse(readFileSync(join(dest, 'run.json'), 'utf8'));
  assert.deepEqual(record.runs, ['original', 'srfl', 'retrain', 'finetune']);
  assert.equal(record.wallSeconds, 12.5);
  assert.equal(record.machine.source, sourceDigest());
  assert.match(record.machine.libtorch, /^\d+\.\d+/);
  assert.ok(Number.isInteger(record.machine.threads) && record.machine.threads >= 1);
  assert.match(record.machine.commit, /^[0-9a-f]{40}/);

  const table = renderResult(results, 'results/demo', new Map([['srfl', 'srfl-x']]));
  const m = JSON.parse(readFileSync(join(dest, 'srfl', 'metrics.json'), 'utf8')) as RunMetrics;
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const row = table.split('\n').find((l) => l.startsWith('| srfl-x |'));
  assert.equal(
    row?.split(' | ').slice(0, 8).join(' | '),
    `| srfl-x | ${pct(m.accuracy.forget)} | ${pct(m.accuracy.retain)} | ${pct(m.accuracy.test)} | ${pct(m.accuracy.val!)} | ${m.mia!.simple.toFixed(3)} | ${m.mia!.efficacy.toFixed(3)} | ${m.gap!.avg.toFixed(3)}`,
  );
  assert.match(table, /^\| original \| /m);
  assert.match(table, /^\| retrain oracle \| .* \| the target \| \d+\.\d \|$/m);
  assert.match(table, /^\| finetune \| /m);
  assert.match(
    table,
    /^`node bin\/lethe\.js demo` \(results\/demo\/run\.json: the machine, the date; 13 s of wall time\):/,
  );
  assert.match(table, /Shown here: `srfl` as `srfl-x`/);

  // Refused: a run whose files changed after it finished, and a demo without its oracle.
  appendFileSync(join(out, 'srfl', 'metrics.json'), ' ');
  assert.throws(
    () => recordDemoDir(out, dest, recording, repo),
    /srfl: not a finished Lethe run directory: metrics\.json does not match its digest/,
  );
  rmSync(join(out, 'srfl'), { recursive: true });
  rmSync(join(out, 'retrain'), { recursive: true });
  assert.throws(() => recordDemoDir(out, dest, recording, repo), {
    message: `${out}: no 'retrain' run; is this a demo's --out with the oracle?`,
  });
});
