/**
 * The shape of a run's `metrics.json` and of a comparison's `comparison.json`, and the verdict
 * recorded in both. The unlearning loop, the evaluators, the report, the run layer and the
 * dashboard all speak this one vocabulary, so it sits on the ground floor: it imports nothing,
 * and every layer above may import it.
 */

/** Eval-mode accuracies on full sets. `val` exists where the data set has a val split. */
export interface Accuracies {
  forget: number;
  retain: number;
  test: number;
  val?: number;
}

/** Eval-mode accuracies on the full forget / retain / test sets after an epoch (epoch 0 = before). */
export interface EpochRecord {
  epoch: number;
  forget: number;
  retain: number;
  test: number;
}

/**
 * The seed's per-iteration training-batch accuracies: the student, in whatever mode the method
 * trains it, on the current forget and retain batch, measured before the update.
 */
export interface StepRecord {
  step: number;
  facc: number;
  racc: number;
  loss: number;
}

export interface History {
  epochs: EpochRecord[];
  steps: StepRecord[];
}

/** Per-class accuracy on a set, index = class id; NaN-free (classes absent from a set are null). */
export type PerClass = (number | null)[];

/** Membership-inference results; each names its attack and feature. */
export interface MiaResult {
  /** NeurIPS 2023 starting kit: logistic regression on per-sample loss, D_f vs test. Ideal ~0.5. */
  simple: number;
  /** SalUn-style MIA-efficacy: fraction of D_f predicted non-member by a confidence classifier. */
  efficacy: number;
}

/** Absolute gaps to the retrain oracle and their mean (SalUn's "Avg Gap"); `mia` is the MIA-efficacy gap. */
export interface GapResult {
  forget: number;
  retain: number;
  test: number;
  mia: number;
  avg: number;
}

/** NeurIPS 2023 forgetting quality F and final score over N unlearned and N retrained models. */
export interface NeuripsResult {
  n: number;
  forgettingQuality: number;
  score: number;
  retainRatio: number;
  testRatio: number;
}

/**
 * How far a trained original memorized its training set: eval-mode accuracy on the whole
 * training set and on the test half, their gap, and the scenario's target when it has one.
 */
export interface Memorization {
  train: number;
  test: number;
  /** train − test. */
  gap: number;
  target?: { minTrainAccuracy: number; minGap: number };
  /** Whether the target was reached (absent without a target). */
  reached?: boolean;
}

/** One outcome of the verdict's rule (src/eval/verdict.ts). */
export type VerdictOutcome =
  'forgot-like-retraining' | 'under-forgot' | 'over-forgot' | 'damaged-the-model';

/** One measure that fell outside its margin, and on which side. */
export interface VerdictFinding {
  outcome: Exclude<VerdictOutcome, 'forgot-like-retraining'>;
  measure: 'forget' | 'mia-efficacy' | 'retain' | 'test';
  value: number;
  oracle: number;
  /** value − oracle. */
  difference: number;
}

/** The verdict against the retrain oracle: every outcome that holds, in words and by measure. */
export interface Verdict {
  outcomes: VerdictOutcome[];
  /** `damaged the model (retain acc. −11.5 pts), over-forgot (MIA-efficacy +17.6 pts)`. */
  label: string;
  findings: VerdictFinding[];
  /** The margins the rule applied (fractions). */
  margins: { forget: number; mia: number; damage: number };
}

export interface RunMetrics {
  method: string;
  /** Eval-mode accuracies of the finished model on full sets. */
  accuracy: Accuracies;
  /** The original (pre-unlearning) model's accuracies on the same split, when known. */
  original?: Accuracies;
  /** Per-class accuracy on the test set, and on the forget set, of this model and the original. */
  perClass?: {
    test: PerClass;
    forget: PerClass;
    originalTest?: PerClass;
    originalForget?: PerClass;
  };
  /** Wall time of the unlearning (or training) run alone, metric computation excluded. */
  seconds: number;
  history: History;
  mia?: MiaResult;
  gap?: GapResult;
  neurips?: NeuripsResult;
  /** Training runs: how far the model memorized its training set. */
  memorization?: Memorization;
  /** Retrain-time ratio: this run's seconds over the oracle's. */
  timeRatio?: number;
  /** The verdict against the retrain oracle (src/eval/verdict.ts), when evaluated against one. */
  verdict?: Verdict;
  /** The retrain oracle's accuracies and MIA, when the run was evaluated against one. */
  oracle?: { accuracy: Accuracies; mia: MiaResult; seconds: number; run: string };
}

/** Mean and (sample) standard deviation of one metric over seeds. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export interface ComparisonEntry {
  method: string;
  seeds: number[];
  metrics: Record<string, MeanStd>;
  /** The verdict on the method's mean accuracies and MIA-efficacy against the oracles' means. */
  verdict?: Verdict;
}

/** A job of a comparison's plan that did not finish: what went wrong and where its log is. */
export interface JobFailure {
  /** The job's id in the plan (`srfl/seed-1`). */
  job: string;
  error: string;
  log?: string;
}

export interface Comparison {
  forget: string;
  data: string;
  model: string;
  entries: ComparisonEntry[];
  /** Jobs that failed; their methods are summarised over the runs that finished. */
  failed?: JobFailure[];
}
