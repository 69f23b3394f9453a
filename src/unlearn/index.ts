/** Unlearning: the shared loop, the methods registry, and the `train` / `unlearn` API. */
export {
  train,
  unlearn,
  loopMetrics,
  type TrainInput,
  type UnlearnInput,
  type UnlearnResult,
} from './api.js';
export { runLoop, perClassOf, defaultAugment, type LoopInput, type LoopResult } from './loop.js';
export {
  disposeLoopState,
  loadLoopCheckpoint,
  saveLoopCheckpoint,
  type LoopCheckpoint,
} from './checkpoint.js';
export { getMethod, methodIds, registerMethod, resolveOptions } from './registry.js';
export * from './types.js';
export { SRFL_DEFAULTS, type SrflOptions } from './methods/srfl.js';
export { SRFL_TUNED_DEFAULTS } from './methods/srfl-tuned.js';
export { SRFL_PUBLISHED_DEFAULTS, type SrflPublishedOptions } from './methods/srfl-published.js';
export { TRAIN_DEFAULTS, FINETUNE_DEFAULTS, type SupervisedOptions } from './methods/supervised.js';
