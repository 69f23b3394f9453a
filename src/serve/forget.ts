/**
 * The forget set as pictures: each forget example of a run, ranked by how strongly the unlearned
 * model still remembers it, with the original's and the retrain oracle's predictions beside it.
 *
 * The score is the membership audit's per-example result where an audit of the run's data and
 * method exists (`examples.json`: the per-example attack's accuracy, then the separation), else
 * the confidence gap to the oracle: φ = log p_y − log Σ_{c≠y} p_c of this model minus the oracles'
 * mean φ on that example (> 0: more confident than retraining would be, i.e. remembered), else,
 * without an oracle, this model's φ alone.
 */
import { join } from 'node:path';
import type { Predictions, SetPredictions } from '../models/predict.js';
import type { RunConfig, RunMetrics } from '../run/index.js';
import { loadRunPredictions, RUN_FILES } from '../run/rundir.js';
import type { Scanner } from './scan.js';
import type { ServedIndex } from './views.js';
import { isObject } from '../util/json.js';

export const AUDIT_EXAMPLES_FORMAT = 'lethe-audit-examples/1';

/** One example's numbers from a model. */
export interface ExampleView {
  /** Predicted class. */
  pred: number;
  /** Probability of the true class. */
  py: number;
  /** log p_y − log Σ_{c≠y} p_c. */
  phi: number;
}

export interface AuditExample {
  index: number;
  label: number;
  unlearned: { n: number; mean: number; std: number };
  retrained: { n: number; mean: number; std: number };
  separation: number;
  accuracy: number;
}

export interface ForgetExample {
  index: number;
  label: number;
  model: ExampleView;
  original?: ExampleView;
  /** Mean over the oracles (pred: the first oracle's). */
  oracle?: ExampleView;
  /** model.phi − oracle.phi. */
  gap?: number;
  audit?: AuditExample;
  /** What the ranking sorts by (higher = remembered more). */
  score: number;
}

export interface ForgetView {
  path: string;
  data: string;
  method: string;
  ranking: 'audit' | 'oracle-gap' | 'confidence';
  /** The audit directory the ranking comes from. */
  audit?: string;
  classNames: string[] | null;
  examples: ForgetExample[];
  /** What could not be read, and what that leaves out. */
  notes: string[];
}

/** φ = z_y − log Σ_{c≠y} exp z_c (the softmax normaliser cancels), and p_y, of one logit row. */
export function exampleView(logits: Float32Array, row: number, c: number, y: number): ExampleView {
  const z = logits.subarray(row * c, (row + 1) * c);
  let max = -Infinity;
  let pred = 0;
  for (let k = 0; k < c; k++) {
    if (z[k] > max) {
      max = z[k];
      pred = k;
    }
  }
  let all = 0;
  let others = 0;
  let maxOther = -Infinity;
  for (let k = 0; k < c; k++) if (k !== y) maxOther = Math.max(maxOther, z[k]);
  for (let k = 0; k < c; k++) {
    all += Math.exp(z[k] - max);
    if (k !== y) others += Math.exp(z[k] - maxOther);
  }
  return {
    pred,
    py: Math.exp(z[y] - max) / all,
    phi: z[y] - (maxOther + Math.log(others)),
  };
}

/** Rows of a model's predictions by training-set index (its forget and retain sets). */
function rowsByIndex(p: SetPredictions): Map<number, { part: Predictions; row: number }> {
  const out = new Map<number, { part: Predictions; row: number }>();
  for (const part of [p.retain, p.forget])
    part.indices.forEach((index, row) => out.set(index, { part, row }));
  return out;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks `examples.json` of an audit; returns the method's examples by index. */
export function readAuditExamples(
  raw: unknown,
  method: string,
): Map<number, AuditExample> | string {
  if (!isObject(raw) || raw.format !== AUDIT_EXAMPLES_FORMAT)
    return `examples.json: expected format "${AUDIT_EXAMPLES_FORMAT}"`;
  if (!isObject(raw.methods)) return 'examples.json has no methods';
  const list = raw.methods[method];
  if (list === undefined) return `examples.json has no method ${method}`;
  if (!Array.isArray(list)) return `examples.json: methods.${method} is not a list`;
  const out = new Map<number, AuditExample>();
  for (const [i, e] of list.entries()) {
    const stats = (s: unknown): boolean =>
      isObject(s) && finite(s.n) && finite(s.mean) && finite(s.std);
    if (
      !isObject(e) ||
      !Number.isInteger(e.index) ||
      !Number.isInteger(e.label) ||
      !finite(e.separation) ||
      !finite(e.accuracy) ||
      !stats(e.unlearned) ||
      !stats(e.retrained)
    )
      return `examples.json: methods.${method}[${i}] is not {index, label, unlearned, retrained, separation, accuracy}`;
    out.set(e.index as number, e as unknown as AuditExample);
  }
  return out;
}

/** Loads a run's (or its original's, or an oracle's) predictions by absolute path, through the root. */
type PredictionsOf = (rel: string) => SetPredictions | null;

/**
 * The forget set of the run at `rel`: every forget example with its numbers, ranked. `predictionsOf`
 * loads a served run's predictions (cached by the caller).
 */
export function forgetView(
  scanner: Scanner,
  index: ServedIndex,
  rel: string,
  predictionsOf: PredictionsOf,
  classNames: string[] | null,
): ForgetView {
  const notes: string[] = [];
  const config = scanner.readJson(join(rel, RUN_FILES.config)) as RunConfig;
  const metrics = scanner.readJson(join(rel, RUN_FILES.metrics)) as RunMetrics;
  const own = predictionsOf(rel);
  if (!own)
    throw new Error(`${RUN_FILES.predictions} is missing; the run has no saved predictions`);
  const forget = own.forget;
  const c = forget.numClasses;
  const root = scanner.root;
  const other = (abs: string | undefined, what: string): SetPredictions | null => {
    if (!abs) return null;
    const r = root.relativeOf(abs);
    if (r === null) {
      notes.push(`${what} (${abs}) is outside the served directory; not read`);
      return null;
    }
    try {
      const p = predictionsOf(r);
      if (!p) notes.push(`${what} (${r}) has no saved predictions`);
      return p;
    } catch (error) {
      notes.push(`${what} (${r}) is unreadable: ${(error as Error).message}`);
      return null;
    }
  };
  const original = other(config.from, 'the original');
  const oracleDirs = metrics.oracle?.run ? metrics.oracle.run.split(',') : [];
  if (oracleDirs.length === 0)
    notes.push('the run was not evaluated against a retrain oracle (lethe eval --oracle)');
  const oracles = oracleDirs
    .map((d, i) => other(d, `oracle ${i + 1}`))
    .filter((p): p is SetPredictions => p !== null)
    .map(rowsByIndex);
  const originalRows = original ? rowsByIndex(original) : null;

  let audit: { path: string; examples: Map<number, AuditExample> } | undefined;
  for (const a of index.audits) {
    if (a.state !== 'finished' || a.data !== config.data || !a.methods.includes(config.method))
      continue;
    if (!a.hasExamples) continue;
    try {
      const got = readAuditExamples(scanner.readJson(join(a.path, 'examples.json')), config.method);
      if (typeof got === 'string') notes.push(`audit ${a.path}: ${got}`);
      else {
        audit = { path: a.path, examples: got };
        break;
      }
    } catch (error) {
      notes.push(`audit ${a.path}: ${(error as Error).message}`);
    }
  }

  const examples: ForgetExample[] = [];
  forget.indices.forEach((idx, row) => {
    const y = forget.labels[row];
    const model = exampleView(forget.logits, row, c, y);
    const e: ForgetExample = { index: idx, label: y, model, score: model.phi };
    const o = originalRows?.get(idx);
    if (o) e.original = exampleView(o.part.logits, o.row, c, y);
    const views = oracles.flatMap((rows) => {
      const r = rows.get(idx);
      return r ? [exampleView(r.part.logits, r.row, c, y)] : [];
    });
    if (views.length) {
      e.oracle = {
        pred: views[0].pred,
        py: views.reduce((s, v) => s + v.py, 0) / views.length,
        phi: views.reduce((s, v) => s + v.phi, 0) / views.length,
      };
      e.gap = model.phi - e.oracle.phi;
      e.score = e.gap;
    }
    const a = audit?.examples.get(idx);
    if (a) {
      e.audit = a;
      e.score = a.accuracy;
    }
    examples.push(e);
  });
  const ranking = audit ? 'audit' : oracles.length ? 'oracle-gap' : 'confidence';
  if (audit) {
    const missing = examples.filter((e) => !e.audit).length;
    if (missing) notes.push(`${missing} forget examples have no entry in the audit; ranked last`);
    examples.sort(
      (a, b) =>
        Number(!!b.audit) - Number(!!a.audit) ||
        (b.audit?.accuracy ?? 0) - (a.audit?.accuracy ?? 0) ||
        (b.audit?.separation ?? 0) - (a.audit?.separation ?? 0) ||
        b.score - a.score,
    );
  } else examples.sort((a, b) => b.score - a.score || a.index - b.index);
  return {
    path: rel,
    data: config.data,
    method: config.method,
    ranking,
    ...(audit ? { audit: audit.path } : {}),
    classNames,
    examples,
    notes,
  };
}

/** A run's saved predictions by its absolute directory (for {@link forgetView}'s loader). */
export function loadPredictions(absDir: string): SetPredictions | null {
  return loadRunPredictions(absDir);
}
