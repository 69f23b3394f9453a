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

const MODELS: Record<string, (options: ModelOptions) => Classifier> = {
  resnet18,
  resnet34,
  resnet50,
  resnet20,
  resnet32,
  resnet44,
  resnet56,
};

/** Names of the registered architectures. */
export function modelNames(): string[] {
  return Object.keys(MODELS);
}

/** Builds a registered architecture by name. */
export function createModel(name: string, options: ModelOptions = {}): Classifier {
  const factory = MODELS[name];
  if (!factory)
    throw new OptionError(`Unknown model '${name}'; expected one of ${modelNames().join(', ')}`);
  return factory(options);
}

/** Adds an architecture to the registry (for library users' own models). */
export function registerModel(name: string, factory: (options: ModelOptions) => Classifier): void {
  MODELS[name] = factory;
}
