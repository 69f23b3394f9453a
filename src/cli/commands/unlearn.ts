/** `lethe unlearn`: a trained model with a forget set's influence removed, as a run directory. */
import { join } from 'node:path';
import { unlearnRun } from '../../run/runs.js';
import { getMethod, methodIds } from '../../unlearn/registry.js';
import { runReporter } from '../progress.js';
import type { Command } from '../options.js';
import { printSummary } from '../print.js';
import {
  compute,
  overrides,
  resumeOf,
  scenarioOf,
  scenarioOption,
  TRAINING_OPTIONS,
} from '../shared.js';

const command: Command = {
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
};

export default command;
