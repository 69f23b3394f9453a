/**
 * Lethe: machine unlearning for TypeScript on libtorch. Sub-paths (`lethe/tensor`, `lethe/nn`,
 * `lethe/optim`, `lethe/models`, `lethe/data`, `lethe/unlearn`, `lethe/eval`, `lethe/report`)
 * expose each layer; this entry re-exports the everyday API.
 */
export * from './tensor/index.js';
export { Module, loadSafetensors, saveSafetensors } from './nn/index.js';
export {
  createModel,
  modelNames,
  registerModel,
  loadCheckpoint,
  saveCheckpoint,
  predict,
  predictSets,
} from './models/index.js';
export {
  COMPUTE_DEFAULTS,
  resolveCompute,
  type Compute,
  type ComputeSettings,
  type ModelMemoryFormat,
  type Precision,
} from './records/compute.js';
export { GradScaler } from './optim/index.js';
export {
  loadDataset,
  makeSplit,
  readSplit,
  writeSplit,
  DataLoader,
  createDataset,
} from './data/index.js';
export { train, unlearn, getMethod, methodIds, registerMethod } from './unlearn/index.js';
export { membershipInference, gapToOracle, neuripsEvaluation } from './eval/index.js';
export { renderRunReport, renderComparisonReport } from './report/index.js';
export type { RunMetrics, Comparison } from './records/metrics.js';
export { LetheError, OptionError, FileFormatError, DataError } from './util/errors.js';
