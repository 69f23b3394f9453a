/**
 * `lethe audit`: U-LiRA against retraining (src/eval/stats/ulira.ts), as a plan of jobs.
 *
 * The design, for a pool P (the scenario's training set) and K shadow models:
 * - an *audit set* A ⊂ P of `auditSize` examples (default: twice the scenario's forget count),
 *   drawn from the audit's seed;
 * - every example of A is put in the forget set of exactly ⌈K/2⌉ or ⌊K/2⌋ shadows (LiRA's
 *   balanced design: a random permutation of the shadows per example), so shadow k forgets
 *   H_k ⊂ A, about |A|/2 examples — the scenario's forget count;
 * - shadow k's original trains from its own seed on its own sample P \ (A \ H_k): the pool less
 *   the audit examples it does not forget (a data spec with `exclude=`);
 * - on it: the retrain oracle (trained from scratch on P \ A) and every audited method, each
 *   with forget set H_k — all jobs of one plan, so any executor runs them and a rerun resumes;
 *   shadow originals and retrained models are shared by every method audited on them;
 * - each model's φ (logit-scaled confidence of the true class) on every example of A.
 *
 * Every shadow is in turn the held-out *target*, the other K − 1 the shadows the attack fits on.
 * For a method, target k is judged on x ∈ H_k twice: its unlearned model U_k (truth: unlearned)
 * and its retrained model R_k (truth: retrained); the attack fits "unlearned" on U_j(x) for the
 * shadows j that forgot x and "retrained" on R_j(x) for every shadow (no R_j trained on x).
 * The `retrain` entry is the attack's floor: retrained targets against retrained shadows, R_k(x)
 * labelled "unlearned" for x ∈ H_k and "retrained" for x ∈ A \ H_k — both groups are models that
 * never trained on x, so an attack that works as it should scores 50 % there.
 *
 * Files: `<out>/audit.json` (the table), `<out>/examples.json` (per-example fits and scores),
 * `<out>/examples.png` (which forget examples give each method away), `<out>/audit.md`, and per shadow `<out>/shadow-<k>/` laid out like a comparison (original,
 * split.json, retrain/seed-<s>, <method>/seed-<s>) with `excluded.json` and `forget.json`.
 */
import { resolveCompute } from '../records/compute.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatasetPair } from '../data/dataset.js';
import { parseDatasetSpec } from '../data/registry.js';
import { complement, readIndexFile } from '../data/split.js';
import { logitScaledConfidence } from '../eval/stats/neurips.js';
import { uLira, type AuditObservation, type ULiraResult } from '../eval/stats/ulira.js';
import { predictIndices } from '../models/predict.js';
import { renderAuditFigure } from '../report/audit-figure.js';
import { getMethod, resolveOptions } from '../unlearn/registry.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DataError, LetheError, OptionError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { ignoreEvents, type RunEventHandler } from './events.js';
import { judge } from '../eval/verdict.js';
import type { Audit, AuditEntry } from '../records/audit.js';
import type { JobFailure } from '../records/metrics.js';
import { renderAuditMarkdown } from '../report/audit-markdown.js';
import {
  checkReusable,
  failureOf,
  runJob,
  type Plan,
  type PlanJob,
  type PlanUnit,
} from './plan.js';
import { isCompleteRun, loadRunModel, readConfig, readMetrics, verifyRun } from './rundir.js';
import { getData } from './datasets.js';
import { checkOut } from './runs.js';
import type { Compute } from '../records/compute.js';
import { computeOf, type TrainSpec, type UnlearnSpec } from './spec.js';
import type { ScenarioRecord } from './scenarios.js';

/** What an audit is asked to do. */
export interface AuditInput extends Compute {
  /** The scenario's original recipe: its data spec is the pool; each shadow gets its own seed. */
  original: TrainSpec;
  /** Methods to audit (the retrain floor is always there). */
  methods: string[];
  /** Shadow models (each is also a held-out target once); at least 3, 16 or more to trust it. */
  shadows: number;
  /** The scenario's forget spec, `random:<fraction|count>`: each shadow forgets about that many. */
  forget: string;
  /** Examples audited (default: twice the forget count). */
  auditSize?: number;
  out: string;
  /** Per-method option overrides. */
  options?: Record<string, Record<string, unknown>>;
  /** How the attack estimates spreads (see ULiraOptions.variance). */
  variance?: 'global' | 'per-example';
  scenario?: ScenarioRecord;
}

/** The audit's settings as its plan records them (read back by {@link collectAudit}). */
export interface AuditSettings {
  /** The pool's data spec. */
  pool: string;
  poolSize: number;
  /** The audit set A (pool indices, sorted). */
  auditSet: number[];
  variance: 'global' | 'per-example';
  scenario: string | null;
  shadows: { dir: string; seed: number; original: string }[];
}

/** How many examples `random:<fraction|count>` selects from `n`. */
function forgetCount(spec: string, n: number): number {
  const m = /^random:(.+)$/.exec(spec);
  const v = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(v) || v <= 0)
    throw new OptionError(
      `lethe audit: expected a random forget spec (random:<fraction|count>) but received '${spec}'; an audit draws its own forget sets`,
    );
  return m[1].includes('.') || v < 1 ? Math.round(v * n) : v;
}

const sorted = (xs: Iterable<number>): Int32Array => Int32Array.from(xs).sort();

/**
 * The audit set and each shadow's forget set (pool indices): A drawn from the seed, and every
 * example of A forgotten by ⌈K/2⌉ or ⌊K/2⌋ shadows chosen by a random permutation.
 */
export function auditDesign(
  poolSize: number,
  auditSize: number,
  shadows: number,
  seed: number,
): { auditSet: Int32Array; forgets: Int32Array[] } {
  if (!Number.isInteger(auditSize) || auditSize < 2 || auditSize > poolSize)
    throw new OptionError(
      `--audit-size: expected an integer in 2..${poolSize} (the pool's size) but received ${auditSize}`,
    );
  const auditSet = sorted(
    new Rng(deriveSeed(seed, 'audit-set')).permutation(poolSize).subarray(0, auditSize),
  );
  const rng = new Rng(deriveSeed(seed, 'audit-membership'));
  const members: number[][] = Array.from({ length: shadows }, () => []);
  auditSet.forEach((x, i) => {
    const order = rng.permutation(shadows);
    // Alternate which half gets the odd one out, so forget sets stay the same size on average.
    const take = shadows % 2 === 0 ? shadows / 2 : (shadows + (i % 2)) >> 1;
    for (let j = 0; j < take; j++) members[order[j]].push(x);
  });
  return { auditSet, forgets: members.map((m) => sorted(m)) };
}

/** Writes `file` with `indices` as a JSON array, or checks that the one there says the same. */
function writeIndices(file: string, indices: Int32Array, n: number): void {
  if (existsSync(file)) {
    const had = readIndexFile(file, n);
    if (had.length !== indices.length || had.some((v, i) => v !== indices[i]))
      throw new OptionError(
        `${file} was written by an audit with other settings (shadows, audit size or seed); use another --out`,
      );
    return;
  }
  writeFileAtomic(file, `${JSON.stringify(Array.from(indices))}\n`);
}

/**
 * The audit as jobs: for every shadow its original, its retrain oracle and every method; the
 * aggregation ({@link collectAudit}) needs them all. Writes each shadow's index files.
 */
export async function planAudit(input: AuditInput): Promise<Plan> {
  checkOut(input.out);
  if (!Number.isInteger(input.shadows) || input.shadows < 3)
    throw new OptionError(
      `--shadows: expected an integer ≥ 3 (each shadow is a target once, fit on the others) but received '${input.shadows}'`,
    );
  const methods = [
    ...new Set(input.methods.map((m) => getMethod(m).id).filter((m) => m !== 'retrain')),
  ];
  for (const [method, options] of Object.entries(input.options ?? {}))
    resolveOptions(getMethod(method), options);
  const pool = input.original.data;
  if (parseDatasetSpec(pool).exclude !== undefined)
    throw new OptionError(`--data ${pool}: an audit's pool cannot itself exclude examples`);
  const poolSize = (await getData(pool)).train.labels.length;
  const count = forgetCount(input.forget, poolSize);
  const auditSize = input.auditSize ?? 2 * count;
  const { auditSet, forgets } = auditDesign(poolSize, auditSize, input.shadows, input.seed);
  const out = resolve(input.out);
  mkdirSync(out, { recursive: true });

  const compute = computeOf(input);
  const jobs: PlanJob[] = [];
  const shadows: AuditSettings['shadows'] = [];
  for (const [k, forget] of forgets.entries()) {
    const seed = input.seed + k;
    const dir = join(out, `shadow-${k}`);
    mkdirSync(dir, { recursive: true });
    const forgotten = new Set(forget);
    const excluded = sorted(auditSet.filter((x) => !forgotten.has(x)));
    writeIndices(join(dir, 'excluded.json'), excluded, poolSize);
    // The forget set counted in the shadow's own training set (the pool less `excluded`).
    const kept = complement(excluded, poolSize);
    const position = new Map(Array.from(kept, (x, i) => [x, i]));
    writeIndices(
      join(dir, 'forget.json'),
      Int32Array.from(forget, (x) => position.get(x)!),
      kept.length,
    );
    const original = join(dir, 'original');
    const unit: PlanUnit = {
      out: dir,
      original,
      forget: `indices:${join(dir, 'forget.json')}`,
      seed,
    };
    shadows.push({ dir, seed, original });
    jobs.push({
      id: `shadow-${k}/original`,
      label: `shadow ${k} original`,
      spec: { ...input.original, data: `${pool},exclude=${join(dir, 'excluded.json')}`, seed },
      out: original,
      needs: [],
      unit,
    });
    for (const method of ['retrain', ...methods]) {
      const spec: UnlearnSpec = {
        kind: 'unlearn',
        from: original,
        forget: unit.forget,
        method,
        options: input.options?.[method] ?? {},
        split: dir,
        evalEveryEpoch: false,
        ...compute,
        seed,
        ...(input.scenario ? { scenario: input.scenario } : {}),
      };
      const job: PlanJob = {
        id: `shadow-${k}/${method}/seed-${seed}`,
        label: `shadow ${k} ${method}`,
        spec,
        out: join(dir, method, `seed-${seed}`),
        needs: [`shadow-${k}/original`],
        unit,
      };
      if (isCompleteRun(job.out)) await checkReusable(job.out, spec);
      jobs.push(job);
    }
  }
  // Shadows in pairs, and within a pair the originals, then the oracles, then the methods: two
  // workers train two shadows' originals at once instead of one waiting for the other's, and an
  // audit stopped part-way leaves whole shadows (original, oracle and every method) behind,
  // which is what the attack can use.
  const rank = (j: PlanJob): number => {
    const k = Number(/^shadow-(\d+)\//.exec(j.id)![1]);
    const stage =
      j.spec.kind === 'train' ? 0 : (j.spec as UnlearnSpec).method === 'retrain' ? 1 : 2;
    return Math.floor(k / 2) * 3 + stage;
  };
  jobs.sort((a, b) => rank(a) - rank(b));
  const settings: AuditSettings = {
    pool,
    poolSize,
    auditSet: Array.from(auditSet),
    variance: input.variance ?? 'global',
    scenario: input.scenario?.name ?? null,
    shadows,
  };
  return {
    kind: 'audit',
    out,
    forget: input.forget,
    seed: input.seed,
    seeds: shadows.map((s) => s.seed),
    methods,
    device: input.device,
    original: shadows[0].original,
    jobs,
    aggregate: { needs: jobs.map((j) => j.id) },
    audit: settings as unknown as Record<string, unknown>,
  };
}

/** Runs an audit's plan in this process, one job after another, then collects it. */
export async function runAudit(
  plan: Plan,
  onEvent: RunEventHandler = ignoreEvents,
  collectOptions: { startedAt?: number; ranWith?: Record<string, unknown> } = {},
): Promise<Audit> {
  const failures = new Map<number, JobFailure>();
  for (let i = 0; i < plan.jobs.length; i++) {
    try {
      await runJob(plan, i, { onEvent });
    } catch (error) {
      if (error instanceof OptionError) throw error;
      failures.set(i, { job: plan.jobs[i].id, error: (error as Error).message });
    }
  }
  return collectAudit(plan, { failures, onEvent, ...collectOptions });
}

function settingsOf(plan: Plan): AuditSettings {
  const a = plan.audit as unknown as AuditSettings | undefined;
  if (plan.kind !== 'audit' || !a || !Array.isArray(a.auditSet) || !Array.isArray(a.shadows))
    throw new OptionError(`${plan.dir ?? plan.out}: not an audit's plan`);
  return a;
}

/** φ of a finished run's model on the pool examples `indices`, in its own precision and layout. */
function phiOf(dir: string, pool: DatasetPair, indices: Int32Array, device: string): Float64Array {
  verifyRun(dir);
  const config = readConfig(dir);
  const model = loadRunModel(dir);
  try {
    const compute = resolveCompute({
      device,
      precision: config.precision,
      memoryFormat: config.memoryFormat,
    });
    const p = predictIndices(model, pool.train, indices, compute);
    return logitScaledConfidence(p.logits, p.labels);
  } finally {
    model.dispose();
  }
}

/**
 * Scores an audit's finished runs with U-LiRA and writes `audit.json`, `examples.json` and
 * `audit.md`. Shadows whose retrain oracle did not finish are left out (listed under `failed`);
 * a method is judged on the shadows where it finished.
 */
export async function collectAudit(
  plan: Plan,
  options: {
    failures?: Map<number, JobFailure>;
    onEvent?: RunEventHandler;
    /** `Date.now()` when the command started: the audit records its wall time. */
    startedAt?: number;
    ranWith?: Record<string, unknown>;
  } = {},
): Promise<Audit> {
  const settings = settingsOf(plan);
  const onEvent = options.onEvent ?? ignoreEvents;
  const failed: JobFailure[] = [];
  plan.jobs.forEach((j, i) => {
    if (!isCompleteRun(j.out)) failed.push(options.failures?.get(i) ?? failureOf(plan, i));
  });
  const pool = await getData(settings.pool);
  const A = Int32Array.from(settings.auditSet);
  const row = new Map(Array.from(A, (x, i) => [x, i]));
  const runDir = (k: number, method: string): string =>
    join(settings.shadows[k].dir, method, `seed-${settings.shadows[k].seed}`);

  // Per shadow: its forget set H_k (pool indices) and the retrain oracle's φ on all of A.
  const shadows: { k: number; forget: Int32Array; retrained: Float64Array }[] = [];
  const runSeconds: Record<string, number> = {};
  const addSeconds = (kind: string, dir: string): void => {
    runSeconds[kind] = (runSeconds[kind] ?? 0) + readMetrics(dir).seconds;
  };
  for (let k = 0; k < settings.shadows.length; k++) {
    const s = settings.shadows[k];
    if (!isCompleteRun(runDir(k, 'retrain')) || !isCompleteRun(s.original)) continue;
    const excluded = new Set(readIndexFile(join(s.dir, 'excluded.json'), settings.poolSize));
    const forget = sorted(A.filter((x) => !excluded.has(x)));
    onEvent({ type: 'note', message: `audit: scoring shadow ${k} (retrain)` });
    shadows.push({ k, forget, retrained: phiOf(runDir(k, 'retrain'), pool, A, plan.device) });
    addSeconds('original', s.original);
    addSeconds('retrain', runDir(k, 'retrain'));
  }
  if (shadows.length < 3)
    throw new LetheError(
      'E_JOBS',
      `an audit needs at least 3 finished shadows (original and retrain oracle) but has ${shadows.length}: ${failed
        .slice(0, 5)
        .map((f) => `${f.job}: ${f.error}`)
        .join('; ')}`,
    );
  const inForget = (s: (typeof shadows)[number]): Set<number> => new Set(s.forget);

  // The floor: retrained targets against retrained shadows.
  const floorObs = shadows.map((s) => {
    const h = inForget(s);
    return Array.from(A, (x, i) => ({ example: x, phi: s.retrained[i], unlearned: h.has(x) }));
  });
  const results: { method: string; result: ULiraResult; runs: string[] }[] = [
    {
      method: 'retrain',
      result: uLira(floorObs, floorObs, { variance: settings.variance }),
      runs: shadows.map((s) => runDir(s.k, 'retrain')),
    },
  ];
  for (const method of plan.methods) {
    const models: AuditObservation[][] = [];
    const targets: AuditObservation[][] = [];
    const runs: string[] = [];
    for (const s of shadows) {
      const dir = runDir(s.k, method);
      if (!isCompleteRun(dir)) continue;
      onEvent({ type: 'note', message: `audit: scoring shadow ${s.k} (${method})` });
      const phi = phiOf(dir, pool, s.forget, plan.device);
      const unlearned = Array.from(s.forget, (x, i) => ({
        example: x,
        phi: phi[i],
        unlearned: true,
      }));
      const retrainedOnForget = Array.from(s.forget, (x) => ({
        example: x,
        phi: s.retrained[row.get(x)!],
        unlearned: false,
      }));
      const retrainedAll = Array.from(A, (x, i) => ({
        example: x,
        phi: s.retrained[i],
        unlearned: false,
      }));
      models.push([...unlearned, ...retrainedAll]);
      targets.push([...unlearned, ...retrainedOnForget]);
      runs.push(dir);
      addSeconds(method, dir);
    }
    if (models.length < 3) {
      onEvent({
        type: 'note',
        message: `audit: ${method} finished on ${models.length} shadows; at least 3 are needed, so it is left out`,
      });
      continue;
    }
    results.push({
      method,
      result: uLira(models, targets, { variance: settings.variance }),
      runs,
    });
  }

  const meanAccuracy = (runs: string[]): AuditEntry['meanAccuracy'] => {
    const m = runs.map((d) => readMetrics(d).accuracy);
    const avg = (f: (a: (typeof m)[number]) => number): number =>
      m.reduce((s, a) => s + f(a), 0) / m.length;
    return { forget: avg((a) => a.forget), retain: avg((a) => a.retain), test: avg((a) => a.test) };
  };
  const retrained = meanAccuracy(results[0].runs);
  const audit: Audit = {
    attack: 'u-lira',
    scenario: settings.scenario,
    data: settings.pool,
    shadows: shadows.length,
    targets: results[0].result.accuracy.perTarget.length,
    auditSet: A.length,
    variance: settings.variance,
    entries: results.map(({ method, result, runs }) => ({
      method,
      accuracy: { mean: result.accuracy.mean, ci95: result.accuracy.ci95 },
      auc: result.auc,
      'tpr@1%fpr': result.tprAt1,
      'tpr@5%fpr': result.tprAt5,
      targets: result.accuracy.perTarget.length,
      scored: result.scored,
      meanAccuracy: meanAccuracy(runs),
      perTarget: result.accuracy.perTarget,
      ...(method === 'retrain'
        ? {}
        : { verdict: judge({ accuracy: meanAccuracy(runs), oracle: { accuracy: retrained } }) }),
    })),
    runSeconds,
    ...(options.startedAt !== undefined
      ? { wallSeconds: (Date.now() - options.startedAt) / 1000 }
      : {}),
    ...(options.ranWith ? { ranWith: options.ranWith } : {}),
    ...(failed.length ? { failed } : {}),
  };
  const labels = pool.train.labels;
  const examples = {
    format: 'lethe-audit-examples/1',
    data: settings.pool,
    methods: Object.fromEntries(
      results.map(({ method, result }) => [
        method,
        result.examples.map((e) => ({
          index: e.example,
          label: labels[e.example],
          unlearned: e.unlearned,
          retrained: e.retrained,
          separation: e.separation,
          accuracy: e.accuracy,
          scored: e.scored,
        })),
      ]),
    ),
  };
  writeFileAtomic(join(plan.out, 'audit.json'), `${JSON.stringify(audit, null, 2)}\n`);
  writeFileAtomic(join(plan.out, 'examples.json'), `${JSON.stringify(examples)}\n`);
  writeFileAtomic(join(plan.out, 'audit.md'), renderAuditMarkdown(audit));
  const figure = await renderAuditFigure(
    results.map(({ method, result }) => ({
      method: method === 'retrain' ? 'retrain (floor)' : method,
      accuracy: result.accuracy.mean,
      examples: result.examples.map((e) => ({ ...e, index: e.example, label: labels[e.example] })),
    })),
    pool.train,
    {
      title: `U-LiRA on ${settings.pool}: ${shadows.length} shadows, per forget example`,
    },
  );
  writeFileAtomic(join(plan.out, 'examples.png'), figure);
  return audit;
}

/** Reads an audit directory's `audit.json`. */
export function readAudit(dir: string): Audit {
  const file = join(dir, 'audit.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Audit;
  } catch (error) {
    throw new DataError(`${file}: cannot read the audit (${(error as Error).message})`);
  }
}
