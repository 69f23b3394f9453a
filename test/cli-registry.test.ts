/**
 * The registries: every file under src/cli/commands is a listed command and every executor under
 * src/run/executors a listed executor (a new one is its file and its line); --executor's choices,
 * help and options come from the executor list; and BullMQ is loaded only when a plan is queued
 * or a worker starts, not on every `lethe` command (real processes, with a loader hook that
 * refuses to resolve 'bullmq').
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../src/cli/commands/index.js';
import { helpText } from '../src/cli/options.js';
import { EXECUTOR_OPTIONS } from '../src/cli/shared.js';
import { DEFAULT_EXECUTOR, EXECUTORS } from '../src/run/executors/index.js';
import type { Executor } from '../src/run/executors/types.js';

const src = join(import.meta.dirname, '..', 'src');

test('every file under src/cli/commands is a command in the registry, under its own name', async () => {
  const files = readdirSync(join(src, 'cli', 'commands'))
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
    .map((f) => f.slice(0, -3));
  assert.deepEqual(Object.keys(COMMANDS).sort(), files.sort());
  for (const [name, load] of Object.entries(COMMANDS)) {
    const { default: command } = await load();
    assert.match(command.usage, new RegExp(`^lethe ${name}\\b`), name);
    assert.equal(typeof command.run, 'function', name);
    assert.ok(helpText(command.usage, command.description, command.options).length > 0);
  }
});

test('every executor under src/run/executors is in the registry; --executor comes from it', async () => {
  const found: Executor[] = [];
  for (const file of readdirSync(join(src, 'run', 'executors'))) {
    if (!file.endsWith('.ts') || file === 'index.ts') continue;
    const module = (await import(
      pathToFileURL(join(src, 'run', 'executors', file)).href
    )) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      const e = value as Partial<Executor> | null;
      if (e && typeof e === 'object' && typeof e.name === 'string' && typeof e.run === 'function')
        found.push(e as Executor);
    }
  }
  assert.deepEqual(found.map((e) => e.name).sort(), EXECUTORS.map((e) => e.name).sort());
  assert.equal(DEFAULT_EXECUTOR, 'serial');
  assert.deepEqual(EXECUTOR_OPTIONS.executor.choices, ['serial', 'local', 'slurm', 'queue']);
  for (const e of EXECUTORS) {
    assert.ok(EXECUTOR_OPTIONS.executor.description.includes(`'${e.name}' (${e.description}`));
    for (const [name, spec] of Object.entries(e.options))
      assert.equal(EXECUTOR_OPTIONS[name], spec, `--${name} of ${e.name}`);
  }
});

const cwd = mkdtempSync(join(tmpdir(), 'lethe-registry-'));

/** Runs the built CLI (or its sources, when they are newer) in a process where 'bullmq' cannot load. */
function withoutBullmq(...argv: string[]): { status: number | null; out: string; err: string } {
  const hooks = `export async function resolve(specifier, context, next) {
    if (specifier === 'bullmq') throw new Error('bullmq was loaded');
    return next(specifier, context);
  }`;
  const register = `import { register } from 'node:module';
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      join(import.meta.dirname, '..', 'bin', 'lethe.js'),
      ...argv,
    ],
    { encoding: 'utf8', timeout: 120_000, cwd },
  );
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('lethe --help, train and compare do not load BullMQ; the queue executor and lethe worker do', () => {
  const help = withoutBullmq('--help');
  assert.equal(help.status, 0, help.err);
  assert.match(help.out, /Commands:\n {2}train/);
  for (const argv of [
    ['train', '--help'],
    ['compare', '--help'],
    ['worker', '--help'],
  ]) {
    const r = withoutBullmq(...argv);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, new RegExp(`^Usage: lethe ${argv[0]}`));
  }
  // A command's action runs (its module, the shared helpers and the executor registry loaded).
  const train = withoutBullmq('train', '--epochs', '0');
  assert.equal(train.status, 2, train.err);
  assert.match(train.err, /--epochs: expected an integer ≥ 1 but received '0'/);
  const queue = withoutBullmq(
    'compare',
    '--executor',
    'queue',
    '--from',
    join(cwd, 'original'),
    '--out',
    join(cwd, 'compare'),
  );
  assert.equal(queue.status, 2, queue.err);
  assert.match(queue.err, /--executor queue needs --redis <url>/);
  // The hook is real: a worker starting loads BullMQ, and is refused here.
  const worker = withoutBullmq('worker', '--redis', 'redis://127.0.0.1:1');
  assert.equal(worker.status, 1);
  assert.match(worker.err, /bullmq was loaded/);
  rmSync(cwd, { recursive: true, force: true });
});
