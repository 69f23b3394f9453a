/**
 * `lethe serve` in a real browser (Playwright driving Debian's chromium): real runs on a tiny data
 * set, a run and a comparison followed live while other processes write them, the forget set's
 * pictures, and every page at 1280 px and 390 px without horizontal overflow. Without
 * /usr/bin/chromium the tests skip (or fail, where LETHE_REQUIRE_ENGINES=1, as CI sets).
 * LETHE_SERVE_SCREENSHOTS=<dir> keeps the screenshots there (the README's come from this run).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../src/serve/app.js';
import { CHROMIUM, launchChromium } from './chromium-helpers.js';
import { lethe } from './cli-helpers.js';
import { writeIdx } from './idx-helpers.js';

const requireEngines = process.env.LETHE_REQUIRE_ENGINES === '1';
const haveChromium = existsSync(CHROMIUM);

const base = mkdtempSync(join(tmpdir(), 'lethe-serve-browser-'));
const root = join(base, 'runs');
const dataDir = join(base, 'data');
const data = `mnist:${dataDir}`;
const shots = process.env.LETHE_SERVE_SCREENSHOTS ?? join(base, 'shots');
const repo = resolve(import.meta.dirname, '..');
const cmp = join(root, 'cmp');
const planDir = join(cmp, 'plan');

let dash: Dashboard;
let browser: BrowserContext;

function unavailable(t: TestContext): boolean {
  if (haveChromium) return false;
  const why = `${CHROMIUM} is missing (apt-get install chromium; scripts/setup.sh installs it)`;
  if (requireEngines) assert.fail(`LETHE_REQUIRE_ENGINES=1 but ${why}`);
  t.skip(why);
  return true;
}

/** `lethe …` in another process, so this one keeps serving while it runs. */
function letheProcess(...args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(repo, 'test', 'lethe-bin.ts'), ...args],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0
        ? ok()
        : fail(new Error(`lethe ${args.join(' ')}: exit ${code}\n${err.slice(-2000)}`)),
    );
  });
}

const TRAIN = ['--batch-size', '16', '--lr', '0.05', '--seed', '3'];

before(async () => {
  if (!haveChromium) return;
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(shots, { recursive: true });
  writeIdx(dataDir, { train: 160, test: 80 });
  const t = await lethe(
    'train',
    '--data',
    data,
    '--epochs',
    '2',
    ...TRAIN,
    '--out',
    join(root, 'original'),
  );
  assert.equal(t.code, 0, t.err);
  const p = await lethe(
    'compare',
    '--from',
    join(root, 'original'),
    '--methods',
    'finetune',
    '--forget',
    'class:1',
    '--seeds',
    '2',
    '--opt',
    'retrain.epochs=1',
    '--opt',
    'finetune.epochs=2',
    '--out',
    cmp,
    '--plan',
    planDir,
  );
  assert.equal(p.code, 0, p.err);
  // Three of the four jobs now; the last one while the comparison page is open.
  for (const i of [0, 1, 2]) {
    const j = await lethe('job', planDir, '--index', String(i));
    assert.equal(j.code, 0, j.err);
  }
  dash = await startDashboard({ dir: root, port: 0, pollMs: 100 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await dash?.close();
});

/** Opens `path`, failing on any script error or request that leaves the server. */
async function open(path: string, width = 1280): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  const origin = new URL(dash.url).origin;
  page.on('pageerror', (e) => assert.fail(`${path}: ${e.message}`));
  page.on('request', (r) => assert.ok(r.url().startsWith(origin), `${path} requested ${r.url()}`));
  await page.goto(new URL(path, dash.url).href);
  return page;
}

/** Screenshots a page at 1280 and 390 px and checks neither scrolls sideways. */
async function checkWidths(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    const { scroll, inner } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
    }));
    assert.ok(scroll <= inner, `${name} at ${width} px: the page is ${scroll} px wide`);
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('the runs list: states, metrics, filters, links to reports', async (t) => {
  if (unavailable(t)) return;
  const page = await open('/');
  await page.waitForSelector('tr.run');
  const rows = await page.$$eval('tr.run', (trs) =>
    trs.map((tr) => [tr.getAttribute('data-path'), tr.getAttribute('data-state')]),
  );
  assert.deepEqual(rows, [
    ['cmp/finetune/seed-0', 'finished'],
    ['cmp/retrain/seed-0', 'finished'],
    ['cmp/retrain/seed-1', 'finished'],
    ['original', 'finished'],
  ]);
  assert.match((await page.textContent('#comparisons')) ?? '', /3\/4 finished/);
  await page.selectOption('#filter-method', 'retrain');
  assert.equal(await page.locator('tr.run').count(), 2);
  await page.fill('#filter-text', 'seed-1');
  assert.equal(await page.locator('tr.run').count(), 1);
  await page.selectOption('#filter-method', '');
  await page.fill('#filter-text', '');
  await checkWidths(page, 'runs');
  await page.click('tr.run[data-path="original"] a:text("report")');
  await page.waitForLoadState();
  assert.match(await page.title(), /^Lethe: train on mnist/);
  await page.close();
});

test('a run in progress appears live: steps, epochs, ETA, then finished', async (t) => {
  if (unavailable(t)) return;
  const out = join(root, 'live');
  mkdirSync(out);
  const page = await open('/run?path=live');
  await page.waitForSelector('#cards');
  assert.equal(await page.evaluate(() => document.body.dataset.steps), '0');
  const run = letheProcess(
    'unlearn',
    '--from',
    join(root, 'original'),
    '--forget',
    'class:1',
    '--method',
    'finetune',
    '--epochs',
    '3',
    '--batch-size',
    '8',
    '--seed',
    '1',
    '--out',
    out,
  );
  // Steps arrive while the run runs (the page was open before it started).
  await page.waitForFunction(() => Number(document.body.dataset.steps) > 0, null, {
    timeout: 60_000,
  });
  await run;
  await page.waitForSelector('#cards .state[data-state="finished"]', { timeout: 10_000 });
  // 3 epochs of ⌈120 / 8⌉ = 15 steps (class 1 is a quarter of the 160 examples).
  await page.waitForFunction(() => document.body.dataset.steps === '45');
  assert.match((await page.textContent('#cards')) ?? '', /45\/45epoch 3\/3 · ETA 0 s/);
  const points = await page.evaluate(() => {
    const chart = (
      globalThis as unknown as {
        Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } };
      }
    ).Chart;
    return [
      chart.getChart('chart-batch')!.data.datasets[1].data.length,
      chart.getChart('chart-eval')!.data.datasets[0].data.length,
    ];
  });
  assert.deepEqual(
    points,
    [45, 4],
    'every step; the eval-mode accuracies before the run and after each of its 3 epochs',
  );
  await checkWidths(page, 'run');
  await page.close();
});

test('a comparison fills in as its last job finishes, then shows the verdict', async (t) => {
  if (unavailable(t)) return;
  const page = await open('/comparison?path=cmp');
  await page.waitForSelector('#job-table');
  const states = (): Promise<string[]> =>
    page.$$eval('tr.job', (trs) =>
      trs.map((tr) => `${tr.getAttribute('data-id')}:${tr.getAttribute('data-state')}`),
    );
  assert.deepEqual(await states(), [
    'retrain/seed-0:finished',
    'retrain/seed-1:finished',
    'finetune/seed-0:finished',
    'finetune/seed-1:waiting',
  ]);
  assert.equal(await page.textContent('#mean-std tr[data-method="finetune"] td.num'), '1');
  await letheProcess('job', planDir, '--index', '3');
  await page.waitForFunction(
    () =>
      document.querySelector('#mean-std tr[data-method="finetune"] td.num')?.textContent === '2',
  );
  assert.deepEqual((await states()).at(-1), 'finetune/seed-1:finished');
  assert.equal(
    await page.locator('#verdict-box').count(),
    0,
    'no verdict before the comparison is collected',
  );
  await letheProcess('compare', '--collect', planDir);
  await page.waitForSelector('#verdict-box', { timeout: 10_000 });
  assert.match(
    (await page.textContent('#verdict-box')) ?? '',
    /finetune: (forgot like retraining|damaged the model|over-forgot|under-forgot)[^;]*; Avg Gap \d\.\d{3} ± \d\.\d{3} \(per seed: .* in \d of 2/,
  );
  assert.match((await page.textContent('#mean-std')) ?? '', /Avg Gap/);
  await checkWidths(page, 'comparison');
  await page.close();
});

test('the forget set as pictures: ranked against the oracle, class filter, one example on click', async (t) => {
  if (unavailable(t)) return;
  const page = await open('/forget?path=cmp/finetune/seed-0');
  await page.waitForSelector('.thumb img');
  assert.equal(await page.getAttribute('#ranking', 'data-ranking'), 'oracle-gap');
  assert.equal(await page.locator('.thumb').count(), 40, 'class 1 of 160: 40 forget examples');
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('.thumb img')]
      .slice(0, 8)
      .every((i) => i.complete && i.naturalWidth === 10),
  );
  await page.selectOption('#filter-class', '1');
  assert.equal(await page.locator('.thumb').count(), 40);
  await page.click('.thumb >> nth=0');
  await page.waitForSelector('#detail-table');
  const rows = await page.$$eval('#detail-table tbody tr', (trs) =>
    trs.map((tr) => tr.querySelector('th')!.textContent),
  );
  assert.deepEqual(rows, ['this run', 'original', 'oracle']);
  assert.match((await page.textContent('#detail-score')) ?? '', /^−?\d+\.\d{3}$/);
  await checkWidths(page, 'forget');
  await page.close();
});
