/**
 * One small comparison (a few hundred synthetic images, 2 methods, 2 seeds, 1-epoch runs) through
 * every executor: serial, local processes, a Slurm array on a real single-node cluster, and a
 * BullMQ queue on a real Redis with `lethe worker` processes, one of them killed mid-job. Every
 * path must give the same per-run metrics. Where an engine is missing the test says why and skips
 * (LETHE_REQUIRE_ENGINES=1, as CI sets, makes that a failure).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  rmSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test, type TestContext } from 'node:test';
import { readPlan, readStatus } from '../src/run/index.js';
import { lethe as cli } from './cli-helpers.js';
import { writeTinyScenario } from './idx-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lethe-exec-'));
const dataDir = join(root, 'data');
const scenario = join(root, 'tiny.json');
const repo = resolve(import.meta.dirname, '..');
// tsx by its full path: a job may start in any directory.
const lethe = [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  join(repo, 'test', 'lethe-bin.ts'),
];
const requireEngines = process.env.LETHE_REQUIRE_ENGINES === '1';

/** Skips (or, where CI requires the engine, fails) with the reason. */
function unavailable(t: TestContext, why: string): void {
  if (requireEngines) assert.fail(`LETHE_REQUIRE_ENGINES=1 but ${why}`);
  t.skip(why);
}

/** The comparison every executor runs, into `out`, with `more` flags. */
function comparison(out: string, ...more: string[]): string[] {
  return [
    'compare',
    '--scenario',
    scenario,
    '--methods',
    'finetune,neggrad+',
    '--seeds',
    '2',
    '--threads',
    '1',
    '--opt',
    'retrain.epochs=1',
    '--opt',
    'finetune.epochs=1',
    '--opt',
    'neggrad+.epochs=1',
    '--out',
    out,
    ...more,
  ];
}

const RUNS = ['retrain', 'finetune', 'neggrad+'].flatMap((m) =>
  [0, 1].map((s) => `${m}/seed-${s}`),
);

/** What must not depend on where a run ran: everything but times and paths. */
function runMetrics(out: string): Record<string, unknown> {
  return Object.fromEntries(
    RUNS.map((id) => {
      const m = JSON.parse(readFileSync(join(out, id, 'metrics.json'), 'utf8'));
      return [
        id,
        {
          accuracy: m.accuracy,
          history: m.history,
          perClass: m.perClass,
          mia: m.mia,
          gap: m.gap,
          neurips: m.neurips,
          oracle: m.oracle && { accuracy: m.oracle.accuracy, mia: m.oracle.mia },
        },
      ];
    }),
  );
}

function entries(out: string): unknown {
  const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  return c.entries.map((e: { method: string; seeds: number[] }) => [e.method, e.seeds]);
}

let serial: Record<string, unknown>;

before(() => {
  writeTinyScenario(scenario, dataDir, { train: 240, test: 80, epochs: 2, forget: 'class:1' });
  process.env.LETHE_CACHE_DIR = join(root, 'cache');
  process.env.LETHE_COMMAND = JSON.stringify(lethe);
});

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('serial: the comparison as a plan run in this process', async () => {
  const out = join(root, 'serial');
  const r = await cli(...comparison(out));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err.match(/compare: running/g)?.length, 7, 'the original and 6 runs');
  assert.deepEqual(entries(out), [
    ['retrain', [0, 1]],
    ['finetune', [0, 1]],
    ['neggrad+', [0, 1]],
  ]);
  serial = runMetrics(out);
});

test('--plan writes every run as a job; lethe job runs one, skips it when done; --collect aggregates', async () => {
  const out = join(root, 'planned');
  const dir = join(root, 'plan');
  const r = await cli(...comparison(out, '--plan', dir));
  assert.equal(r.code, 0, r.err);
  const plan = readPlan(dir);
  assert.deepEqual(
    plan.jobs.map((j) => j.id),
    ['original', ...RUNS],
  );
  assert.deepEqual(plan.jobs[1].needs, ['original']);
  assert.equal(plan.aggregate.needs.length, 7);
  assert.equal(plan.jobs[3].spec.kind === 'unlearn' && plan.jobs[3].spec.method, 'finetune');
  assert.match(r.out, /lethe job .* --index <i>/);
  process.env.SLURM_ARRAY_TASK_ID = '3';
  try {
    const job = await cli('job', dir);
    assert.equal(job.code, 0, job.err);
    assert.match(job.out, /job 3 \(finetune\/seed-0\): done/);
    const again = await cli('job', dir);
    assert.match(again.out, /job 3 \(finetune\/seed-0\): skipped/);
  } finally {
    delete process.env.SLURM_ARRAY_TASK_ID;
  }
  assert.equal(readStatus(plan, 3)?.state, 'skipped');
  const bad = await cli('job', dir, '--index', '9');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /the plan has jobs 0\.\.6/);
  // Collecting with jobs left: their failures are listed, the rest is summarised.
  const partial = await cli('compare', '--collect', dir);
  assert.equal(partial.code, 2, 'no oracle finished: nothing to compare');
  assert.match(partial.err, /retrain\/seed-0: never ran/);
  for (const i of [1, 2, 4, 5, 6])
    assert.equal((await cli('job', dir, '--index', String(i))).code, 0);
  const collected = await cli('compare', '--collect', dir);
  assert.equal(collected.code, 0, collected.err);
  entries(out);
  assert.deepEqual(runMetrics(out), serial);
});

test('local: jobs in 2 processes give the same runs', async () => {
  const out = join(root, 'local');
  const r = await cli(...comparison(out, '--executor', 'local', '--jobs', '2'));
  assert.equal(r.code, 0, r.err);
  entries(out);
  assert.deepEqual(runMetrics(out), serial);
  const logs = readdirSync(join(out, 'plan', 'logs'));
  assert.equal(logs.length, 7, 'a log per job');
});

test('a failed job is reported with its error and log, the rest still runs, and rerunning resumes', async () => {
  const out = join(root, 'failing');
  const blocker = join(out, 'finetune', 'seed-1');
  mkdirSync(join(out, 'finetune'), { recursive: true });
  writeFileSync(blocker, 'a file where the run directory should be');
  const args = comparison(out, '--executor', 'local', '--jobs', '2');
  const r = await cli(...args);
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /lethe: job finetune\/seed-1 failed: --out .*seed-1: is a file, not a directory.* \(log: .*job-4\.log\)/,
  );
  const failed = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  assert.deepEqual(
    failed.failed.map((f: { job: string }) => f.job),
    ['finetune/seed-1'],
  );
  assert.deepEqual(
    failed.entries.map((e: { method: string; seeds: number[] }) => [e.method, e.seeds]),
    [
      ['retrain', [0, 1]],
      ['finetune', [0]],
      ['neggrad+', [0, 1]],
    ],
    'the other runs are summarised',
  );
  const createdAt = (id: string): string =>
    JSON.parse(readFileSync(join(out, id, 'config.json'), 'utf8')).createdAt;
  const before = RUNS.filter((id) => id !== 'finetune/seed-1').map(createdAt);
  rmSync(blocker);
  const again = await cli(...args);
  assert.equal(again.code, 0, again.err);
  entries(out);
  assert.deepEqual(
    RUNS.filter((id) => id !== 'finetune/seed-1').map(createdAt),
    before,
    'rerunning reuses the finished runs',
  );
  assert.deepEqual(runMetrics(out), serial);
});

function slurmUp(): string | null {
  try {
    execFileSync('sinfo', ['-h'], { stdio: 'pipe', timeout: 5000 });
    return null;
  } catch {
    // Start the single-node cluster where we may (as CI does through .ci/run).
    if (process.getuid?.() === 0 && existsSync('/usr/sbin/slurmctld')) {
      try {
        execFileSync('bash', [join(repo, 'scripts', 'services.sh'), 'slurm'], { stdio: 'pipe' });
        return null;
      } catch (error) {
        return `scripts/services.sh slurm failed: ${(error as { stderr?: Buffer }).stderr}`;
      }
    }
    return 'no Slurm cluster answers sinfo (install slurm-wlm and munge, and run scripts/services.sh as root)';
  }
}

test('slurm: an sbatch array and an aggregation after it give the same runs', async (t) => {
  const why = slurmUp();
  if (why) return unavailable(t, why);
  const out = join(root, 'slurm');
  const r = await cli(...comparison(out, '--executor', 'slurm', '--cpus', '1', '--submit'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /slurm: submitted array \d+ \(7 jobs\); the aggregation follows/);
  assert.match(
    r.err,
    /slurm: finetune\/seed-0 \[\d+_3\] (RUNNING|COMPLETED)/,
    'job states as Slurm says',
  );
  assert.match(r.err, /slurm: 7\/7 runs finished; .*7 COMPLETED/);
  assert.match(r.err, /slurm: every run finished; submitted the aggregation \d+/);
  const script = readFileSync(join(out, 'plan', 'slurm-array.sh'), 'utf8');
  assert.match(script, /#SBATCH --array=0-6/);
  entries(out);
  assert.deepEqual(runMetrics(out), serial);
  assert.match(readFileSync(join(out, 'plan', 'logs', 'collect.log'), 'utf8'), /comparison:/);
});

/** This user's Slurm tasks of the plan in `dir`, as `id state` rows (`15_3 RUNNING`). */
function slurmTasks(dir: string): string[] {
  const rows = execFileSync('squeue', ['-h', '-r', '--me', '-o', '%i %T %o'], { encoding: 'utf8' });
  return rows
    .split('\n')
    .filter((r) => r.includes(join(dir, 'slurm-array.sh')))
    .map((r) => r.split(' ').slice(0, 2).join(' '));
}

test('slurm faults: a failing task and a cancelled one are retried; one that fails for good is named, nothing aggregated, and rerunning resumes', async (t) => {
  const why = slurmUp();
  if (why) return unavailable(t, why);
  const out = join(root, 'slurm-faults');
  const plan = join(out, 'plan');
  // The jobs start through a wrapper: task 3's first attempt exits 3, task 5's first attempt
  // waits to be cancelled; task 4's run directory is blocked by a file, so it fails every time.
  const attempts = join(root, 'slurm-attempts');
  mkdirSync(attempts);
  const wrapper = join(root, 'faulty-lethe.sh');
  writeFileSync(
    wrapper,
    [
      '#!/bin/bash',
      `f=${attempts}/\${SLURM_ARRAY_TASK_ID:-none}`,
      'n=$(cat "$f" 2>/dev/null || echo 0); echo $((n + 1)) > "$f"',
      'if [[ $SLURM_ARRAY_TASK_ID == 3 && $n == 0 ]]; then echo "injected failure" >&2; exit 3; fi',
      'if [[ $SLURM_ARRAY_TASK_ID == 5 && $n == 0 ]]; then sleep 300; fi',
      `exec ${lethe.map((a) => `'${a}'`).join(' ')} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  mkdirSync(join(out, 'finetune'), { recursive: true });
  const blocker = join(out, 'finetune', 'seed-1');
  writeFileSync(blocker, 'a file where the run directory should be');
  const args = comparison(out, '--executor', 'slurm', '--cpus', '1', '--submit', '--retries', '1');
  process.env.LETHE_COMMAND = JSON.stringify([wrapper]);
  let first: Awaited<ReturnType<typeof cli>>;
  try {
    const running = cli(...args);
    // Cancel task 5 while its first attempt waits (bounded: 5 minutes on a loaded machine).
    let cancelled = '';
    for (let i = 0; i < 1500 && !cancelled; i++) {
      await sleep(200);
      if (!existsSync(join(attempts, '5'))) continue;
      const row = slurmTasks(plan).find((r) => /^\d+_5 RUNNING$/.test(r));
      if (row) execFileSync('scancel', [(cancelled = row.split(' ')[0])]);
    }
    assert.ok(cancelled, 'task 5 was seen running and cancelled');
    first = await running;
  } finally {
    process.env.LETHE_COMMAND = JSON.stringify(lethe);
  }
  assert.equal(first.code, 2, first.err);
  assert.match(first.err, /slurm: finetune\/seed-0 \[\d+_3\] FAILED \(exit 3:0\)/);
  assert.match(first.err, /slurm: neggrad\+\/seed-0 \[\d+_5\] CANCELLED/);
  assert.match(first.err, /resubmitted .*finetune\/seed-0 \(retry 1 of 1\).* as array \d+/);
  assert.match(first.err, /resubmitted .*neggrad\+\/seed-0 \(retry 1 of 1\).* as array \d+/);
  assert.match(
    first.err,
    /lethe: slurm: 1 job\(s\) failed for good: finetune\/seed-1 \[\d+_4\] FAILED \(exit \d:0: --out .*seed-1: is a file, not a directory; choose another --out\) after 2 attempt\(s\) \(log: .*job-4\.log\)\. The aggregation did not run on partial results/,
  );
  assert.match(
    first.err,
    new RegExp(`the 6 runs that finished are kept; resume with: lethe compare --scenario`),
  );
  assert.equal(readFileSync(join(attempts, '3'), 'utf8').trim(), '2', 'task 3 ran twice');
  assert.equal(readFileSync(join(attempts, '4'), 'utf8').trim(), '2', 'task 4: 1 retry');
  assert.ok(!existsSync(join(out, 'comparison.json')), 'no aggregation of partial results');
  assert.ok(!existsSync(join(attempts, 'none')), 'no aggregation job ran');

  const createdAt = (id: string): string =>
    JSON.parse(readFileSync(join(out, id, 'config.json'), 'utf8')).createdAt;
  const kept = RUNS.filter((id) => id !== 'finetune/seed-1');
  const before = kept.map(createdAt);
  rmSync(blocker);
  const again = await cli(...args);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /slurm: submitted array \d+ \(1 jobs; 6 finished already\)/);
  assert.deepEqual(kept.map(createdAt), before, 'the finished runs were not redone');
  entries(out);
  assert.deepEqual(runMetrics(out), serial);
});

test('slurm: with slurmd stopped and its node DOWN, the comparison fails at once naming the node state', async (t) => {
  const why = slurmUp();
  if (why) return unavailable(t, why);
  if (process.getuid?.() !== 0) return unavailable(t, 'stopping slurmd needs root');
  const node = execFileSync('scontrol', ['show', 'node', '-o'], { encoding: 'utf8' });
  const name = /NodeName=(\S+)/.exec(node)![1];
  const pidFile = '/run/slurmd.pid';
  const out = join(root, 'slurm-down');
  const started = Date.now();
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
        await sleep(100);
      } catch {
        break; // gone
      }
    }
    // What slurmctld does once slurmd missed SlurmdTimeout (300 s here), at once: DOWN. Where
    // other users' jobs run on this shared node, DOWN would kill them; it is drained instead.
    const busy = execFileSync('squeue', ['-h', '-t', 'RUNNING,COMPLETING', '-w', name], {
      encoding: 'utf8',
    }).trim();
    execFileSync('scontrol', [
      'update',
      `nodename=${name}`,
      `state=${busy ? 'drain' : 'down'}`,
      'reason=lethe test: slurmd stopped',
    ]);
    const r = await cli(...comparison(out, '--executor', 'slurm', '--cpus', '1', '--submit'));
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      new RegExp(
        `lethe: slurm: original \\[\\d+_0\\] can never start: PENDING \\(.*\\) in partition \\w+; node ${name} (DOWN|\\S*DRAIN)\\S* \\(reason: lethe test: slurmd stopped[^)]*\\)\\. Cancelled what it submitted \\(scancel \\d+\\)`,
      ),
    );
    assert.match(r.err, /resume with: lethe compare --scenario/);
    assert.deepEqual(slurmTasks(join(out, 'plan')), [], 'nothing left queued');
  } finally {
    // Give the node back to the other users of this cluster, whatever happened above.
    execFileSync('/usr/sbin/slurmd');
    for (let i = 0; i < 150; i++) {
      const state = execFileSync('sinfo', ['-h', '-n', name, '-o', '%T'], {
        encoding: 'utf8',
      }).trim();
      if (/^(idle|mixed|allocated)$/.test(state)) break;
      try {
        execFileSync('scontrol', ['update', `nodename=${name}`, 'state=resume'], {
          stdio: 'ignore',
        });
      } catch {
        // Not down any more (slurmd registered and ReturnToService brought it back).
      }
      await sleep(200);
    }
  }
  assert.ok(Date.now() - started < 60_000, 'the node was away for under a minute');
});

test('slurm: a comparison whose jobs are held stops after the stall timeout, naming them, and cancels them', async (t) => {
  const why = slurmUp();
  if (why) return unavailable(t, why);
  const out = join(root, 'slurm-held');
  const plan = join(out, 'plan');
  const running = cli(
    ...comparison(out, '--executor', 'slurm', '--cpus', '1', '--submit', '--stall-timeout', '0.1'),
  );
  let held = '';
  for (let i = 0; i < 300 && !held; i++) {
    await sleep(100);
    const row = slurmTasks(plan)[0];
    if (row) execFileSync('scontrol', ['hold', (held = row.split('_')[0])]);
  }
  assert.ok(held, 'the array was seen and held');
  const r = await running;
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /lethe: slurm: nothing moved for 0\.1 min \(--stall-timeout 0\.1\); stuck: .*\[\d+_6\] PENDING \(JobHeld(User|Admin)\).*; cancelled what it submitted \(scancel \d+\)\. Stopped waiting; the \d of 7 runs that finished are kept; resume with: lethe compare --scenario/,
  );
  assert.deepEqual(slurmTasks(plan), [], 'nothing left queued');
});

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** A Redis of this test's own on a free loopback port, or why there is none. */
async function startRedis(): Promise<{ url: string } | { why: string }> {
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!bin) return { why: 'redis-server is not installed (bash scripts/setup.sh installs it)' };
  const port = await freePort();
  const redis = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  children.push(redis);
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      return { url: `redis://127.0.0.1:${port}` };
    } catch {
      await sleep(100);
    }
  }
  return { why: `redis-server did not answer on port ${port}` };
}

function worker(url: string, log: string, ...more: string[]): ChildProcess {
  const [cmd, ...args] = lethe;
  const w = spawn(
    cmd,
    [...args, 'worker', '--redis', url, '--lock-seconds', '3', '--threads', '1', ...more],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: string[] = [];
  w.stdout!.on('data', (d) => chunks.push(String(d)));
  w.stderr!.on('data', (d) => chunks.push(String(d)));
  w.on('exit', () => writeFileSync(log, chunks.join('')));
  children.push(w);
  return w;
}

test('queue: a BullMQ flow taken by lethe worker processes; a worker killed mid-job is replaced', async (t) => {
  const redis = await startRedis();
  if ('why' in redis) return unavailable(t, redis.why);
  const out = join(root, 'queue');
  const w1 = worker(redis.url, join(root, 'worker1.log'));
  const r = await cli(...comparison(out, '--executor', 'queue', '--redis', redis.url));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /queue: 7\/7 runs finished/);
  entries(out);
  assert.deepEqual(runMetrics(out), serial);

  // Kill the only worker while it runs an unlearning job; a second one takes the job over.
  const killed = join(root, 'queue-killed');
  const running = cli(
    ...comparison(
      killed,
      '--executor',
      'queue',
      '--redis',
      redis.url,
      '--opt',
      'neggrad+.epochs=3',
    ),
  );
  // Up to 5 minutes: on a loaded machine the worker reaches neggrad+'s second epoch late.
  let victim = -1;
  for (let i = 0; i < 3000 && victim < 0; i++) {
    await sleep(100);
    if (!existsSync(join(killed, 'plan', 'plan.json'))) continue;
    const plan = readPlan(join(killed, 'plan'));
    victim = plan.jobs.findIndex(
      (j, k) =>
        j.id.startsWith('neggrad+') &&
        readStatus(plan, k)?.state === 'running' &&
        existsSync(join(j.out, 'checkpoint.safetensors')),
    );
  }
  assert.ok(victim >= 0, 'a neggrad+ job was seen running with a checkpoint');
  w1.kill('SIGKILL');
  const w2 = worker(redis.url, join(root, 'worker2.log'));
  const r2 = await running;
  assert.equal(r2.code, 0, r2.err);
  const c = JSON.parse(readFileSync(join(killed, 'comparison.json'), 'utf8'));
  assert.equal(c.failed, undefined, 'every job finished');
  assert.deepEqual(
    c.entries.map((e: { method: string; seeds: number[] }) => [e.method, e.seeds]),
    [
      ['retrain', [0, 1]],
      ['finetune', [0, 1]],
      ['neggrad+', [0, 1]],
    ],
  );
  const log = readFileSync(readPlan(join(killed, 'plan')).jobs[victim].log!, 'utf8');
  assert.match(log, /the worker that started this job exited/, 'the orphaned job stopped');
  assert.match(log, /resuming after epoch \d of 3/, 'the retry continued from its checkpoint');
  w2.kill('SIGTERM');
});

test(
  'queue faults: with no worker it stops after the stall timeout saying how to resume; Redis restarted mid-comparison, the workers reconnect and it completes',
  { timeout: 600_000 },
  async (t) => {
    const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
    if (!bin)
      return unavailable(t, 'redis-server is not installed (bash scripts/setup.sh installs it)');
    // A Redis of this test's own, persisting every write to its own directory, so that it can be
    // restarted without touching the shared one.
    const port = await freePort();
    const dir = join(root, 'redis-data');
    mkdirSync(dir);
    const startRedisHere = async (): Promise<ChildProcess> => {
      const redis = spawn(
        bin,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
        ],
        { stdio: 'ignore' },
      );
      children.push(redis);
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
          return redis;
        } catch {
          await sleep(100);
        }
      }
      throw new Error(`redis-server did not answer on port ${port}`);
    };
    let redis = await startRedisHere();
    const url = `redis://127.0.0.1:${port}`;
    const out = join(root, 'queue-faults');
    const args = (minutes: string): string[] =>
      comparison(out, '--executor', 'queue', '--redis', url, '--stall-timeout', minutes);
    const stalled = await cli(...args('0.1'));
    assert.equal(stalled.code, 2, stalled.err);
    assert.match(
      stalled.err,
      /queue: 7 jobs waiting: original \[[\w-]+\], retrain\/seed-0 \[[\w-]+\]/,
      'job states as BullMQ says',
    );
    assert.match(
      stalled.err,
      /lethe: queue: nothing moved for 0\.1 min \(--stall-timeout 0\.1\); stuck: original \[[\w-]+\] waiting, retrain\/seed-0 \[[\w-]+\] waiting, .*aggregate \[[\w-]+\] waiting-children; no worker connected \(start one: lethe worker --redis redis:\/\/127\.0\.0\.1:\d+ --queue lethe\); took its jobs off the queue\. Stopped waiting; the 0 of 7 runs that finished are kept; resume with: /,
    );
    assert.equal(/resume with: (.*)$/m.exec(stalled.err)![1], `lethe ${args('0.1').join(' ')}`);
    assert.equal(
      execFileSync('redis-cli', ['-p', String(port), 'llen', 'bull:lethe:wait'], {
        encoding: 'utf8',
      }).trim(),
      '0',
      'nothing left waiting',
    );

    // Resumed with workers (and a stall timeout that a loaded machine starting a job does not reach).
    const w = worker(url, join(root, 'worker-restart.log'), '--concurrency', '2');
    const running = cli(...args('2'));
    const finished = (): number =>
      RUNS.filter((id) => existsSync(join(out, id, 'run.json'))).length;
    for (let i = 0; i < 1500 && finished() < 2; i++) await sleep(200);
    assert.ok(finished() >= 2, 'two runs finished before the restart');
    redis.kill('SIGTERM');
    await new Promise((ok) => redis.once('exit', ok));
    await sleep(1000);
    redis = await startRedisHere();
    const r = await running;
    assert.equal(r.code, 0, r.err);
    entries(out);
    assert.deepEqual(runMetrics(out), serial);
    w.kill('SIGTERM');
    await new Promise((ok) => w.once('exit', ok));
    assert.match(
      readFileSync(join(root, 'worker-restart.log'), 'utf8'),
      /worker: .*(ECONNREFUSED|Connection is closed)/,
    );
  },
);
