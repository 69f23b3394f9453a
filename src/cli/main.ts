/**
 * `lethe`: train a classifier, unlearn a forget set from it, and report how well it forgot.
 * Commands are declarative tables; each wraps the library API. User mistakes print one line;
 * bugs print their stack.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { readMetrics } from '../run/rundir.js';
import { methodIds, getMethod } from '../unlearn/registry.js';
import { modelNames } from '../models/registry.js';
import { DATASET_NAMES } from '../data/registry.js';
import { oracleSidesText } from '../report/analysis.js';
import type { ModelMemoryFormat } from '../models/precision.js';
import {
  DEFAULT_SCENARIO,
  loadScenario,
  memorizationCheck,
  scenarioNames,
  scenarioRecord,
  type ScenarioRecord,
} from '../run/scenarios.js';
import { LetheError, OptionError } from '../util/errors.js';
import {
  checkCompute,
  collect,
  asAudit,
  asComparison,
  collectAudit,
  planAudit,
  type Plan,
  type PlanResult,
  renderAuditMarkdown,
  runAudit,
  type Audit,
  demo,
  evaluateRuns,
  planComparison,
  readPlan,
  runJob,
  runLocal,
  runPlan,
  runQueue,
  runSlurm,
  runWorker,
  trainRun,
  unlearnRun,
  writePlan,
  writeRunReport,
  writeSlurmScripts,
  type Comparison,
  type ComputeSpec,
  type RunEventHandler,
  type TrainSpec,
  DEFAULT_RETRIES,
  DEFAULT_STALL_MINUTES,
  shellQuote,
} from '../run/index.js';
import { runReporter } from './progress.js';
import { SERVE_COMMAND } from './serve.js';
import {
  helpText,
  methodOverrides,
  numeric,
  parseCommand,
  text,
  type Command,
  type OptionTable,
  type Parsed,
} from './options.js';
import { cacheCommand } from './cache.js';
import { setupCommand } from './setup.js';

const dataHelp = `data set as name[:path]: ${DATASET_NAMES.join(', ')}`;
const TRAINING_OPTIONS: OptionTable = {
  epochs: { type: 'string', description: 'epochs', value: 'integer', min: 1, placeholder: 'n' },
  resume: {
    type: 'boolean',
    description:
      'continue the interrupted run in --out from its last finished epoch (same settings; the run saves a checkpoint after every epoch)',
  },
  lr: { type: 'string', description: 'learning rate', value: 'number', above: 0, placeholder: 'x' },
  'batch-size': {
    type: 'string',
    description: 'batch size',
    value: 'integer',
    min: 1,
    placeholder: 'n',
  },
  opt: {
    type: 'string',
    multiple: true,
    description: 'any other option of the method, e.g. --opt studentMode=train',
    placeholder: 'key=value',
  },
};

const MEMORY_FORMAT_FLAGS: Record<string, ModelMemoryFormat> = {
  'channels-last': 'channelsLast',
  contiguous: 'contiguous',
};

/** The compute settings every command shares, checked once, before any work. */
function compute({ values }: Parsed): ComputeSpec {
  const mf = text(values, 'memory-format');
  return checkCompute({
    seed: numeric(values, 'seed'),
    device: values.device,
    threads: numeric(values, 'threads'),
    precision: values.precision,
    memoryFormat: mf === undefined ? undefined : MEMORY_FORMAT_FLAGS[mf],
  });
}

/** The scenario a command runs under, as recorded in its runs' config.json. */
function scenarioOf({ scenario }: Parsed): { scenario?: ScenarioRecord } {
  return scenario ? { scenario: scenarioRecord(scenario) } : {};
}

/** The original a comparison or the demo trains (once; cached) from the flags and scenario. */
function originalSpec(parsed: Parsed, c: ComputeSpec, cifarStem: boolean): TrainSpec {
  const { values, scenario } = parsed;
  return {
    kind: 'train',
    data: String(values.data),
    model: String(values.model),
    ...(cifarStem ? { cifarStem: true } : {}),
    options: scenario?.train ?? {},
    ...c,
    ...scenarioOf(parsed),
  };
}

const scenarioOption = (def?: string): OptionTable[string] => ({
  type: 'string',
  description: `a preset of data, model, recipe and forget set: ${scenarioNames().join(', ')}, or a scenario file (flags win; see 'lethe scenarios')`,
  ...(def ? { default: def } : {}),
  placeholder: 'name',
});

/** Flag shortcuts plus --opt pairs, as method option overrides. */
function overrides(values: Parsed['values']): Record<string, unknown> {
  const out = methodOverrides(values);
  const epochs = numeric(values, 'epochs');
  const lr = numeric(values, 'lr');
  const batchSize = numeric(values, 'batch-size');
  if (epochs !== undefined) out.epochs = epochs;
  if (lr !== undefined) out.lr = lr;
  if (batchSize !== undefined) out.batchSize = batchSize;
  return out;
}

/** `--opt method.key=value`, for commands that run several methods (compare, audit). */
const PER_METHOD_OPTION: OptionTable[string] = {
  type: 'string',
  multiple: true,
  description: 'a method option, e.g. --opt srfl.lr=0.01',
  placeholder: 'method.key=value',
};

/** Where a plan's jobs run, shared by every command that makes a plan (compare, audit). */
const EXECUTOR_OPTIONS: OptionTable = {
  executor: {
    type: 'string',
    description:
      "where the jobs run: 'serial' (here, default), 'local' (--jobs processes), 'slurm' (an sbatch array), 'queue' (lethe worker processes off --redis)",
    choices: ['serial', 'local', 'slurm', 'queue'],
    placeholder: 'name',
  },
  jobs: {
    type: 'string',
    description: 'local: processes at once (threads divided between them)',
    default: '2',
    value: 'integer',
    min: 1,
    placeholder: 'k',
  },
  partition: { type: 'string', description: 'slurm: partition', placeholder: 'name' },
  gpus: {
    type: 'string',
    description: 'slurm: GPUs per job',
    value: 'integer',
    min: 0,
    placeholder: 'n',
  },
  cpus: {
    type: 'string',
    description: 'slurm: CPUs per job (its libtorch threads)',
    value: 'integer',
    min: 1,
    placeholder: 'n',
  },
  mem: { type: 'string', description: 'slurm: memory per job, e.g. 8G', placeholder: 'size' },
  time: {
    type: 'string',
    description: 'slurm: time limit per job, e.g. 2:00:00',
    placeholder: 'limit',
  },
  throttle: {
    type: 'string',
    description: "slurm: at most this many jobs at once (the array's %)",
    value: 'integer',
    min: 1,
    placeholder: 'n',
  },
  submit: {
    type: 'boolean',
    description:
      'slurm: submit the array and the aggregation and follow them to the end (default: write the scripts and say how to submit them)',
  },
  redis: {
    type: 'string',
    description: 'queue: the Redis URL, e.g. redis://host:6379',
    placeholder: 'url',
  },
  queue: {
    type: 'string',
    description: 'queue: the queue name',
    default: 'lethe',
    placeholder: 'name',
  },
  retries: {
    type: 'string',
    description: `slurm --submit, queue: run a job that failed or was cancelled again up to this many times (default ${DEFAULT_RETRIES})`,
    value: 'integer',
    min: 0,
    placeholder: 'n',
  },
  'allow-partial': {
    type: 'boolean',
    description:
      'slurm --submit, queue: when jobs failed for good, aggregate the runs that finished (default: stop, naming the failed jobs)',
  },
  'stall-timeout': {
    type: 'string',
    description: `slurm --submit, queue: stop waiting when no job changed state or wrote to its log for this many minutes (default ${DEFAULT_STALL_MINUTES}); rerunning the command resumes`,
    value: 'number',
    above: 0,
    placeholder: 'minutes',
  },
};

/**
 * Runs a plan where `--executor` says (serial, local processes, a Slurm array, a Redis queue) and
 * returns its result; undefined when only the plan or the Slurm scripts were written (with how to
 * run them printed). `serial` runs the plan in this process; `aggregate` replaces the plan's own
 * aggregation after local processes.
 */
async function executePlan(
  command: 'compare' | 'audit',
  planned: Plan,
  parsed: Parsed,
  onEvent: RunEventHandler,
  runners: {
    serial: (plan: Plan) => Promise<PlanResult>;
    aggregate?: (plan: Plan, o: { onEvent?: RunEventHandler }) => Promise<PlanResult>;
  },
): Promise<PlanResult | undefined> {
  const { values } = parsed;
  const executor = text(values, 'executor') ?? 'serial';
  if (executor === 'queue' && !text(values, 'redis'))
    throw new OptionError(`lethe ${command}: --executor queue needs --redis <url>`);
  const planDir = text(values, 'plan');
  if (executor === 'serial' && planDir === undefined) return runners.serial(planned);
  const plan = writePlan(planDir ?? join(planned.out, 'plan'), planned);
  const planFile = join(plan.dir!, 'plan.json');
  if (executor === 'serial') {
    console.log(
      [
        `plan: ${planFile} (${plan.jobs.length} jobs, indices 0..${plan.jobs.length - 1})`,
        `  one job:     lethe job ${plan.dir} --index <i>`,
        `  all of them: lethe ${command} --executor local|slurm|queue … --plan ${plan.dir}`,
        `  afterwards:  lethe ${command} --collect ${plan.dir}`,
      ].join('\n'),
    );
    return undefined;
  }
  const threads = numeric(values, 'threads');
  if (executor === 'local') {
    const local = { jobs: numeric(values, 'jobs') ?? 2, threads, onEvent };
    return runners.aggregate ? runLocal(plan, local, runners.aggregate) : runLocal(plan, local);
  }
  const follow = {
    ...(numeric(values, 'retries') !== undefined ? { retries: numeric(values, 'retries') } : {}),
    ...(numeric(values, 'stall-timeout') !== undefined
      ? { stallMinutes: numeric(values, 'stall-timeout') }
      : {}),
    allowPartial: values['allow-partial'] === true,
    resume: ['lethe', command, ...invocation].map(shellQuote).join(' '),
  };
  if (executor === 'slurm') {
    const slurm = {
      ...(text(values, 'partition') ? { partition: text(values, 'partition') } : {}),
      ...(numeric(values, 'gpus') !== undefined ? { gpus: numeric(values, 'gpus') } : {}),
      ...(numeric(values, 'cpus') !== undefined ? { cpus: numeric(values, 'cpus') } : {}),
      ...(text(values, 'mem') ? { mem: text(values, 'mem') } : {}),
      ...(text(values, 'time') ? { time: text(values, 'time') } : {}),
      ...(numeric(values, 'throttle') !== undefined
        ? { throttle: numeric(values, 'throttle') }
        : {}),
      onEvent,
    };
    if (values.submit === true) return runSlurm(plan, { ...slurm, ...follow });
    const scripts = writeSlurmScripts(plan, slurm);
    console.log(
      [
        `plan: ${planFile} (${plan.jobs.length} jobs)`,
        'submit with:',
        `  id=$(sbatch --parsable ${scripts.array})`,
        `  sbatch --dependency=afterok:$id --kill-on-invalid-dep=yes ${scripts.aggregate}`,
        `(or add --submit to submit and follow them; if a job fails, lethe ${command} --collect ${plan.dir})`,
      ].join('\n'),
    );
    return undefined;
  }
  return runQueue(plan, {
    redis: text(values, 'redis')!,
    queue: String(values.queue),
    onEvent,
    ...follow,
  });
}

/** `--opt method.key=value` pairs, by method. */
function perMethodOptions(values: Parsed['values']): Record<string, Record<string, unknown>> {
  const perMethod: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(methodOverrides(values))) {
    const dot = key.indexOf('.');
    if (dot <= 0) throw new OptionError(`--opt ${key}: expected method.key=value`);
    (perMethod[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = value;
  }
  return perMethod;
}

/** Prints an audit's table and where its files are; exit code 1 when a job failed. */
function printAudit(audit: Audit, out: string): number {
  process.stdout.write(renderAuditMarkdown(audit));
  console.log(
    `audit: ${join(out, 'audit.json')} (per example: examples.json, table: audit.md)${audit.wallSeconds !== undefined ? ` in ${audit.wallSeconds.toFixed(0)} s` : ''}`,
  );
  for (const f of audit.failed ?? [])
    console.error(`lethe: job ${f.job} failed: ${f.error}${f.log ? ` (log: ${f.log})` : ''}`);
  return audit.failed?.length ? 1 : 0;
}

/** Prints a comparison's table and where its files are; exit code 1 when a job failed. */
function printComparison(comparison: Comparison, out: string, started: number): number {
  for (const e of comparison.entries) {
    const m = e.metrics;
    const f = (k: string): string =>
      m[k] ? `${m[k].mean.toFixed(3)}±${m[k].std.toFixed(3)}` : '-';
    console.log(
      `${e.method.padEnd(15)} forget ${f('accuracy.forget')}  retain ${f('accuracy.retain')}  test ${f('accuracy.test')}  MIA ${f('mia.simple')}  Avg Gap ${f('gap.avg')}  s ${f('seconds')}`,
    );
  }
  console.log(
    `comparison: ${join(out, 'comparison.json')} (table: comparison.md), report: ${join(out, 'report.html')} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
  for (const f of comparison.failed ?? [])
    console.error(`lethe: job ${f.job} failed: ${f.error}${f.log ? ` (log: ${f.log})` : ''}`);
  if (comparison.failed?.length)
    console.error(
      `lethe: ${comparison.failed.length} job(s) failed; the table summarises the runs that finished. Run the same command again to retry them.`,
    );
  return comparison.failed?.length ? 1 : 0;
}

function resumeOf(values: Parsed['values']): 'required' | 'never' {
  return values.resume === true ? 'required' : 'never';
}

const pct = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '-';

/** Says how far a trained original memorized; warns when it missed its scenario's target. */
function printMemorization(dir: string): void {
  const m = readMetrics(dir).memorization;
  if (!m) return;
  const check = memorizationCheck(m, m.target);
  if (check && !check.reached) console.error(`lethe: warning: ${dir}: ${check.message}`);
  else
    console.log(
      `  memorization: train ${pct(m.train)}, test ${pct(m.test)}, gap ${pct(m.gap)}${check ? ' (target reached)' : ''}`,
    );
}

function printSummary(label: string, dir: string): void {
  const m = readMetrics(dir);
  const a = m.accuracy;
  const o = m.original;
  const line = (name: string, now: number, before?: number): string =>
    `  ${name.padEnd(7)} ${pct(now).padStart(6)}${before !== undefined ? `   (original ${pct(before)})` : ''}`;
  console.log(`${label}: ${dir}`);
  console.log(`  eval-mode accuracy on the full sets, ${m.seconds.toFixed(0)} s`);
  if (Number.isFinite(a.forget as number)) console.log(line('forget', a.forget, o?.forget));
  console.log(line('retain', a.retain, o?.retain));
  console.log(line('test', a.test, o?.test));
  console.log(`  report: ${join(dir, 'report.html')}`);
}

const COMMANDS: Record<string, Command> = {
  train: {
    usage: 'lethe train [--data <spec>] [--model <name>] [--epochs <n>] --out <dir>',
    description:
      'Train an original classifier from scratch (SGD, momentum, weight decay, cosine schedule, augmentation).',
    options: {
      data: {
        type: 'string',
        description: dataHelp,
        default: 'fashion-mnist',
        placeholder: 'spec',
      },
      model: {
        type: 'string',
        description: `architecture: ${modelNames().join(', ')}`,
        default: 'resnet20',
        placeholder: 'name',
      },
      'cifar-stem': {
        type: 'boolean',
        description: 'ResNet-18/34/50 with the 3×3 stride-1 stem and no max-pool (32×32 inputs)',
      },
      out: {
        type: 'string',
        description: 'run directory to write',
        default: 'runs/original',
        placeholder: 'dir',
      },
      scenario: scenarioOption(),
      ...TRAINING_OPTIONS,
    },
    examples: [
      'lethe train --data fashion-mnist --model resnet20 --epochs 3 --out runs/original',
      'lethe train --scenario memorized-fmnist --out runs/memorized',
      'lethe train --data cifar10:/data/cifar-10-batches-bin --model resnet18 --cifar-stem',
    ],
    async run(parsed) {
      const { values, scenario } = parsed;
      const out = String(values.out);
      await trainRun(
        {
          kind: 'train',
          data: String(values.data),
          model: String(values.model),
          ...(values['cifar-stem'] === true ? { cifarStem: true } : {}),
          // The scenario's recipe, under the flags.
          options: { ...scenario?.train, ...overrides(values) },
          ...compute(parsed),
          ...scenarioOf(parsed),
        },
        out,
        { resume: resumeOf(values), onEvent: runReporter() },
      );
      printSummary('trained', out);
      printMemorization(out);
    },
  },
  unlearn: {
    usage: 'lethe unlearn --from <run-dir> --forget <spec> [--method srfl] --out <dir>',
    description: 'Remove the influence of a forget set from a trained model.',
    options: {
      from: {
        type: 'string',
        description: 'run directory of the trained (original) model',
        required: true,
        placeholder: 'dir',
      },
      forget: {
        type: 'string',
        description: 'forget set: random:<fraction|count>, class:<id>[,<id>], indices:<file>',
        required: true,
        placeholder: 'spec',
      },
      method: {
        type: 'string',
        description: `method: ${methodIds().join(', ')}`,
        default: 'srfl',
        placeholder: 'id',
      },
      'student-mode': {
        type: 'string',
        description: "batch-norm mode while training: 'train' or 'eval'",
        choices: ['train', 'eval'],
        placeholder: 'mode',
      },
      out: {
        type: 'string',
        description: 'run directory to write (default runs/<method>)',
        placeholder: 'dir',
      },
      scenario: scenarioOption(),
      ...TRAINING_OPTIONS,
    },
    examples: [
      'lethe unlearn --from runs/original --forget random:0.1 --method srfl --out runs/srfl',
      'lethe unlearn --from runs/original --forget class:3 --method srfl-published --student-mode eval',
    ],
    async run(parsed) {
      const { values } = parsed;
      const method = getMethod(String(values.method)).id;
      const out = typeof values.out === 'string' ? values.out : join('runs', method);
      const opts = overrides(values);
      if (values['student-mode'] !== undefined) opts.studentMode = values['student-mode'];
      await unlearnRun(
        {
          kind: 'unlearn',
          from: String(values.from),
          forget: String(values.forget),
          method,
          options: opts,
          ...compute(parsed),
          ...scenarioOf(parsed),
        },
        out,
        { resume: resumeOf(values), onEvent: runReporter() },
      );
      printSummary(method, out);
    },
  },
  report: {
    usage: 'lethe report <run-dir> [--out <file>]',
    description: "Render a run's report.html again from its files.",
    options: {
      out: {
        type: 'string',
        description: 'where to write (default <run-dir>/report.html)',
        placeholder: 'file',
      },
    },
    async run({ values, positionals }) {
      const dir = positionals[0];
      if (!dir)
        throw new OptionError("lethe report: expected a run directory (see 'lethe report --help')");
      const path = await writeRunReport(
        dir,
        undefined,
        typeof values.out === 'string' ? values.out : undefined,
      );
      console.log(`report: ${path}`);
    },
  },
  eval: {
    usage: 'lethe eval <run-dir> [<run-dir>...] --oracle <retrain-run-dir> [--oracle <dir>...]',
    description: [
      'Did it forget? Membership inference (simple MIA on loss, MIA-efficacy on confidence), gaps to the',
      'retrain oracle and their mean (Avg Gap), time vs retraining, and with 2+ runs and 2+ oracles of the',
      "same split, the NeurIPS 2023 forgetting quality and score. Written into each run's metrics.json.",
    ].join('\n'),
    options: {
      oracle: {
        type: 'string',
        multiple: true,
        description: "a 'retrain' run of the same forget set (repeat for several seeds)",
        placeholder: 'dir',
      },
    },
    examples: [
      'lethe unlearn --from runs/original --forget class:3 --method retrain --out runs/retrain',
      'lethe eval runs/srfl --oracle runs/retrain',
    ],
    async run(parsed) {
      const { values, positionals } = parsed;
      if (positionals.length === 0)
        throw new OptionError(
          "lethe eval: expected at least one run directory (see 'lethe eval --help')",
        );
      const c = compute(parsed);
      const metrics = await evaluateRuns(
        positionals,
        (values.oracle as string[] | undefined) ?? [],
        c.device,
      );
      metrics.forEach((m, i) => {
        console.log(
          `${positionals[i]}: simple MIA ${m.mia!.simple.toFixed(3)}  MIA-efficacy ${m.mia!.efficacy.toFixed(3)}  Avg Gap ${m.gap!.avg.toFixed(3)}  time ${m.timeRatio!.toFixed(2)}x retrain${m.neurips ? `  NeurIPS F ${m.neurips.forgettingQuality.toFixed(3)} score ${m.neurips.score.toFixed(3)}` : ''}`,
        );
        if (m.verdict) console.log(`  verdict: ${m.verdict.label}`);
      });
    },
  },
  compare: {
    usage:
      'lethe compare --methods srfl,finetune,neggrad+ --forget random:0.1 --seeds 3 [--from <run-dir>] --out <dir>',
    description:
      'Run the retrain oracle and every method for each seed on one split, evaluate them all, and write comparison.json, comparison.md and report.html.',
    options: {
      methods: {
        type: 'string',
        description: 'comma-separated method ids',
        default: 'srfl,finetune,neggrad+,scrub,salun',
        placeholder: 'ids',
      },
      scenario: scenarioOption(),
      forget: {
        type: 'string',
        description: 'forget set spec',
        default: 'random:0.1',
        placeholder: 'spec',
      },
      seeds: {
        type: 'string',
        description: 'runs per method (N ≥ 2 for the NeurIPS score)',
        default: '3',
        value: 'integer',
        min: 1,
        placeholder: 'n',
      },
      from: {
        type: 'string',
        description:
          'run directory of the trained original (default: train one into <out>/original)',
        placeholder: 'dir',
      },
      data: {
        type: 'string',
        description: `${dataHelp} (when training the original)`,
        default: 'fashion-mnist',
        placeholder: 'spec',
      },
      model: {
        type: 'string',
        description: 'architecture (when training the original)',
        default: 'resnet20',
        placeholder: 'name',
      },
      'cifar-stem': {
        type: 'boolean',
        description: 'ResNet-18/34/50 with the CIFAR stem (when training the original)',
      },
      out: {
        type: 'string',
        description: 'comparison directory',
        default: 'runs/compare',
        placeholder: 'dir',
      },
      opt: PER_METHOD_OPTION,
      'every-epoch': {
        type: 'boolean',
        description:
          "evaluate each run's full sets after every epoch, for per-epoch curves (slower)",
      },
      plan: {
        type: 'string',
        description:
          'write the comparison as a plan of jobs (plan.json) into this directory; alone, only write it (run its jobs with lethe job)',
        placeholder: 'dir',
      },
      collect: {
        type: 'string',
        description: "evaluate a plan's finished runs into the comparison files",
        placeholder: 'plan-dir',
      },
      ...EXECUTOR_OPTIONS,
    },
    examples: [
      'lethe compare --methods srfl,finetune,neggrad+,scrub,salun --forget random:0.1 --seeds 3',
      'lethe compare --scenario memorized-fmnist --methods srfl,srfl-published,finetune,neggrad+,salun --seeds 16',
      'lethe compare --scenario memorized-fmnist --seeds 16 --out /shared/cmp --executor local --jobs 4',
      'lethe compare --scenario memorized-fmnist --seeds 16 --out /shared/cmp --executor slurm --gpus 1 --cpus 8 --time 2:00:00 --throttle 16 --submit',
      'lethe compare --scenario memorized-fmnist --seeds 16 --out /shared/cmp --executor queue --redis redis://queue-host:6379',
      'lethe compare --collect /shared/cmp/plan',
    ],
    async run(parsed) {
      const { values } = parsed;
      const started = performance.now();
      const collectDir = text(values, 'collect');
      if (collectDir) {
        const plan = readPlan(collectDir);
        // The aggregation job of any plan (a Slurm dependency, a queue's parent job) comes here.
        if (plan.kind === 'audit')
          return printAudit(await collectAudit(plan, { onEvent: runReporter() }), plan.out);
        return printComparison(await collect(plan, { onEvent: runReporter() }), plan.out, started);
      }
      const c = compute(parsed);
      const out = String(values.out);
      const from = text(values, 'from');
      const perMethod = perMethodOptions(values);
      const planned = await planComparison({
        ...c,
        ...(from !== undefined
          ? { from }
          : { original: originalSpec(parsed, c, values['cifar-stem'] === true) }),
        methods: String(values.methods).split(',').filter(Boolean),
        forget: String(values.forget),
        seeds: numeric(values, 'seeds') ?? 3,
        out,
        options: perMethod,
        evalEveryEpoch: values['every-epoch'] === true,
        ...scenarioOf(parsed),
      });
      const onEvent = runReporter({
        onRun: (label) => `compare: running ${label}`,
        extra: (e) => {
          // How far the original memorized, once it is there.
          if (
            e.type === 'job' &&
            e.id === 'original' &&
            (e.state === 'done' || e.state === 'skipped')
          )
            printMemorization(planned.original);
        },
      });
      const result = await executePlan('compare', planned, parsed, onEvent, {
        serial: (plan) => runPlan(plan, onEvent),
      });
      return result && printComparison(asComparison(result), out, started);
    },
  },
  audit: {
    usage: 'lethe audit [--scenario memorized-fmnist] [--methods <ids>] [--shadows 16] --out <dir>',
    description: [
      'U-LiRA against retraining (Hayes et al. 2024): K shadow originals, each trained from its own seed',
      'on its own sample of the scenario’s pool, each forgetting about half of an audit set with every',
      'method and retrained without it; each shadow is in turn the held-out target of a per-example',
      'likelihood-ratio attack fit on the others. Writes audit.json (attack accuracy with its 95% CI,',
      'AUC, TPR at 1% and 5% FPR per method; the retrain row is the attack’s floor), examples.json',
      '(which forget examples give each method away) and audit.md. Every training is a job of a plan:',
      'the same command resumes, and --executor local|slurm|queue runs the jobs elsewhere.',
    ].join('\n'),
    options: {
      scenario: scenarioOption(DEFAULT_SCENARIO),
      methods: {
        type: 'string',
        description: 'comma-separated method ids to audit (the retrain floor is always there)',
        default: 'srfl,srfl-tuned,srfl-calibrated,finetune,neggrad+,salun',
        placeholder: 'ids',
      },
      shadows: {
        type: 'string',
        description: 'shadow models, each the held-out target once (≥ 3; 16 or more to trust it)',
        default: '16',
        value: 'integer',
        min: 3,
        placeholder: 'k',
      },
      'audit-size': {
        type: 'string',
        description: "examples audited (default: twice the scenario's forget count)",
        value: 'integer',
        min: 2,
        placeholder: 'n',
      },
      forget: {
        type: 'string',
        required: true,
        description:
          "the scenario's forget spec, random:<fraction|count> (default: the scenario's)",
        placeholder: 'spec',
      },
      data: {
        type: 'string',
        required: true,
        description: `${dataHelp}: the pool (default: the scenario's)`,
        placeholder: 'spec',
      },
      model: {
        type: 'string',
        description: "architecture (default: the scenario's)",
        default: 'resnet20',
        placeholder: 'name',
      },
      'cifar-stem': { type: 'boolean', description: 'ResNet-18/34/50 with the CIFAR stem' },
      variance: {
        type: 'string',
        description:
          "the attack's spreads: 'global' (one per group, LiRA's advice under ~64 shadows) or 'per-example'",
        choices: ['global', 'per-example'],
        default: 'global',
        placeholder: 'kind',
      },
      out: {
        type: 'string',
        description: 'audit directory',
        default: 'runs/audit',
        placeholder: 'dir',
      },
      opt: PER_METHOD_OPTION,
      plan: {
        type: 'string',
        description:
          'write the audit as a plan of jobs into this directory (default <out>/plan); with the serial executor, only write it (run its jobs with lethe job)',
        placeholder: 'dir',
      },
      collect: {
        type: 'string',
        description: "score a plan's finished runs into the audit files",
        placeholder: 'plan-dir',
      },
      ...EXECUTOR_OPTIONS,
    },
    examples: [
      'lethe audit --scenario memorized-fmnist --shadows 16 --out runs/audit --executor local --jobs 2',
      'lethe audit --scenario memorized-fmnist --methods srfl,srfl-calibrated --shadows 16 --out runs/audit --precision bf16-mixed',
      'lethe audit --scenario memorized-fmnist --out /shared/audit --executor slurm --cpus 2 --submit',
      'lethe audit --collect runs/audit/plan',
    ],
    async run(parsed) {
      const { values } = parsed;
      const startedAt = Date.now();
      const onEvent = runReporter({ onRun: (label) => `audit: running ${label}` });
      const collectDir = text(values, 'collect');
      if (collectDir) {
        const plan = readPlan(collectDir);
        return printAudit(await collectAudit(plan, { onEvent, startedAt }), plan.out);
      }
      const c = compute(parsed);
      const out = String(values.out);
      const planned = await planAudit({
        ...c,
        original: originalSpec(parsed, c, values['cifar-stem'] === true),
        methods: String(values.methods).split(',').filter(Boolean),
        shadows: numeric(values, 'shadows') ?? 16,
        forget: String(values.forget),
        ...(numeric(values, 'audit-size') !== undefined
          ? { auditSize: numeric(values, 'audit-size') }
          : {}),
        out,
        options: perMethodOptions(values),
        variance: values.variance as 'global' | 'per-example',
        ...scenarioOf(parsed),
      });
      const executor = text(values, 'executor') ?? 'serial';
      const ranWith = {
        executor,
        ...(executor === 'local' ? { jobs: numeric(values, 'jobs') ?? 2 } : {}),
        threads: c.threads ?? availableParallelism(),
        precision: c.precision,
      };
      // Written here too when it runs serially: every job of an audit is worth resuming.
      const written = (plan: Plan): Plan =>
        plan.dir ? plan : writePlan(text(values, 'plan') ?? join(out, 'plan'), plan);
      const result = await executePlan('audit', planned, parsed, onEvent, {
        serial: (plan) => runAudit(written(plan), onEvent, { startedAt, ranWith }),
        aggregate: (plan, o) => collectAudit(plan, { ...o, startedAt, ranWith }),
      });
      return result && printAudit(asAudit(result), out);
    },
  },
  job: {
    usage: 'lethe job <plan-dir> [--index <i>]',
    description: [
      "Run one job of a comparison's plan (lethe compare … --plan <dir>). The index comes from",
      '--index, else SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (a Slurm array, a Kubernetes indexed',
      'job). A job whose run is finished is skipped; the shared original is trained by one job, the',
      'others wait for it.',
    ].join('\n'),
    options: {
      index: {
        type: 'string',
        description: 'the job (0-based)',
        value: 'integer',
        min: 0,
        placeholder: 'i',
      },
      'exit-with-parent': {
        type: 'boolean',
        description: 'stop when the process that started this one exits (lethe worker uses it)',
      },
    },
    async run(parsed) {
      const { values, positionals } = parsed;
      const dir = positionals[0];
      if (!dir)
        throw new OptionError("lethe job: expected a plan directory (see 'lethe job --help')");
      const plan = readPlan(dir);
      const fromEnv = process.env.SLURM_ARRAY_TASK_ID ?? process.env.JOB_COMPLETION_INDEX;
      const index =
        numeric(values, 'index') ?? (fromEnv !== undefined ? Number(fromEnv) : undefined);
      if (index === undefined)
        throw new OptionError(
          'lethe job: which job? --index <i>, or SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment',
        );
      const parent = process.ppid;
      const watchParent: RunEventHandler = () => {
        if (process.ppid !== parent) throw new Error('the worker that started this job exited');
      };
      const state = await runJob(plan, index, {
        onEvent: runReporter({
          onRun: (label) => `job ${index}: running ${label}`,
          ...(values['exit-with-parent'] === true ? { extra: watchParent } : {}),
        }),
        ...(numeric(values, 'threads') !== undefined
          ? { threads: numeric(values, 'threads') }
          : {}),
      });
      console.log(`job ${index} (${plan.jobs[index].id}): ${state}`);
    },
  },
  worker: {
    usage: 'lethe worker --redis <url> [--queue lethe]',
    description: [
      'Take jobs of comparisons (lethe compare --executor queue) off a Redis queue until stopped',
      '(SIGINT, SIGTERM). Start any number, on any machines that reach Redis and see the run',
      'directories at the same paths. A job whose worker dies is taken over by another; a job that',
      'fails is retried (lethe compare --retries). When Redis restarts, workers reconnect by themselves.',
    ].join('\n'),
    options: {
      redis: {
        type: 'string',
        description: 'Redis URL, e.g. redis://host:6379',
        required: true,
        placeholder: 'url',
      },
      queue: {
        type: 'string',
        description: 'the queue name',
        default: 'lethe',
        placeholder: 'name',
      },
      concurrency: {
        type: 'string',
        description: 'jobs at once in this worker',
        default: '1',
        value: 'integer',
        min: 1,
        placeholder: 'n',
      },
      'lock-seconds': {
        type: 'string',
        description:
          "how long a job's lock lasts unrenewed: a dead worker's job is retried after it",
        default: '30',
        value: 'integer',
        min: 1,
        placeholder: 's',
      },
    },
    async run(parsed) {
      const { values } = parsed;
      const until = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await runWorker({
        redis: String(values.redis),
        queue: String(values.queue),
        concurrency: numeric(values, 'concurrency'),
        lockSeconds: numeric(values, 'lock-seconds'),
        ...(numeric(values, 'threads') !== undefined
          ? { threads: numeric(values, 'threads') }
          : {}),
        until,
        onEvent: runReporter(),
      });
    },
  },
  demo: {
    usage: 'lethe demo [--scenario memorized-fmnist] [--out runs/demo]',
    description: [
      "The seed's story on the seed's scenario: a ResNet-20 that memorized 5,000 Fashion-MNIST images, a",
      'random 10% of them to forget. Trains the original and the retrain oracle (once; cached), unlearns',
      "with sRFL (the seed's loss as written), srfl-tuned (retain weight 3), two baselines (finetune,",
      'neggrad+) and sRFL that stops where retraining would (srfl-calibrated), and gives each the',
      'verdict against the oracle (forgot like retraining, under-forgot, over-forgot, damaged the model),',
      "next to the seed's forget/retain accuracy curves.",
      '--scenario class-forgetting tells the other story: one whole class forgotten.',
    ].join('\n'),
    options: {
      scenario: scenarioOption(DEFAULT_SCENARIO),
      forget: {
        type: 'string',
        required: true,
        description: "forget set (default: the scenario's)",
        placeholder: 'spec',
      },
      method: {
        type: 'string',
        description: 'unlearning method',
        default: 'srfl',
        placeholder: 'id',
      },
      baselines: {
        type: 'string',
        description: "methods to run beside it, one epoch each ('' for none)",
        default: 'srfl-tuned,finetune,neggrad+,srfl-calibrated',
        placeholder: 'ids',
      },
      'no-oracle': {
        type: 'boolean',
        description:
          'skip the retrain oracle, the baselines and the evaluation: original, sRFL, report',
      },
      data: {
        type: 'string',
        required: true,
        description: `${dataHelp} (default: the scenario's)`,
        placeholder: 'spec',
      },
      model: {
        type: 'string',
        required: true,
        description: "architecture (default: the scenario's)",
        placeholder: 'name',
      },
      out: {
        type: 'string',
        description: 'directory for the demo runs',
        default: 'runs/demo',
        placeholder: 'dir',
      },
      opt: TRAINING_OPTIONS.opt,
    },
    examples: [
      'lethe demo',
      'lethe demo --scenario class-forgetting',
      'lethe demo --no-oracle',
      'lethe demo --out /tmp/lethe-demo --baselines ""',
    ],
    async run(parsed) {
      const { values, scenario } = parsed;
      const c = compute(parsed);
      const out = String(values.out);
      const forget = String(values.forget);
      const started = performance.now();
      const noOracle = values['no-oracle'] === true;
      const result = await demo(
        {
          ...c,
          original: originalSpec(parsed, c, scenario?.modelOptions?.cifar === true),
          forget,
          method: getMethod(String(values.method)).id,
          options: methodOverrides(values),
          baselines: String(values.baselines).split(',').filter(Boolean),
          oracle: !noOracle,
          out,
          ...scenarioOf(parsed),
        },
        runReporter(),
      );
      const { original, runs } = result;
      console.log(
        original.cached
          ? `original model: reused from the cache (${original.dir})`
          : `original model: trained (${original.dir})`,
      );
      printMemorization(original.dir);
      if (result.oracle) {
        const { oracle } = result;
        console.log(
          oracle.cached
            ? `retrain oracle: reused from the cache (${oracle.dir})`
            : `retrain oracle: trained (${oracle.dir})`,
        );
        for (const r of runs.slice(1))
          if (r.cached) console.log(`${r.method}: reused from the cache (${r.dir})`);
        const metrics = result.evaluated!;
        console.log('');
        console.log(`Did it forget? eval-mode accuracy vs the retrain oracle (forget ${forget})`);
        const o = metrics[0].oracle!;
        const row = (
          name: string,
          a: { forget: number; retain: number; test: number },
          mia: number,
          verdict: string,
        ): string =>
          `  ${name.padEnd(15)} forget ${pct(a.forget).padStart(6)}  retain ${pct(a.retain).padStart(6)}  test ${pct(a.test).padStart(6)}  MIA-eff ${mia.toFixed(3)}  ${verdict}`;
        console.log(row('retrain oracle', o.accuracy, o.mia.efficacy, ''));
        runs.forEach((r, i) =>
          console.log(
            row(
              r.method,
              metrics[i].accuracy,
              metrics[i].mia!.efficacy,
              `Avg Gap ${metrics[i].gap!.avg.toFixed(3)}  ${oracleSidesText(metrics[i])}`,
            ),
          ),
        );
        console.log('');
      }
      printSummary(runs[0].method, runs[0].dir);
      console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
  },
  cache: cacheCommand,
  setup: setupCommand,
  serve: SERVE_COMMAND,
  scenarios: {
    usage: 'lethe scenarios [<name>]',
    description: 'List the built-in scenarios, or show one with its settings and notes.',
    options: {},
    async run({ positionals }) {
      if (positionals.length === 0) {
        for (const name of scenarioNames()) {
          const sc = loadScenario(name);
          console.log(`${name.padEnd(20)} ${sc.description}`);
        }
        console.log(
          `\nThe demo's default is ${DEFAULT_SCENARIO}. Any command takes --scenario <name>.`,
        );
        return;
      }
      const sc = loadScenario(positionals[0]);
      console.log(`${sc.name}: ${sc.description}\n`);
      console.log(JSON.stringify(scenarioRecord(sc).settings, null, 2));
      for (const note of sc.notes) console.log(`\n- ${note}`);
    },
  },
};

function mainHelp(): string {
  return [
    'lethe: machine unlearning for TypeScript (libtorch inside)',
    '',
    'Usage: lethe <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(
      ([name, c]) => `  ${name.padEnd(9)} ${c.description.split('\n')[0]}`,
    ),
    '',
    "Run 'lethe <command> --help' for a command's options. Start with 'lethe demo'.",
  ].join('\n');
}

/** The arguments after the command's name, for the messages that say how to resume it. */
let invocation: string[] = [];

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command)
      throw new OptionError(
        `Unknown command '${name}'; expected one of ${Object.keys(COMMANDS).join(', ')}`,
      );
    const parsed = parseCommand(name, rest, command.options);
    invocation = rest;
    if (parsed.values.help) {
      console.log(helpText(command.usage, command.description, command.options, command.examples));
      return 0;
    }
    return (await command.run(parsed)) ?? 0;
  } catch (error) {
    if (error instanceof LetheError) {
      console.error(`lethe: ${error.message}`);
      return 2;
    }
    console.error(error);
    return 1;
  }
}
