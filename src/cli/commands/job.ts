/** `lethe job`: one job of a written plan, as an executor (or a cluster's array) starts it. */
import type { RunEventHandler } from '../../run/events.js';
import { readPlan, runJob } from '../../run/plan.js';
import { OptionError } from '../../util/errors.js';
import { runReporter } from '../progress.js';
import { numeric, type Command } from '../options.js';

const command: Command = {
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
    const index = numeric(values, 'index') ?? (fromEnv !== undefined ? Number(fromEnv) : undefined);
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
      ...(numeric(values, 'threads') !== undefined ? { threads: numeric(values, 'threads') } : {}),
    });
    console.log(`job ${index} (${plan.jobs[index].id}): ${state}`);
  },
};

export default command;
