// Lethe as a dependency: `npm pack`, then `npm install ./lethe-<version>.tgz` in a fresh project
// (real npm; the registry or npm's cache provides the dependencies). The install builds the
// addon; the CLI's help, its scenarios and its usage errors work without it; `npx lethe setup`
// verifies it; a library script computes with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const repo = join(import.meta.dirname, '..');

function run(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync('nice', ['-n', '19', cmd, ...args], {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('npm pack → npm install in a fresh project gives a working CLI and library', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-pack-'));
  const packed = run('npm', ['pack', '--pack-destination', root], repo);
  assert.equal(packed.code, 0, packed.err);
  const tarball = readdirSync(root).find((f) => /^lethe-.*\.tgz$/.test(f));
  assert.ok(tarball, `npm pack wrote no tarball: ${packed.out}`);

  const project = join(root, 'project');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(project);
  // npm ≥ 11 runs a dependency's install script only where the project allows it.
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'p', version: '1.0.0', type: 'module', allowScripts: { lethe: true } }),
  );
  const installed = run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(root, tarball)],
    project,
  );
  if (installed.code !== 0 && /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED/.test(installed.err)) {
    t.skip(`npm reaches neither the registry nor a cache with Lethe's dependencies`);
    return;
  }
  assert.equal(installed.code, 0, installed.err);
  const pkg = join(project, 'node_modules', 'lethe');
  const build = join(pkg, 'native', 'build');
  assert.ok(existsSync(join(build, 'Release', 'lethe.node')), 'the install script built the addon');
  assert.ok(!existsSync(join(pkg, 'src')), 'the package ships dist/, not the sources');

  // Without the addon: help, scenarios, usage errors; a command that computes says what to do.
  renameSync(build, `${build}.away`);
  const help = run('npx', ['lethe', '--help'], project);
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /Usage: lethe <command>/);
  assert.match(help.out, /setup +Build \(or verify\) Lethe's native addon/);
  const scenarios = run('npx', ['lethe', 'scenarios'], project);
  assert.equal(scenarios.code, 0, scenarios.err);
  assert.match(scenarios.out, /^memorized-fmnist +The seed's scenario/m);
  const trainHelp = run('npx', ['lethe', 'train', '--help'], project);
  assert.equal(trainHelp.code, 0, trainHelp.err);
  const usage = run('npx', ['lethe', 'train', '--epochs', 'three'], project);
  assert.equal(usage.code, 2);
  assert.equal(usage.err, "lethe: --epochs: expected an integer ≥ 1 but received 'three'\n");
  const needsAddon = run('npx', ['lethe', 'train', '--device', 'cuda:0'], project);
  assert.equal(needsAddon.code, 2);
  assert.match(
    needsAddon.err,
    /^lethe: Lethe's native addon is not built \(expected .*lethe\.node\)/,
  );
  assert.match(needsAddon.err, /npx lethe setup/);
  assert.doesNotMatch(needsAddon.err, /\n\s+at /, 'no stack trace');
  renameSync(`${build}.away`, build);

  const setup = run('npx', ['lethe', 'setup'], project);
  assert.equal(setup.code, 0, setup.err);
  assert.match(setup.out, /lethe setup: the native addon loads .*; libtorch \d/);

  writeFileSync(
    join(project, 'use.mjs'),
    [
      "import { tensor } from 'lethe/tensor';",
      "import { methodIds } from 'lethe/unlearn';",
      'const t = tensor([1, 2, 3]).mul(2);',
      'console.log(JSON.stringify({ data: Array.from(t.data()), srfl: methodIds().includes("srfl") }));',
      't.dispose();',
    ].join('\n'),
  );
  const used = run('node', ['use.mjs'], project);
  assert.equal(used.code, 0, used.err);
  assert.deepEqual(JSON.parse(used.out), { data: [2, 4, 6], srfl: true });
});
