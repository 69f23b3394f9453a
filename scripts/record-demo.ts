// `npm run record-demo`: runs `node bin/lethe.js demo` from scratch (an empty cache, a fresh --out)
// and records it as results/demo/: one folder per run, named as the demo names them, each with its
// metrics.json and config.json (no models, predictions or reports), the demo's output
// (output.txt), and run.json: the command, the date, the machine (CPU, cores, threads, libtorch,
// Lethe's source digest, the git commit) and the wall time. README's demo table is generated from
// it (`npm run results`).
//
//   npm run record-demo                     the default demo
//   npm run record-demo -- --scenario x …   other demo flags, passed through
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readConfig, verifyRun, type RunConfig } from '../src/run/rundir.js';
import type { RunMetrics } from '../src/records/metrics.js';

/** What run.json says about the recording, beside what the run directories say. */
export interface DemoRecording {
  command: string;
  date: string;
  wallSeconds: number;
}

/** The machine, from /proc/cpuinfo where there is one. */
function cpu(): { model: string; features: string[] } {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? 'unknown';
    const flags = (/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/);
    // The features libtorch's CPU kernels dispatch on: where these differ, results may too.
    return {
      model,
      features: flags.filter((f) => /^(avx|avx2|fma|f16c|avx512\w*|amx\w*)$/.test(f)),
    };
  } catch {
    return { model: 'unknown', features: [] };
  }
}

function gitCommit(root: string): string {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync(
    'git',
    ['status', '--porcelain', '--', 'src', 'native', 'scenarios', 'package.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  ).stdout.trim();
  return `${head.stdout.trim()}${dirty ? ' (with uncommitted changes to the code)' : ''}`;
}

/**
 * Copies the demo's --out directory `out` to `dest` as a recording: checks that every folder is
 * a finished run (its files match run.json), that there is an original, a retrain oracle and at
 * least one unlearning run evaluated against it, and that one Lethe and one libtorch made them
 * all; then writes each run's metrics.json and config.json and run.json. `dest` is replaced.
 */
export function recordDemoDir(
  out: string,
  dest: string,
  recording: DemoRecording,
  root: string,
): void {
  const names = readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const runs = new Map<string, { config: RunConfig; metrics: RunMetrics }>();
  for (const name of names) {
    const dir = join(out, name);
    verifyRun(dir);
    runs.set(name, {
      config: readConfig(dir),
      metrics: JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics,
    });
  }
  for (const needed of ['original', 'retrain'])
    if (!runs.has(needed))
      throw new Error(`${out}: no '${needed}' run; is this a demo's --out with the oracle?`);
  const methods = names.filter((n) => n !== 'original' && n !== 'retrain');
  if (methods.length === 0)
    throw new Error(`${out}: no unlearning run beside the original and the oracle`);
  for (const m of methods)
    if (!runs.get(m)!.metrics.gap)
      throw new Error(
        `${join(out, m)}: not evaluated against the oracle (no gap in its metrics.json)`,
      );
  const all = [...runs.values()].map((r) => r.config);
  const one = (
    what: string,
    of: (c: RunConfig) => string | number | undefined,
  ): string | number => {
    const values = [...new Set(all.map(of))];
    if (values.length !== 1 || values[0] === undefined)
      throw new Error(
        `${out}: its runs disagree on ${what} (${values.map(String).join(', ')}); record one demo run`,
      );
    return values[0];
  };
  const machine = {
    cpu: cpu(),
    cores: availableParallelism(),
    threads: one('the thread count', (c) => c.threads),
    libtorch: one('the libtorch version', (c) => c.versions.libtorch),
    lethe: one("Lethe's version", (c) => c.versions.lethe),
    source: one("Lethe's source digest", (c) => c.versions.source),
    commit: gitCommit(root),
    node: one("Node's version", (c) => c.versions.node),
  };
  // The demo's order: the original, the method, the oracle, the baselines (as they were made).
  const order = [...runs.keys()].sort((a, b) =>
    runs.get(a)!.config.createdAt < runs.get(b)!.config.createdAt ? -1 : 1,
  );
  rmSync(dest, { recursive: true, force: true });
  for (const name of order) {
    mkdirSync(join(dest, name), { recursive: true });
    for (const file of ['metrics.json', 'config.json'])
      cpSync(join(out, name, file), join(dest, name, file));
  }
  writeFileSync(
    join(dest, 'run.json'),
    `${JSON.stringify({ ...recording, machine, runs: order }, null, 2)}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(import.meta.dirname, '..');
  const tmp = mkdtempSync(join(tmpdir(), 'lethe-record-demo-'));
  const out = join(tmp, 'demo');
  const args = ['bin/lethe.js', 'demo', ...process.argv.slice(2), '--out', out];
  const command = `node bin/lethe.js demo ${process.argv.slice(2).join(' ')}`.trim();
  console.error(`record-demo: ${command} (empty cache ${join(tmp, 'cache')}, --out ${out})`);
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, LETHE_CACHE_DIR: join(tmp, 'cache') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    output.push(chunk);
    process.stdout.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  if (code !== 0) {
    console.error(`record-demo: the demo exited with ${code}; nothing recorded (its runs: ${out})`);
    process.exit(1);
  }
  const dest = join(root, 'results', 'demo');
  recordDemoDir(out, dest, { command, date: new Date().toISOString(), wallSeconds }, root);
  writeFileSync(join(dest, 'output.txt'), Buffer.concat(output));
  rmSync(tmp, { recursive: true, force: true });
  console.error(
    `record-demo: recorded ${dest} (${wallSeconds} s); 'npm run results' puts it in README.md`,
  );
}
