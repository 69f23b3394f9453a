import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../src/report/index.js';

test('writeReport creates the directory, replaces an old report and leaves no temporary file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-report-'));
  try {
    const path = join(dir, 'runs', 'a', 'report.html');
    await writeReport(path, '<p>one</p>');
    assert.equal(await readFile(path, 'utf8'), '<p>one</p>');
    await writeReport(path, '<p>two</p>');
    assert.equal(await readFile(path, 'utf8'), '<p>two</p>');
    assert.deepEqual(await readdir(join(dir, 'runs', 'a')), ['report.html']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeReport fails without leaving its temporary file behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-report-'));
  try {
    // The target is a non-empty directory, so the rename fails after the temporary file is written.
    const path = join(dir, 'report.html');
    await writeFile(join(dir, 'keep'), '');
    await mkdir(join(path, 'sub'), { recursive: true });
    await assert.rejects(writeReport(path, '<p>x</p>'));
    assert.deepEqual((await readdir(dir)).sort(), ['keep', 'report.html']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
