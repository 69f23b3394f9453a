// The cache of finished runs reuses a run only when everything that made it is the same, and
// says what differed when it does not (issue 22).
import assert from 'node:assert/strict';
import { identityDifferences, identityKey, identityOf, runIdentity } from '../src/run/identity.js';
import { resolveCompute } from '../src/records/compute.js';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureOriginal, listCache } from '../src/run/cache.js';
import { readConfig } from '../src/run/rundir.js';
import type { RunEvent } from '../src/run/events.js';
import type { TrainSpec } from '../src/run/spec.js';
import { sourceDigest } from '../src/util/version.js';
import { lethe } from './cli-helpers.js';
import { writeIdx } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-cache-'));
const dataDir = join(root, 'data');
mkdirSync(dataDir);
writeIdx(dataDir, { train: 96, test: 48 });

const spec = (options: Record<string, unknown> = {}): TrainSpec => ({
  kind: 'train',
  data: `mnist:${dataDir}`,
  model: 'resnet20',
  options: { epochs: 1, batchSize: 32, ...options },
  ...resolveCompute(),
});

async function original(dir: string, s: TrainSpec) {
  const notes: string[] = [];
  const r = await ensureOriginal(s, join(root, dir), {
    onEvent: (e: RunEvent) => void (e.type === 'note' && notes.push(e.message)),
  });
  return { ...r, notes };
}

test('a cached original is reused only when what made it is the same, and the reason is told', async () => {
  process.env.LETHE_CACHE_DIR = join(root, 'cache');
  try {
    const first = await original('a', spec());
    assert.deepEqual([first.cached, first.notes], [false, []]);
    const config = readConfig(join(root, 'a'));
    assert.equal(config.versions.source, sourceDigest(), 'config.json records the source digest');
    assert.match(config.versions.libtorch, /^\d+\.\d+/);
    assert.equal(identityKey(runIdentity(join(root, 'a'))), first.key);

    const again = await original('b', spec());
    assert.deepEqual([again.cached, again.key, again.notes], [true, first.key, []]);

    // Other options: the run in b and the cached one were made with lr 0.1; neither is used.
    const other = await original('b', spec({ lr: 0.05 }));
    assert.equal(other.cached, false);
    assert.notEqual(other.key, first.key);
    assert.deepEqual(other.notes, [
      `${join(root, 'b')}: the original there was made with options.lr 0.1 (wanted 0.05); making it again`,
      `cache: not reusing the cached original ${first.key}, made with options.lr 0.1 (wanted 0.05); making a new one`,
    ]);
    assert.equal(readConfig(join(root, 'b')).options.lr, 0.05);
    assert.equal(listCache().length, 2);

    // Other code: the cached entry of the first key says it was made from other sources.
    const entry = join(root, 'cache', `original-${first.key}`, 'entry.json');
    const record = JSON.parse(readFileSync(entry, 'utf8'));
    record.made.source = 'sha256:other';
    writeFileSync(entry, JSON.stringify(record));
    const rebuilt = await original('c', spec());
    assert.equal(rebuilt.cached, false);
    assert.deepEqual(rebuilt.notes, [
      `cache: not reusing the cached original ${first.key}, made with source "sha256:other" (wanted "${sourceDigest()}"); making a new one`,
    ]);

    const listed = await lethe('cache');
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /\(2 entries, /);
    assert.match(
      listed.out,
      new RegExp(
        `^original +${other.key} .* ago  train mnist:.* resnet20 forget none seed 0 fp32 channelsLast cpu; lethe \\d`,
        'm',
      ),
    );
    const kept = await lethe('cache', 'clear', '--older-than', '1');
    assert.match(kept.out, /^cache: removed 0 entries/);
    const cleared = await lethe('cache', 'clear');
    assert.match(cleared.out, /^cache: removed 2 entries/);
    assert.equal(listCache().length, 0);
    const wrong = await lethe('cache', 'list', '--older-than', '1');
    assert.equal(wrong.code, 2);
    assert.match(wrong.err, /--older-than goes with 'clear'/);
  } finally {
    delete process.env.LETHE_CACHE_DIR;
  }
});

test('a run recorded before Lethe recorded its source digest matches no code', () => {
  const p = identityOf(
    {
      command: 'train',
      method: 'train',
      data: 'fashion-mnist',
      model: 'resnet20',
      modelOptions: { inChannels: 1, numClasses: 10 },
      forget: 'none',
      seed: 0,
      device: 'cuda:1',
      threads: 2,
      options: { epochs: 3 },
      createdAt: '2026-01-01T00:00:00Z',
      versions: { lethe: '0.1.0', libtorch: '2.1.0', node: '20' },
    },
    'sha256:0',
  );
  assert.deepEqual(
    [p.precision, p.memoryFormat, p.device, p.source, p.libtorch],
    ['fp32', 'unknown', 'cuda', 'unknown', '2.1.0'],
  );
});

test('one rule for "same run?": the forget set\'s digest, the original and the code are part of a run\'s identity', () => {
  const config = {
    command: 'unlearn' as const,
    method: 'finetune',
    data: 'fashion-mnist',
    model: 'resnet20',
    modelOptions: { inChannels: 1, numClasses: 10 },
    forget: `indices:${join(root, 'forget.json')}`,
    seed: 0,
    device: 'cpu',
    precision: 'fp32' as const,
    memoryFormat: 'channelsLast' as const,
    threads: 2,
    options: { epochs: 1 },
    createdAt: '2026-01-01T00:00:00Z',
    versions: { lethe: '0.1.0', source: 'sha256:a', libtorch: '2.1.0', node: '20' },
  };
  const a = identityOf(config, 'sha256:1', '0123456789abcdef');
  assert.deepEqual(identityDifferences(a, identityOf(config, 'sha256:1', '0123456789abcdef')), []);
  // The same spec over an edited indices file, another original, other code: three other runs.
  assert.deepEqual(identityDifferences(identityOf(config, 'sha256:2', '0123456789abcdef'), a), [
    'forgetDigest "sha256:2" (wanted "sha256:1")',
  ]);
  assert.deepEqual(identityDifferences(identityOf(config, 'sha256:1', 'fedcba9876543210'), a), [
    'original "fedcba9876543210" (wanted "0123456789abcdef")',
  ]);
  const later = { ...config, versions: { ...config.versions, source: 'sha256:b' } };
  assert.deepEqual(identityDifferences(identityOf(later, 'sha256:1', '0123456789abcdef'), a), [
    'source "sha256:b" (wanted "sha256:a")',
  ]);
  // Other threads, another day: the same run, under the same key.
  const again = { ...config, threads: 8, createdAt: '2026-02-02T00:00:00Z' };
  assert.equal(identityKey(identityOf(again, 'sha256:1', '0123456789abcdef')), identityKey(a));
  assert.notEqual(identityKey(identityOf(config, 'sha256:2', '0123456789abcdef')), identityKey(a));
});
