/**
 * Optimizers and learning-rate schedulers with PyTorch 1.13's exact update rules, plus
 * per-parameter gradient masks that freeze entries bit for bit (for saliency-masked unlearning).
 */
export {
  Optimizer,
  stateDictToTensors,
  stateDictFromTensors,
  type BaseHyperParams,
  type OptimizerMeta,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type SavedParamGroup,
  type SerializedOptimizerState,
  type StateValue,
} from './optimizer.js';
export { SGD, SGD_DEFAULTS, type SGDOptions, type SGDHyperParams } from './sgd.js';
export { Adam, ADAM_DEFAULTS, type AdamOptions, type AdamHyperParams } from './adam.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions } from './adamw.js';
export {
  createOptimizer,
  OPTIMIZER_NAMES,
  type OptimizerName,
  type OptimizerByName,
  type OptimizerOptionsByName,
} from './registry.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  CosineAnnealingLR,
  LinearLR,
  LinearWarmup,
  SequentialLR,
  withWarmup,
  STEP_LR_DEFAULTS,
  MULTI_STEP_LR_DEFAULTS,
  COSINE_ANNEALING_LR_DEFAULTS,
  LINEAR_LR_DEFAULTS,
  LINEAR_WARMUP_DEFAULTS,
  type Scheduler,
  type SchedulableOptimizer,
  type LRSchedulerState,
  type StepLROptions,
  type MultiStepLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
  type LinearWarmupOptions,
  type SequentialLROptions,
} from './scheduler.js';
export {
  checkOptimizerMeta,
  checkOptimizerState,
  checkSchedulerState,
  optimizerStateKeys,
  type BadField,
  type CheckedOptimizerMeta,
} from './state.js';
export {
  GradScaler,
  GRAD_SCALER_DEFAULTS,
  type GradScalerOptions,
  type GradScalerState,
  type ScalableOptimizer,
} from './grad-scaler.js';
