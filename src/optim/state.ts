/**
 * Checks of a saved optimizer's and scheduler's state, as read back from a file (a resume
 * checkpoint): every field is checked before the state is handed to an optimizer, so a damaged
 * file is refused with the field named instead of resuming a different run. Which per-parameter
 * state an optimizer keeps is declared by the optimizer itself (`SGD.stateKeys`,
 * `Adam.stateKeys`, `AdamW.stateKeys`).
 */
import { isObject } from '../util/json.js';
import type { Tensor } from '../tensor/index.js';
import { Adam } from './adam.js';
import { AdamW } from './adamw.js';
import { SGD } from './sgd.js';

/**
 * Refuses a field of a file: `field` has `got` (missing when undefined), `expected` was expected.
 * The reader of the file says how (which file, what to do).
 */
export type BadField = (field: string, expected: string, got?: unknown) => never;

/** A saved optimizer's JSON half ({@link OptimizerMeta}), as {@link checkOptimizerMeta} passed it. */
export interface CheckedOptimizerMeta {
  format: string;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
  state: Record<string, Record<string, number>>;
}

/**
 * The optimizers whose saved groups a state is checked against, each telling its own groups
 * apart by their hyper-parameters (Adam's and AdamW's have `betas`, SGD's `momentum`).
 */
const OPTIMIZERS: { stateKeys(group: Record<string, unknown>): string[] | null }[] = [
  Adam,
  AdamW,
  SGD,
];

/** A learning-rate scheduler's saved state: null (a constant rate) or its counters and rates. */
export function checkSchedulerState(v: unknown, bad: BadField): Record<string, unknown> | null {
  if (v === null) return null;
  if (!isObject(v)) return bad('scheduler', 'null or an object', v);
  if (!Number.isSafeInteger(v.lastEpoch) || (v.lastEpoch as number) < 0)
    bad('scheduler.lastEpoch', 'an integer ≥ 0', v.lastEpoch);
  if (!Number.isSafeInteger(v.stepCount) || (v.stepCount as number) < 0)
    bad('scheduler.stepCount', 'an integer ≥ 0', v.stepCount);
  for (const key of ['baseLrs', 'lastLr']) {
    const a = v[key];
    if (
      !Array.isArray(a) ||
      a.length === 0 ||
      !a.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)
    )
      bad(`scheduler.${key}`, 'a list of finite learning rates ≥ 0', a);
  }
  return v;
}

/**
 * A saved optimizer's JSON half: its format, parameter groups (distinct parameter ids, finite
 * hyper-parameters) and numeric per-parameter state (only for parameters of its groups).
 */
export function checkOptimizerMeta(v: unknown, bad: BadField): CheckedOptimizerMeta {
  if (!isObject(v)) return bad('optimizer', 'an object', v);
  if (v.format !== 'lethe.optim/1') bad('optimizer.format', "'lethe.optim/1'", v.format);
  const groups = v.paramGroups;
  if (!Array.isArray(groups) || groups.length === 0)
    bad('optimizer.paramGroups', 'a non-empty list', groups);
  const ids = new Set<number>();
  (groups as unknown[]).forEach((g, i) => {
    if (!isObject(g)) return bad(`optimizer.paramGroups[${i}]`, 'an object', g);
    if (!Array.isArray(g.params) || g.params.length === 0)
      bad(`optimizer.paramGroups[${i}].params`, 'a non-empty list of parameter ids', g.params);
    for (const id of g.params as unknown[]) {
      if (!Number.isSafeInteger(id) || (id as number) < 0 || ids.has(id as number))
        bad(`optimizer.paramGroups[${i}].params`, 'distinct integer ids ≥ 0', g.params);
      ids.add(id as number);
    }
    if (typeof g.lr !== 'number' || !Number.isFinite(g.lr) || g.lr < 0)
      bad(`optimizer.paramGroups[${i}].lr`, 'a finite number ≥ 0', g.lr);
    for (const [key, x] of Object.entries(g)) {
      const finite = (y: unknown): boolean => typeof y === 'number' && Number.isFinite(y);
      const ok =
        key === 'params' ||
        typeof x === 'boolean' ||
        finite(x) ||
        (Array.isArray(x) && x.every(finite));
      if (!ok) bad(`optimizer.paramGroups[${i}].${key}`, 'a finite number or a boolean', x);
    }
  });
  if (!isObject(v.state)) return bad('optimizer.state', 'an object', v.state);
  for (const [id, entry] of Object.entries(v.state)) {
    if (!/^(0|[1-9]\d*)$/.test(id) || !ids.has(Number(id)))
      bad('optimizer.state', `state only for parameters ${[...ids].join(', ')}`, id);
    if (!isObject(entry)) return bad(`optimizer.state.${id}`, 'an object of numbers', entry);
    for (const [k, x] of Object.entries(entry))
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
        bad(`optimizer.state.${id}.${k}`, 'a finite number ≥ 0', x);
  }
  return v as unknown as CheckedOptimizerMeta;
}

/**
 * The per-parameter state a saved group's optimizer keeps once it has stepped, as that
 * optimizer declares it; none for a group no optimizer recognises.
 */
export function optimizerStateKeys(group: Record<string, unknown>): string[] {
  for (const optimizer of OPTIMIZERS) {
    const keys = optimizer.stateKeys(group);
    if (keys) return keys;
  }
  return [];
}

/**
 * Every parameter has the state its optimizer keeps after `step` steps, and nothing else: a
 * checkpoint with the momentum removed would otherwise resume with the momentum restarted.
 * `tensors` are the state's tensors by name (`state.<id>.<key>`).
 */
export function checkOptimizerState(
  tensors: Record<string, Tensor>,
  meta: CheckedOptimizerMeta,
  step: number,
  bad: BadField,
): void {
  const have = new Map<number, Set<string>>();
  for (const [id, entry] of Object.entries(meta.state))
    have.set(Number(id), new Set(Object.keys(entry)));
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^state\.(0|[1-9]\d*)\.(.+)$/.exec(name);
    if (!m) return bad(`tensor 'optimizer.${name}'`, "a name 'optimizer.state.<id>.<key>'", name);
    const id = Number(m[1]);
    if (!meta.paramGroups.some((g) => g.params.includes(id)))
      bad(`tensor 'optimizer.${name}'`, 'state of a parameter of the optimizer', name);
    if (!isFloat(t)) bad(`tensor 'optimizer.${name}'`, 'a floating-point tensor', t.dtype);
    const keys = have.get(id) ?? new Set<string>();
    if (keys.has(m[2])) bad(`optimizer state ${id}.${m[2]}`, 'one value', 'twice');
    have.set(id, keys.add(m[2]));
  }
  for (const group of meta.paramGroups) {
    const expected = step > 0 ? optimizerStateKeys(group) : [];
    for (const id of group.params) {
      const keys = have.get(id) ?? new Set<string>();
      for (const key of expected)
        if (!keys.has(key))
          bad(
            `no optimizer state '${key}' for parameter ${id}, but`,
            `it after ${step} steps`,
            undefined,
          );
      if (step > 0) {
        for (const key of keys)
          if (!expected.includes(key))
            bad(
              `optimizer state '${key}' for parameter ${id}`,
              `only ${expected.join(', ') || 'no state'}`,
              key,
            );
      } else if (keys.size)
        bad(`optimizer state for parameter ${id}`, 'none before the first step', [...keys]);
    }
  }
}

function isFloat(t: Tensor): boolean {
  return (
    t.dtype === 'float32' ||
    t.dtype === 'float64' ||
    t.dtype === 'float16' ||
    t.dtype === 'bfloat16'
  );
}
