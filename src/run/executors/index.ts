/**
 * The executors, in the order `--executor`'s help lists them; the first is the default. A new
 * executor is a file (see `types.ts`), imported and listed here.
 */
import { OptionError } from '../../util/errors.js';
import { localExecutor } from './local.js';
import { queueExecutor } from './queue.js';
import { serialExecutor } from './serial.js';
import { slurmExecutor } from './slurm.js';
import type { Executor } from './types.js';

export const EXECUTORS: readonly Executor[] = [
  serialExecutor,
  localExecutor,
  slurmExecutor,
  queueExecutor,
];

/** The executor a plan runs on unless told otherwise: in this process. */
export const DEFAULT_EXECUTOR = EXECUTORS[0].name;

/** The executor called `name`. */
export function getExecutor(name: string): Executor {
  const executor = EXECUTORS.find((e) => e.name === name);
  if (!executor)
    throw new OptionError(
      `--executor: expected ${EXECUTORS.map((e) => `'${e.name}'`).join(', ')} but received '${name}'`,
    );
  return executor;
}
