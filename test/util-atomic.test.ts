/**
 * The one atomic writer (src/util/atomic.ts): a file or a directory is in place whole or not at
 * all, and a failed write leaves no temporary file or directory behind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyDirAtomic, publishDir, writeFileAtomic } from '../src/util/atomic.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'lethe-atomic-'));
}

test('writeFileAtomic replaces a file and removes its temporary file when the rename fails', () => {
  const dir = scratch();
  try {
    const path = join(dir, 'a.json');
    writeFileAtomic(path, 'one');
    writeFileAtomic(path, 'two');
    assert.equal(readFileSync(path, 'utf8'), 'two');
    // A non-empty directory in the way: the rename fails after the temporary file is written.
    mkdirSync(join(dir, 'b.json', 'sub'), { recursive: true });
    assert.throws(() => writeFileAtomic(join(dir, 'b.json'), 'x'));
    assert.deepEqual(readdirSync(dir).sort(), ['a.json', 'b.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('publishDir replaces a directory whole, and leaves it as it was when filling fails', () => {
  const dir = scratch();
  try {
    const path = join(dir, 'entry');
    publishDir(path, (tmp) => writeFileSync(join(tmp, 'old'), 'old'));
    publishDir(path, (tmp) => writeFileSync(join(tmp, 'new'), 'new'));
    assert.deepEqual(readdirSync(path), ['new']);
    assert.throws(
      () =>
        publishDir(path, (tmp) => {
          writeFileSync(join(tmp, 'half'), 'half');
          throw new Error('interrupted');
        }),
      /interrupted/,
    );
    assert.deepEqual(readdirSync(path), ['new']);
    assert.deepEqual(readdirSync(dir), ['entry']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('copyDirAtomic copies a directory tree into place', () => {
  const dir = scratch();
  try {
    mkdirSync(join(dir, 'from', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'from', 'sub', 'f'), 'f');
    mkdirSync(join(dir, 'to'));
    writeFileSync(join(dir, 'to', 'stale'), 'stale');
    copyDirAtomic(join(dir, 'from'), join(dir, 'to'));
    assert.deepEqual(readdirSync(join(dir, 'to')), ['sub']);
    assert.equal(readFileSync(join(dir, 'to', 'sub', 'f'), 'utf8'), 'f');
    assert.deepEqual(readdirSync(dir).sort(), ['from', 'to']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
