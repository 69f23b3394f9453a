/** Models by name, so the CLI and checkpoints can name an architecture. */
import { OptionError } from '../util/errors.js';
import type { Module } from '../nn/module.js';
import {
  resnet18,
  resnet20,
  resnet32,
  resnet34,
  resnet44,
  resnet50,
  resnet56,
  type ResNetOptions,
} from './resnet.js';

export type ModelOptions = ResNetOptions;

/** A classifier: a module whose forward maps images [N, C, H, W] to logits [N, classes]. */
export type Classifier = Module;

// A Map, not an object: a name such as `constructor` or `__proto__` must find nothing.
const MODELS = new Map<string, (options: ModelOptions) => Classifier>([
  ['resnet18', resnet18],
  ['resnet34', resnet34],
  ['resnet50', resnet50],
  ['resnet20', resnet20],
  ['resnet32', resnet32],
  ['resnet44', resnet44],
  ['resnet56', resnet56],
]);

/** Names of the registered architectures. */
export function modelNames(): string[] {
  return [...MODELS.keys()];
}

/** The largest `inChannels` and `numClasses` accepted: beyond them a checkpoint is damaged. */
export const MODEL_OPTION_LIMITS = { inChannels: 64, numClasses: 100_000 } as const;

/**
 * Checks model options (from the user or a checkpoint's metadata): an object with only
 * `inChannels` and `numClasses` (positive integers) and `cifar` (a boolean). `source` names where
 * they came from in the message.
 */
export function validateModelOptions(options: unknown, source = 'model options'): ModelOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new OptionError(
      `Expected an object for ${source} but received ${JSON.stringify(options)}`,
    );
  }
  const o = options as Record<string, unknown>;
  for (const [key, value] of Object.entries(o)) {
    if (key === 'cifar') {
      if (typeof value !== 'boolean')
        throw new OptionError(
          `Expected a boolean for ${source}.cifar but received ${JSON.stringify(value)}`,
        );
    } else if (key === 'inChannels' || key === 'numClasses') {
      const max = MODEL_OPTION_LIMITS[key];
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max)
        throw new OptionError(
          `Expected an integer in 1..${max} for ${source}.${key} but received ${JSON.stringify(value)}`,
        );
    } else {
      throw new OptionError(
        `Unknown option '${key}' in ${source}; expected inChannels, numClasses or cifar`,
      );
    }
  }
  return o as ModelOptions;
}

/** Builds a registered architecture by name. */
export function createModel(name: string, options: ModelOptions = {}): Classifier {
  const factory = MODELS.get(name);
  if (!factory)
    throw new OptionError(`Unknown model '${name}'; expected one of ${modelNames().join(', ')}`);
  return factory(validateModelOptions(options));
}

/** Adds an architecture to the registry (for library users' own models). */
export function registerModel(name: string, factory: (options: ModelOptions) => Classifier): void {
  MODELS.set(name, factory);
}
