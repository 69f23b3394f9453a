/**
 * `lethe/run`: turning a request into finished runs. A {@link RunSpec} (checked once) becomes a
 * run directory (`trainRun`, `unlearnRun`); runs are evaluated against retrain oracles
 * (`evaluateRuns`); a comparison is a plan of jobs (`planComparison`) run here (`compare`,
 * `runSerial`), in local processes (`runLocal`), as a Slurm array (`runSlurm`) or off a Redis queue
 * (`runQueue`, `runWorker`), and collected into its comparison files (`collect`). Each of those is
 * an {@link Executor} in the registry `EXECUTORS`, which the CLI's `--executor` lists. Progress
 * comes as events (`RunEvent`); nothing here prints.
 *
 * @example
 * ```ts
 * import { checkCompute, compare } from 'lethe/run';
 * const { comparison } = await compare(
 *   { ...checkCompute({ device: 'cpu' }), from: 'runs/original', methods: ['srfl', 'finetune'],
 *     forget: 'random:0.1', seeds: 3, out: 'runs/compare' },
 *   (event) => { if (event.type === 'run') console.log(`running ${event.label}`); },
 * );
 * ```
 */
export * from './spec.js';
export * from './events.js';
export * from './event-log.js';
export * from '../records/metrics.js';
export {
  RUN_FILES,
  isCompleteRun,
  verifyRun,
  readConfig,
  readMetrics,
  loadRunModel,
  type RunConfig,
  type RunIdentity,
} from './rundir.js';
export {
  checkOut,
  memorizationOf,
  runOptions,
  specIdentity,
  trainRun,
  unlearnRun,
  type ResumeMode,
  type RunOptions,
  type UnlearnRunOptions,
} from './runs.js';
export { getData } from './datasets.js';
export { predictionsForSplit, runPredictions } from './predictions.js';
export { evaluateRuns } from './evaluate-runs.js';
export { writeRunReport } from './report.js';
export {
  cacheDir,
  cachedRun,
  clearCache,
  ensureOriginal,
  listCache,
  type CacheEntry,
} from './cache.js';
export { digestOf, identityDifferences, identityKey, identityOf, runIdentity } from './identity.js';
export {
  PLAN_FILE,
  checkReusable,
  planProgress,
  readPlan,
  readStatus,
  runJob,
  writePlan,
  type JobOptions,
  type JobStatus,
  type Plan,
  type PlanJob,
} from './plan.js';
export {
  collect,
  flattenMetrics,
  planComparison,
  summarise,
  type CompareInput,
} from './compare.js';
export { demo, type DemoInput, type DemoResult } from './demo.js';
export { DEFAULT_EXECUTOR, EXECUTORS, getExecutor } from './executors/index.js';
export type {
  Collector,
  Executor,
  ExecutorContext,
  ExecutorOption,
  ExecutorOutcome,
  ExecutorValues,
} from './executors/types.js';
export { compare, runPlan, runSerial } from './executors/serial.js';
export { runLocal, type LocalOptions } from './executors/local.js';
export {
  runSlurm,
  submitSlurm,
  writeSlurmScripts,
  type SlurmOptions,
  type SlurmScripts,
} from './executors/slurm.js';
export {
  DEFAULT_QUEUE,
  enqueuePlan,
  runQueue,
  type QueuedPlan,
  runWorker,
  type QueueOptions,
  type WorkerOptions,
} from './executors/queue.js';
export { letheCommand, shellQuote } from './executors/command.js';
export {
  DEFAULT_RETRIES,
  DEFAULT_STALL_MINUTES,
  FOLLOW_OPTIONS,
  Watch,
  type FollowOptions,
} from './executors/watch.js';
export {
  DEFAULT_SCENARIO,
  loadScenario,
  scenarioNames,
  scenarioRecord,
  type Scenario,
  type ScenarioRecord,
} from './scenarios.js';
export {
  auditDesign,
  collectAudit,
  planAudit,
  readAudit,
  runAudit,
  type AuditInput,
} from './audit.js';
export type { Audit, AuditEntry } from '../records/audit.js';
export { renderAuditMarkdown } from '../report/audit-markdown.js';
export {
  asAudit,
  asComparison,
  collectPlan,
  readResult,
  resultFile,
  type PlanResult,
} from './plan-result.js';
