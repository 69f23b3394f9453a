/**
 * Run directories are committed as a unit: only a directory whose run.json matches every file is
 * a finished run, and `kill -9` while a run is written over a finished one leaves one of the two.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCompleteRun, verifyRun } from '../src/run/rundir.js';
import { FileFormatError } from '../src/util/errors.js';
import {
  killTrials,
  leftovers,
  referenceRun,
  reportOfAnotherRun,
  whichRun,
} from './run-kill-helpers.js';

const ref = referenceRun(21);

function notFinished(dir: string, why: string): void {
  assert.equal(isCompleteRun(dir), false);
  assert.throws(
    () => verifyRun(dir),
    (e: Error) =>
      e instanceof FileFormatError &&
      e.message === `${dir}: not a finished Lethe run directory: ${why}`,
  );
}

test('a committed run verifies; a damaged, incomplete or uncommitted one does not', () => {
  assert.deepEqual(Object.keys(verifyRun(ref)).sort(), [
    'config.json',
    'metrics.json',
    'model.safetensors',
    'predictions.safetensors',
    'report.html',
    'split.json',
  ]);
  const copy = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'lethe-commit-'));
    cpSync(ref, d, { recursive: true });
    return d;
  };
  const edited = copy();
  writeFileSync(join(edited, 'metrics.json'), '{"seed": 22}\n');
  notFinished(
    edited,
    'metrics.json does not match its digest in run.json (changed or damaged after the run finished); rerun the run into it or remove it',
  );
  const missing = copy();
  rmSync(join(missing, 'model.safetensors'));
  notFinished(missing, 'model.safetensors is missing; rerun the run into it or remove it');
  const uncommitted = copy();
  rmSync(join(uncommitted, 'run.json'));
  notFinished(
    uncommitted,
    'it has no run.json, so its run was interrupted, is still running, or was made before Lethe recorded one; rerun the run into it (--resume continues an interrupted one) or remove it',
  );
  notFinished(join(ref, 'nowhere'), 'it does not exist');
});

test('kill -9 while a run is committed over a finished one leaves one of the two runs', async () => {
  const counts = await killTrials(3);
  assert.equal(counts.neither, 0, JSON.stringify(counts));
  assert.equal(counts.staleReports, 0, JSON.stringify(counts));
  assert.equal(counts.first + counts.second, 3);
});

test('the next commit into a killed directory sweeps what the kill left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-sweep-'));
  cpSync(ref, dir, { recursive: true });
  writeFileSync(join(dir, 'checkpoint.safetensors.tmp-1-2'), 'partial');
  writeFileSync(join(dir, 'report.html.pending'), 'stale');
  assert.equal(whichRun(dir, [ref]), ref, 'stray files do not unfinish a run');
  writeFileSync(join(dir, 'checkpoint.safetensors'), 'an earlier interrupted run');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'run-commit-child.ts'), dir, 'once', '21'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(leftovers(dir), []);
  assert.equal(existsSync(join(dir, 'checkpoint.safetensors')), false);
  assert.equal(whichRun(dir, [ref]), ref);
});

test("a crash while a report is replaced never leaves it beside another run's files", () => {
  // Killed after the new files were written and the previous report set aside, before the commit:
  // no report on disk (not the wrong one), and the next reader restores the previous run.
  const before = mkdtempSync(join(tmpdir(), 'lethe-aside-'));
  cpSync(ref, before, { recursive: true });
  const previous = readFileSync(join(before, 'report.html'));
  writeFileSync(join(before, 'config.json.pending'), '{"seed": 99}');
  writeFileSync(join(before, 'report.html.pending'), '<html>run 99</html>');
  renameSync(join(before, 'report.html'), join(before, 'report.html.previous'));
  assert.equal(reportOfAnotherRun(before), false);
  assert.equal(whichRun(before, [ref]), ref);
  assert.deepEqual(readFileSync(join(before, 'report.html')), previous);

  // Killed after the commit, the new config renamed in, the report not yet: no report on disk
  // until the next reader renames the new one in.
  const after = referenceRun(12);
  const next = readFileSync(join(after, 'report.html'));
  renameSync(join(after, 'report.html'), join(after, 'report.html.pending'));
  writeFileSync(join(after, 'report.html.previous'), previous);
  assert.equal(reportOfAnotherRun(after), false);
  assert.equal(isCompleteRun(after), true);
  assert.deepEqual(readFileSync(join(after, 'report.html')), next);
});
