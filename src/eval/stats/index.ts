/**
 * Metric mathematics over plain typed arrays: membership-inference attacks, the NeurIPS 2023
 * forgetting quality and score, accuracies and gaps to the retrain oracle. No tensors here: the
 * evaluators compute per-sample losses, confidences and logits with the tensor engine and hand
 * them over.
 */
export { accuracy, perClassAccuracy, meanStd, avgGap, type GapInputs } from './accuracy.js';
export {
  simpleMia,
  miaEfficacy,
  SIMPLE_MIA_DEFAULTS,
  type SimpleMiaOptions,
  type MiaEfficacyOptions,
} from './mia.js';
export {
  fitLogistic1d,
  LOGISTIC_DEFAULTS,
  type Logistic1d,
  type LogisticOptions,
} from './logistic.js';
export {
  logitScaledConfidence,
  epsilonForExample,
  epsilonPoints,
  forgettingQuality,
  forgettingQualityBins,
  neuripsScore,
  DEFAULT_DELTA,
  EPSILON_CAP,
  EPSILON_BIN_WIDTH,
  THRESHOLDS_PER_UNIT,
  LOG_FLOOR,
  type ForgettingQuality,
} from './neurips.js';
export type { NumericArray } from './common.js';
