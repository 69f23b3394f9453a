/** Optimizers by name, for configs and the CLI. A name is its file's name. */
import type { Tensor } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';
import { Adam, type AdamHyperParams, type AdamOptions } from './adam.js';
import { AdamW, type AdamWOptions } from './adamw.js';
import { show, type OptimizerOptions, type ParamGroupInput } from './optimizer.js';
import { SGD, type SGDHyperParams, type SGDOptions } from './sgd.js';

/** The registered optimizer names. */
export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Each name's options type. */
export interface OptimizerOptionsByName {
  sgd: SGDOptions;
  adam: AdamOptions;
  adamw: AdamWOptions;
}

/** Each name's optimizer class. */
export interface OptimizerByName {
  sgd: SGD;
  adam: Adam;
  adamw: AdamW;
}

type ParamsFor<N extends OptimizerName> =
  Tensor[] | ParamGroupInput<N extends 'sgd' ? SGDHyperParams : AdamHyperParams>[];

/**
 * Creates an optimizer by name.
 *
 * @example
 * const opt = createOptimizer('sgd', model.parameters(), { lr: 0.01, momentum: 0.9 });
 */
export function createOptimizer<N extends OptimizerName>(
  name: N,
  params: ParamsFor<N>,
  options: OptimizerOptionsByName[N] & OptimizerOptions,
): OptimizerByName[N] {
  switch (name) {
    case 'sgd':
      return new SGD(params as ParamsFor<'sgd'>, options as SGDOptions) as OptimizerByName[N];
    case 'adam':
      return new Adam(params as ParamsFor<'adam'>, options as AdamOptions) as OptimizerByName[N];
    case 'adamw':
      return new AdamW(params as ParamsFor<'adamw'>, options as AdamWOptions) as OptimizerByName[N];
    default:
      throw new OptionError(
        `Expected an optimizer name (${OPTIMIZER_NAMES.join(', ')}) but received ${show(name)}`,
      );
  }
}
