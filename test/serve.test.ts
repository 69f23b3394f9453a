import assert from 'node:assert/strict';
import { request } from 'node:http';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { logRecord, parseEventLog, type LogRecord } from '../src/run/event-log.js';
import { startDashboard, type Dashboard } from '../src/serve/app.js';
import { exampleView } from '../src/serve/forget.js';
import { encodePng } from '../src/serve/png.js';
import { progressOf } from '../src/serve/progress.js';
import { writeIdx } from './idx-helpers.js';
import { writeAudit, writeFixtureRun } from './serve-helpers.js';

const base = mkdtempSync(join(tmpdir(), 'lethe-serve-'));
const root = join(base, 'runs');
const outside = join(base, 'secret');
const dataDir = join(base, 'data');
const data = `mnist:${dataDir}`;
let dash: Dashboard;

const labelOf = (i: number): number => i % 4;
/** The unlearned model's logit of the true class per forget example (others 0). */
const A: Record<number, number> = { 1: 2, 5: 0, 9: 1 };
const ORACLE = 0.5;
const forget = [1, 5, 9];

function lines(records: LogRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** Every file under `dir` with its size and modification time: the server must change none. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[p] = `${statSync(p).size}:${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

/** A raw GET: the path goes out byte for byte (fetch would normalise `..` and `%2e%2e`). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; bytes: Buffer; headers: Record<string, unknown> }> {
  const url = new URL(dash.url);
  return new Promise((ok, fail) => {
    // A fresh connection each time: a kept-alive socket the server closed while a slow test ran
    // would fail the next request.
    const req = request(
      { host: url.hostname, port: url.port, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          ok({
            status: res.statusCode!,
            body: bytes.toString('utf8'),
            bytes,
            headers: res.headers,
          });
        });
      },
    );
    req.on('error', fail);
    req.end();
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server
async function json(path: string): Promise<any> {
  const r = await rawGet(path);
  assert.equal(r.status, 200, `${path}: ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

before(async () => {
  mkdirSync(dataDir, { recursive: true });
  writeIdx(dataDir, { train: 24, test: 12 });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'report.html'), 'SECRET');
  writeFileSync(join(outside, 'config.json'), '{"method":"SECRET"}');
  const common = { data, forget, trainSize: 24, labelOf, classes: 4 };
  writeFixtureRun(join(root, 'original'), {
    ...common,
    command: 'train',
    method: 'train',
    logit: (k, c) => (c === labelOf(k) ? 3 : 0),
  });
  writeFixtureRun(join(root, 'oracle'), {
    ...common,
    method: 'retrain',
    logit: (k, c) => (c === labelOf(k) ? ORACLE : 0),
  });
  const oracle = {
    accuracy: { forget: 0, retain: 0.7, test: 0.5 },
    mia: { simple: 0.5, efficacy: 0.5 },
    seconds: 2,
    run: resolve(root, 'oracle'),
  };
  for (const method of ['finetune', 'neggrad+'])
    writeFixtureRun(join(root, method), {
      ...common,
      method,
      from: resolve(root, 'original'),
      scenario: 'tiny',
      logit: (k, c) => (c === labelOf(k) ? (A[k] ?? 4) : 0),
      metrics: { oracle, gap: { forget: 0.25, retain: 0.05, test: 0, mia: 0.1, avg: 0.1 } },
    });
  writeAudit(join(root, 'audit'), data, 'finetune', [
    { index: 1, label: 1, accuracy: 0.5, separation: 0.1 },
    { index: 5, label: 1, accuracy: 0.9, separation: 1.0 },
    { index: 9, label: 1, accuracy: 0.9, separation: 2.0 },
  ]);

  // States: running (written now), interrupted (its log is old), failed (its job says so).
  const log = lines([
    {
      ...logRecord(
        'srfl',
        { type: 'start', method: 'srfl', epochs: 2, stepsPerEpoch: 5, options: {} },
        1000,
      )!,
    },
    {
      ...logRecord(
        'srfl',
        {
          type: 'step',
          epoch: 1,
          stepsPerEpoch: 5,
          record: { step: 0, facc: 1, racc: 0.5, loss: 2 },
        },
        2000,
      )!,
    },
    {
      ...logRecord(
        'srfl',
        {
          type: 'step',
          epoch: 1,
          stepsPerEpoch: 5,
          record: { step: 1, facc: 0.5, racc: 0.75, loss: 1 },
        },
        4000,
      )!,
    },
  ]);
  for (const name of ['running', 'interrupted']) {
    mkdirSync(join(root, 'states', name), { recursive: true });
    writeFileSync(join(root, 'states', name, 'events.jsonl'), log);
  }
  const old = new Date(Date.now() - 5 * 60_000);
  utimesSync(join(root, 'states', 'interrupted', 'events.jsonl'), old, old);
  const cmp = join(root, 'cmp');
  mkdirSync(join(cmp, 'plan', 'jobs'), { recursive: true });
  mkdirSync(join(cmp, 'srfl', 'seed-0'), { recursive: true });
  writeFileSync(join(cmp, 'srfl', 'seed-0', 'events.jsonl'), log);
  utimesSync(join(cmp, 'srfl', 'seed-0', 'events.jsonl'), old, old);
  writeFileSync(
    join(cmp, 'plan', 'plan.json'),
    JSON.stringify({
      format: 'lethe-plan/1',
      out: cmp,
      forget: 'class:1',
      jobs: [
        {
          id: 'srfl/seed-0',
          out: join(cmp, 'srfl', 'seed-0'),
          spec: { kind: 'unlearn', method: 'srfl', seed: 0 },
        },
        {
          id: 'srfl/seed-1',
          out: join(cmp, 'srfl', 'seed-1'),
          spec: { kind: 'unlearn', method: 'srfl', seed: 1 },
        },
      ],
    }),
  );
  writeFileSync(
    join(cmp, 'plan', 'jobs', '0.json'),
    JSON.stringify({ state: 'failed', error: 'out of memory', host: 'node7', pid: 1, at: '' }),
  );

  // Malformed and half-written files.
  mkdirSync(join(root, 'broken', 'config'), { recursive: true });
  writeFileSync(join(root, 'broken', 'config', 'config.json'), '{"method": "srfl", ');
  writeFixtureRun(join(root, 'broken', 'manifest'), {
    ...common,
    method: 'finetune',
    logit: () => 0,
  });
  writeFileSync(join(root, 'broken', 'manifest', 'run.json'), '{"format": "lethe-run"}');
  writeFixtureRun(join(root, 'broken', 'digest'), {
    ...common,
    method: 'finetune',
    logit: () => 0,
  });
  writeFileSync(
    join(root, 'broken', 'digest', 'metrics.json'),
    '{"method":"finetune","accuracy":{"forget":1,"retain":1,"test":1},"seconds":1,"history":{"epochs":[],"steps":[]}}',
  );

  // Symlinks: one out of the root, one within it.
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync(join(root, 'finetune'), join(root, 'alias'));

  dash = await startDashboard({ dir: root, port: 0, pollMs: 50 });
});

after(() => dash?.close());

test('the event log: records by hand, a half-written last line left for later, bad lines reported', () => {
  const start = logRecord(
    'x',
    {
      type: 'start',
      method: 'srfl',
      epochs: 3,
      stepsPerEpoch: 4,
      options: {},
      resumed: { epoch: 1, step: 4 },
    },
    7,
  )!;
  assert.deepEqual(start, {
    type: 'start',
    format: 'lethe-events/1',
    t: 7,
    label: 'x',
    method: 'srfl',
    epochs: 3,
    stepsPerEpoch: 4,
    totalSteps: 12,
    fromStep: 4,
  });
  assert.equal(logRecord('x', { type: 'evaluate', epoch: 1, what: 'forget' }), null);
  const text = `${JSON.stringify(start)}\n{"type":"step","t":8,"epoch":2,"step":4,"facc":null,"racc":0.5,"loss":1}\nnot json\n{"type":"epoch","t":9}\n{"type":"end","t":10,"sec`;
  const parsed = parseEventLog(text);
  assert.deepEqual(
    parsed.records.map((r) => r.type),
    ['start', 'step'],
  );
  assert.ok(
    Number.isNaN((parsed.records[1] as { facc: number }).facc),
    'a batch without forget examples: NaN',
  );
  assert.equal(parsed.problems.length, 2);
  assert.match(parsed.problems[0], /^line 3: not JSON/);
  assert.equal(parsed.problems[1], "line 4: epoch record without a number 'epoch'");
  assert.equal(parsed.consumed, Buffer.byteLength(text) - '{"type":"end","t":10,"sec'.length);
  // ETA: 2 of 10 steps done, 2000 ms per step between the two steps → 8 × 2 s.
  const p = progressOf(
    parseEventLog(
      lines([
        logRecord(
          'srfl',
          { type: 'start', method: 'srfl', epochs: 2, stepsPerEpoch: 5, options: {} },
          1000,
        )!,
        logRecord(
          'srfl',
          {
            type: 'step',
            epoch: 1,
            stepsPerEpoch: 5,
            record: { step: 0, facc: 1, racc: 0.5, loss: 2 },
          },
          2000,
        )!,
        logRecord(
          'srfl',
          {
            type: 'step',
            epoch: 1,
            stepsPerEpoch: 5,
            record: { step: 1, facc: 0.5, racc: 0.75, loss: 1 },
          },
          4000,
        )!,
      ]),
    ).records,
    0,
  )!;
  assert.deepEqual(
    { step: p.step, total: p.totalSteps, eta: p.eta, epoch: p.epoch },
    { step: 2, total: 10, eta: 16, epoch: 1 },
  );
});

test('encodePng writes a PNG that decodes to the same pixels (grey and RGB)', async () => {
  const grey = Uint8Array.from({ length: 6 }, (_, i) => i * 40);
  assert.equal((await sharp(encodePng(grey, 1, 2, 3)).metadata()).channels, 1, 'a grey PNG');
  const g = await sharp(encodePng(grey, 1, 2, 3))
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([g.info.width, g.info.height, g.info.channels], [3, 2, 1]);
  assert.deepEqual([...g.data], [...grey]);
  // CHW floats in 0..1 → interleaved bytes.
  const rgb = Float32Array.from([0, 1, 0.5, 0.25, /* G */ 1, 0, 0, 0, /* B */ 0, 0, 1, 1]);
  const c = await sharp(encodePng(rgb, 3, 2, 2))
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([...c.data], [0, 255, 0, 255, 0, 0, 128, 0, 255, 64, 0, 255]);
  assert.throws(() => encodePng(grey, 2, 1, 3), /expected 1 or 3 channels but received 2/);
});

test('φ of a logit row by hand', () => {
  const v = exampleView(Float32Array.from([2, 0, 0, 0]), 0, 4, 0);
  assert.equal(v.pred, 0);
  assert.ok(Math.abs(v.phi - (2 - Math.log(3))) < 1e-6);
  assert.ok(Math.abs(v.py - Math.exp(2) / (Math.exp(2) + 3)) < 1e-6);
  const w = exampleView(Float32Array.from([0, 1000, 0]), 0, 3, 0);
  assert.ok(Math.abs(w.phi + 1000) < 1e-3, 'no overflow');
});

test('the index: states from commit state and events, metrics, comparisons and audits', async () => {
  await dash.scanner.settled();
  await new Promise((r) => setTimeout(r, 120));
  const index = await json('/api/index');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server
  const run = (p: string): any => index.runs.find((r: { path: string }) => r.path === p);
  assert.equal(run('finetune').state, 'finished');
  assert.equal(run('finetune').verified, true);
  assert.deepEqual(run('finetune').metrics, {
    forget: 0.25,
    retain: 0.75,
    test: 0.5,
    seconds: 1.5,
    gapAvg: 0.1,
  });
  assert.equal(run('finetune').scenario, 'tiny');
  assert.equal(run('original').command, 'train');
  assert.equal(run('states/running').state, 'running');
  assert.deepEqual(
    {
      step: run('states/running').progress.step,
      total: run('states/running').progress.totalSteps,
      eta: run('states/running').progress.eta,
    },
    { step: 2, total: 10, eta: 16 },
  );
  assert.equal(run('states/interrupted').state, 'interrupted');
  assert.equal(run('cmp/srfl/seed-0').state, 'failed');
  assert.equal(run('cmp/srfl/seed-0').reason, 'out of memory');
  assert.equal(run('broken/config').state, 'unreadable');
  assert.match(run('broken/config').reason, /^config\.json is not valid JSON/);
  assert.equal(run('broken/manifest').state, 'unreadable');
  assert.match(run('broken/manifest').reason, /not a Lethe run manifest/);
  assert.equal(run('broken/digest').state, 'unreadable');
  assert.equal(
    run('broken/digest').reason,
    'metrics.json does not match its digest in run.json (changed or damaged after the run finished)',
  );
  assert.equal(run('escape'), undefined, 'a symlink out of the root is not followed');
  assert.equal(
    index.runs.filter((r: { path: string }) => r.path === 'alias' || r.path === 'finetune').length,
    1,
    'a symlink within the root is one run',
  );
  const cmp = index.comparisons.find((c: { path: string }) => c.path === 'cmp');
  assert.deepEqual(cmp.jobs, { total: 2, finished: 0, running: 0, failed: 1 });
  assert.equal(cmp.forget, 'class:1');
  assert.deepEqual(
    index.audits.map((a: { path: string; methods: string[] }) => [a.path, a.methods]),
    [['audit', ['finetune']]],
  );
  const detail = await json('/api/comparison?path=cmp');
  assert.deepEqual(
    detail.jobs.map((j: { id: string; state: string }) => [j.id, j.state]),
    [
      ['srfl/seed-0', 'failed'],
      ['srfl/seed-1', 'waiting'],
    ],
  );
});

test('the forget set: ranked by the audit where there is one, else by the φ gap to the oracle', async () => {
  const plain = await json('/api/forget?path=neggrad%2B');
  assert.equal(plain.ranking, 'oracle-gap');
  // gap = (a_k − ln 3) − (0.5 − ln 3) = a_k − 0.5 → 1.5, 0.5, −0.5.
  assert.deepEqual(
    plain.examples.map((e: { index: number }) => e.index),
    [1, 9, 5],
  );
  assert.deepEqual(
    plain.examples.map((e: { gap: number }) => Math.round(e.gap * 1e6) / 1e6),
    [1.5, 0.5, -0.5],
  );
  const first = plain.examples[0];
  assert.ok(Math.abs(first.model.phi - (2 - Math.log(3))) < 1e-6);
  assert.ok(Math.abs(first.original.phi - (3 - Math.log(3))) < 1e-6);
  assert.ok(Math.abs(first.oracle.phi - (0.5 - Math.log(3))) < 1e-6);
  assert.deepEqual(plain.notes, []);
  const audited = await json('/api/forget?path=finetune');
  assert.equal(audited.ranking, 'audit');
  assert.equal(audited.audit, 'audit');
  // Accuracy 0.9, 0.9, 0.5; ties broken by separation 2.0 > 1.0.
  assert.deepEqual(
    audited.examples.map((e: { index: number }) => e.index),
    [9, 5, 1],
  );
  assert.deepEqual(audited.examples[0].audit.separation, 2);
  const png = await rawGet('/api/thumb?path=finetune&index=5');
  assert.equal(png.headers['content-type'], 'image/png');
  const img = await sharp(png.bytes).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([img.info.width, img.info.height], [10, 10]);
  const bad = await rawGet('/api/thumb?path=finetune&index=24');
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error, /index: expected an integer in 0\.\.23 but received 24/);
});

test('no path outside the served directory is read: .., encoded, absolute, symlinks', async () => {
  const before = snapshot(base);
  const attempts = [
    '/api/run?path=..%2Fsecret',
    '/api/run?path=../secret',
    '/api/run?path=%2e%2e/secret',
    '/api/run?path=%252e%252e/secret',
    '/api/run?path=finetune/../../secret',
    `/api/run?path=${encodeURIComponent(outside)}`,
    '/api/run?path=escape',
    '/report?path=escape',
    '/report?path=..',
    '/report?path=%2E%2E%2Fsecret',
    `/report?path=${encodeURIComponent(outside)}`,
    '/report?path=..\\secret',
    '/api/forget?path=escape',
    '/api/thumb?path=escape&index=0',
    '/run?path=../secret',
    '/run/../../secret/report.html',
    '/%2e%2e/%2e%2e/secret/report.html',
    '/api/comparison?path=..',
  ];
  for (const path of attempts) {
    const r = await rawGet(path);
    assert.ok([400, 403, 404].includes(r.status), `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET/, path);
  }
  assert.equal((await rawGet('/api/run?path=escape')).status, 403);
  assert.equal((await rawGet('/api/run?path=..%2Fsecret')).status, 403);
  assert.equal(
    (await rawGet('/report?path=alias')).status,
    200,
    'a symlink within the root is served',
  );
  assert.equal(
    (await rawGet('/api/index', { host: 'attacker.example' })).status,
    403,
    'DNS rebinding',
  );
  assert.equal(
    (await rawGet('/api/index', { host: `localhost:${new URL(dash.url).port}` })).status,
    200,
  );
  // Nothing was written, not even by reading the damaged runs.
  assert.deepEqual(snapshot(base), before);
  assert.equal((await rawGet('/api/index')).status, 200, 'still serving');
});

test('another host needs a token, and every request must carry it', async () => {
  await assert.rejects(
    startDashboard({ dir: root, host: '0.0.0.0', port: 0 }),
    /--host 0\.0\.0\.0: serving beyond this machine needs --token/,
  );
  const guarded = await startDashboard({ dir: root, port: 0, token: 'sesame-1234' });
  try {
    const url = (p: string): URL => new URL(p, guarded.url);
    assert.equal((await fetch(url('/api/index'))).status, 401);
    assert.equal((await fetch(url('/api/index?token=wrong-token'))).status, 401);
    assert.equal(
      (await fetch(url('/api/index'), { headers: { authorization: 'Bearer sesame-1234' } })).status,
      200,
    );
    const first = await fetch(url('/?token=sesame-1234'));
    assert.equal(first.status, 200);
    const cookie = first.headers.get('set-cookie')!;
    assert.match(cookie, /lethe_token=sesame-1234; .*HttpOnly/);
    assert.equal(
      (await fetch(url('/api/index'), { headers: { cookie: cookie.split(';')[0] } })).status,
      200,
    );
  } finally {
    await guarded.close();
  }
});
