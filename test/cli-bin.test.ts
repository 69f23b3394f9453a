/**
 * `bin/lethe.js` chooses what it runs: the build in dist/, or in a development checkout whose
 * sources changed since the build (or that was never built) the sources through tsx, saying so —
 * an experiment run from a stale build would measure the old code. Real files, a real process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

test('bin/lethe.js runs dist/ when it is current, the sources (with a note) when they are newer or unbuilt', () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-bin-'));
  for (const dir of ['bin', 'dist/cli', 'src/cli']) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync(join(repo, 'bin', 'lethe.js'), join(root, 'bin', 'lethe.js'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  const dist = join(root, 'dist', 'cli', 'main.js');
  const src = join(root, 'src', 'cli', 'main.ts');
  writeFileSync(dist, "export async function main() { console.log('dist'); return 0; }\n");
  writeFileSync(
    src,
    "export async function main(): Promise<number> { console.log('src'); return 0; }\n",
  );
  const at = (path: string, seconds: number): void => utimesSync(path, seconds, seconds);
  const run = (): { out: string; err: string } => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'lethe.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { out: r.stdout.trim(), err: r.stderr.trim() };
  };

  at(src, 1_000_000);
  at(dist, 2_000_000);
  assert.deepEqual(run(), { out: 'dist', err: '' });

  at(src, 3_000_000);
  const stale = run();
  assert.equal(stale.out, 'src');
  assert.match(stale.err, /src\/ changed since the last build; running the sources/);

  rmSync(join(root, 'dist'), { recursive: true });
  assert.deepEqual(run(), { out: 'src', err: '' });
  rmSync(root, { recursive: true });
});
