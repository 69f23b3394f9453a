/** `lethe train`: an original classifier, trained from scratch into a run directory. */
import { modelNames } from '../../models/registry.js';
import { trainRun } from '../../run/runs.js';
import { runReporter } from '../progress.js';
import type { Command } from '../options.js';
import { printMemorization, printSummary } from '../print.js';
import {
  compute,
  dataHelp,
  overrides,
  resumeOf,
  scenarioOf,
  scenarioOption,
  TRAINING_OPTIONS,
} from '../shared.js';

const command: Command = {
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
};

export default command;
