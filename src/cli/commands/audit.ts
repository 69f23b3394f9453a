/** `lethe audit`: U-LiRA against retraining, every training a job of a plan run on an executor. */
import { availableParallelism } from 'node:os';
import { collectAudit, planAudit } from '../../run/audit.js';
import { DEFAULT_EXECUTOR } from '../../run/executors/index.js';
import { asAudit } from '../../run/plan-result.js';
import { readPlan } from '../../run/plan.js';
import { DEFAULT_SCENARIO } from '../../run/scenarios.js';
import { runReporter } from '../progress.js';
import { numeric, text, type Command } from '../options.js';
import { printAudit } from '../print.js';
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

const command: Command = {
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
      description: "the scenario's forget spec, random:<fraction|count> (default: the scenario's)",
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
    const executor = text(values, 'executor') ?? DEFAULT_EXECUTOR;
    const ranWith = {
      executor,
      ...(executor === 'local' ? { jobs: numeric(values, 'jobs') ?? 2 } : {}),
      threads: c.threads ?? availableParallelism(),
      precision: c.precision,
    };
    const result = await executePlan('audit', planned, parsed, onEvent, {
      aggregate: (plan, o) => collectAudit(plan, { ...o, startedAt, ranWith }),
      // Written even when its jobs run here: every job of an audit is worth resuming.
      keepPlan: true,
    });
    return result && printAudit(asAudit(result), out);
  },
};

export default command;
