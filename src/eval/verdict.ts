/**
 * The verdict: one documented rule that says, from a run's gaps to the retrain oracle, whether it
 * forgot like retraining, under-forgot, over-forgot or damaged the model — several at once where
 * several hold. `metrics.json` records it (machine-readable); the CLI, the run report's headline
 * and the comparison all print it, so no two places can judge the same numbers differently.
 *
 * The rule (differences are unlearned − oracle, in accuracy fractions):
 * - **damaged the model**: retain or test accuracy more than {@link VERDICT_MARGINS}.damage below
 *   the oracle's. Checked first and never hidden: a model that lost what it should keep is not
 *   "close to retraining", whatever its forget accuracy.
 * - **over-forgot**: forget accuracy more than `.forget` below the oracle's, or MIA-efficacy (the
 *   share of D_f taken for non-members) more than `.mia` above the oracle's.
 * - **under-forgot**: forget accuracy more than `.forget` above the oracle's, or MIA-efficacy more
 *   than `.mia` below.
 * - **forgot like retraining**: none of the above.
 *
 * Why these margins: they are three to four standard deviations of retraining itself. Over the
 * 32 retrain oracles of the seed's scenario (results/memorized-fmnist-n32) forget accuracy varies
 * by 0.9 points, test accuracy by 0.4 and MIA-efficacy by 1.3 points (std over seeds), so a run
 * outside a margin differs from retraining by more than retraining differs from itself.
 */
import type { Accuracies, Verdict, VerdictFinding, VerdictOutcome } from '../records/metrics.js';

/** The margins of the verdict's rule (fractions). */
export const VERDICT_MARGINS = Object.freeze({
  /** Forget accuracy within this of the oracle's is "like retraining". */
  forget: 0.03,
  /** MIA-efficacy within this of the oracle's is "like retraining". */
  mia: 0.05,
  /** Retain or test accuracy more than this below the oracle's is damage. */
  damage: 0.03,
});

/** What the verdict reads: the run's and the oracle's accuracies and MIA-efficacy. */
export interface VerdictInput {
  accuracy: Accuracies;
  /** MIA-efficacy of the run (optional: without it the rule uses accuracies only). */
  miaEfficacy?: number;
  oracle: { accuracy: Accuracies; miaEfficacy?: number };
}

/** The words each outcome prints as. */
export const OUTCOME_WORDS: Readonly<Record<VerdictOutcome, string>> = Object.freeze({
  'forgot-like-retraining': 'forgot like retraining',
  'under-forgot': 'under-forgot',
  'over-forgot': 'over-forgot',
  'damaged-the-model': 'damaged the model',
});

const MEASURE_WORDS: Readonly<Record<VerdictFinding['measure'], string>> = Object.freeze({
  forget: 'forget acc.',
  'mia-efficacy': 'MIA-efficacy',
  retain: 'retain acc.',
  test: 'test acc.',
});

/**
 * Applies the rule. Outcomes are listed in a fixed order (damage first, then over-, then
 * under-forgetting); `forgot-like-retraining` only when nothing else holds.
 *
 * @example
 * judge({ accuracy: { forget: 0.88, retain: 0.88, test: 0.79 }, oracle: { accuracy: { forget: 0.89, retain: 1, test: 0.88 } } })
 *   .label; // 'damaged the model (retain acc. −12.0 pts, test acc. −9.0 pts)'
 */
export function judge(input: VerdictInput, margins = VERDICT_MARGINS): Verdict {
  const findings: VerdictFinding[] = [];
  const add = (
    outcome: VerdictFinding['outcome'],
    measure: VerdictFinding['measure'],
    value: number,
    oracle: number,
  ): void => {
    findings.push({ outcome, measure, value, oracle, difference: value - oracle });
  };
  const a = input.accuracy;
  const o = input.oracle.accuracy;
  for (const measure of ['retain', 'test'] as const) {
    if (finite(a[measure], o[measure]) && a[measure] < o[measure] - margins.damage)
      add('damaged-the-model', measure, a[measure], o[measure]);
  }
  if (finite(a.forget, o.forget)) {
    if (a.forget < o.forget - margins.forget) add('over-forgot', 'forget', a.forget, o.forget);
    else if (a.forget > o.forget + margins.forget)
      add('under-forgot', 'forget', a.forget, o.forget);
  }
  const mia = input.miaEfficacy;
  const oracleMia = input.oracle.miaEfficacy;
  if (mia !== undefined && oracleMia !== undefined && finite(mia, oracleMia)) {
    if (mia > oracleMia + margins.mia) add('over-forgot', 'mia-efficacy', mia, oracleMia);
    else if (mia < oracleMia - margins.mia) add('under-forgot', 'mia-efficacy', mia, oracleMia);
  }
  const order: VerdictOutcome[] = ['damaged-the-model', 'over-forgot', 'under-forgot'];
  const outcomes = order.filter((k) => findings.some((f) => f.outcome === k));
  if (outcomes.length === 0) outcomes.push('forgot-like-retraining');
  return {
    outcomes,
    label: verdictLabel(outcomes, findings),
    findings,
    margins: { ...margins },
  };
}

/** `damaged the model (retain acc. −11.5 pts), over-forgot (MIA-efficacy +17.6 pts)`. */
export function verdictLabel(outcomes: VerdictOutcome[], findings: VerdictFinding[]): string {
  return outcomes
    .map((outcome) => {
      const of = findings.filter((f) => f.outcome === outcome);
      if (of.length === 0) return OUTCOME_WORDS[outcome];
      const why = of.map((f) => `${MEASURE_WORDS[f.measure]} ${points(f.difference)}`).join(', ');
      return `${OUTCOME_WORDS[outcome]} (${why})`;
    })
    .join(', ');
}

/** Whether a verdict lets a run be called close to retraining. */
export function forgotLikeRetraining(verdict: Verdict): boolean {
  return verdict.outcomes.length === 1 && verdict.outcomes[0] === 'forgot-like-retraining';
}

function points(difference: number): string {
  const v = (difference * 100).toFixed(1);
  return `${difference < 0 ? '−' : '+'}${v.replace('-', '')} pts`;
}

function finite(...xs: number[]): boolean {
  return xs.every((x) => typeof x === 'number' && Number.isFinite(x));
}
