/** Unlearning methods by id. A method's file name is its id. */
import { OptionError } from '../util/errors.js';
import { finetune, retrain } from './methods/supervised.js';
import { srfl } from './methods/srfl.js';
import { srflPublished } from './methods/srfl-published.js';
import { srflTuned } from './methods/srfl-tuned.js';
import { srflCalibrated } from './methods/srfl-calibrated.js';
import { neggrad } from './methods/neggrad.js';
import { neggradPlus } from './methods/neggrad-plus.js';
import { randomLabel } from './methods/random-label.js';
import { badTeacher } from './methods/bad-teacher.js';
import { scrub } from './methods/scrub.js';
import { salun } from './methods/salun.js';
import { l1Sparse } from './methods/l1-sparse.js';
import { ssd } from './methods/ssd.js';
import type { LoopOptions, UnlearnMethod } from './types.js';

const METHODS = new Map<string, UnlearnMethod<LoopOptions>>();

/** Adds a method to the registry (library users may add their own). */
export function registerMethod<O extends LoopOptions>(method: UnlearnMethod<O>): void {
  METHODS.set(method.id, method as unknown as UnlearnMethod<LoopOptions>);
}

for (const m of [srfl, srflTuned, srflPublished, srflCalibrated, finetune, retrain])
  registerMethod(m as unknown as UnlearnMethod<LoopOptions>);
for (const m of [neggrad, neggradPlus, randomLabel, badTeacher, scrub, salun, l1Sparse, ssd]) {
  registerMethod(m as unknown as UnlearnMethod<LoopOptions>);
}

export function methodIds(): string[] {
  return [...METHODS.keys()];
}

export function getMethod(id: string): UnlearnMethod<LoopOptions> {
  const m = METHODS.get(id);
  if (!m)
    throw new OptionError(`Unknown method '${id}'; expected one of ${methodIds().join(', ')}`);
  return m;
}

/**
 * A method's defaults overridden by `overrides`; unknown option names are refused by name, and
 * each value must have its default's type.
 */
export function resolveOptions(
  method: UnlearnMethod<LoopOptions>,
  overrides: Record<string, unknown>,
): LoopOptions {
  const out: Record<string, unknown> = { ...method.defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in method.defaults) && key !== 'forgetBatchSize') {
      throw new OptionError(
        `Unknown option '${key}' for method ${method.id}; its options are ${Object.keys(method.defaults).join(', ')}`,
      );
    }
    const expected = (method.defaults as unknown as Record<string, unknown>)[key];
    const typeOf = (v: unknown): string =>
      Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (
      expected !== undefined &&
      expected !== null &&
      value !== null &&
      typeOf(expected) !== typeOf(value)
    ) {
      throw new OptionError(
        `Expected ${typeOf(expected)} for option '${key}' of ${method.id} but received ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as unknown as LoopOptions;
}
