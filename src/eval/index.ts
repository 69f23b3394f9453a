/** Evaluation: did it forget? Membership inference, gaps to the oracle, the NeurIPS 2023 score. */
export * from './evaluate.js';
export * from './stats/index.js';
export * from './verdict.js';
