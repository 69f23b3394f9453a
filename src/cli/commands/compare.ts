/**
 * `lethe compare`: the retrain oracle and every method for each seed on one split, as a plan of
 * jobs run on an executor, summarised in comparison.json, comparison.md and report.html.
 */
import { join } from 'node:path';
import type { Comparison } from '../../records/metrics.js';
import { collectAudit } from '../../run/audit.js';
import { collect, planComparison } from '../../run/compare.js';
import { asComparison } from '../../run/plan-result.js';
import { readPlan } from '../../run/plan.js';
import { runReporter } from '../progress.js';
import { numeric, text, type Command } from '../options.js';
import { printAudit, printMemorization } from '../print.js';
import {
  compute,
  dataHelp,
  EXECUTOR_OPTIONS,
  executePlan,
  originalSpec,
  PER_METHOD_OPTION,
  perMethodOptions,
  scenarioOf,
  scenarioOption,
} from '../shared.js';

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

const command: Command = {
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
      description: 'run directory of the trained original (default: train one into <out>/original)',
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
      description: "evaluate each run's full sets after every epoch, for per-epoch curves (slower)",
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
    const result = await executePlan('compare', planned, parsed, onEvent);
    return result && printComparison(asComparison(result), out, started);
  },
};

export default command;
