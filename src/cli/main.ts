/**
 * `lethe`: train a classifier, unlearn a forget set from it, and report how well it forgot.
 * Commands are declarative tables; each wraps the library API. User mistakes print one line;
 * bugs print their stack.
 */
import { join } from 'node:path';
import { readMetrics } from '../run/rundir.js';
import { methodIds, getMethod } from '../unlearn/registry.js';
import { modelNames } from '../models/registry.js';
import { DATASET_NAMES } from '../data/registry.js';
import { LetheError, OptionError } from '../util/errors.js';
import { cachedRun, cacheKey, recipe, trainRun, unlearnRun, writeRunReport, type Common } from './runs.js';
import { helpText, intOption, methodOverrides, numberOption, parseCommand, type OptionTable, type Parsed } from './options.js';

interface Command {
  usage: string;
  description: string;
  options: OptionTable;
  examples?: string[];
  run(parsed: Parsed): Promise<void>;
}

const dataHelp = `data set as name[:path]: ${DATASET_NAMES.join(', ')}`;
const TRAINING_OPTIONS: OptionTable = {
  epochs: { type: 'string', description: 'epochs', placeholder: 'n' },
  lr: { type: 'string', description: 'learning rate', placeholder: 'x' },
  'batch-size': { type: 'string', description: 'batch size', placeholder: 'n' },
  opt: { type: 'string', multiple: true, description: 'any other option of the method, e.g. --opt studentMode=train', placeholder: 'key=value' },
};

function common(values: Parsed['values']): Common {
  return {
    seed: intOption(values, 'seed') ?? 0,
    device: String(values.device),
    threads: intOption(values, 'threads', 1),
  };
}

/** Flag shortcuts plus --opt pairs, as method option overrides. */
function overrides(values: Parsed['values']): Record<string, unknown> {
  const out = methodOverrides(values);
  const epochs = intOption(values, 'epochs');
  const lr = numberOption(values, 'lr');
  const batchSize = intOption(values, 'batch-size', 1);
  if (epochs !== undefined) out.epochs = epochs;
  if (lr !== undefined) out.lr = lr;
  if (batchSize !== undefined) out.batchSize = batchSize;
  return out;
}

function requireString(values: Parsed['values'], name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new OptionError(`lethe ${command}: --${name} is required (see 'lethe ${command} --help')`);
  return v;
}

const pct = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '-');

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
    description: 'Train an original classifier from scratch (SGD, momentum, weight decay, cosine schedule, augmentation).',
    options: {
      data: { type: 'string', description: dataHelp, default: 'fashion-mnist', placeholder: 'spec' },
      model: { type: 'string', description: `architecture: ${modelNames().join(', ')}`, default: 'resnet20', placeholder: 'name' },
      out: { type: 'string', description: 'run directory to write', default: 'runs/original', placeholder: 'dir' },
      ...TRAINING_OPTIONS,
    },
    examples: ['lethe train --data fashion-mnist --model resnet20 --epochs 3 --out runs/original', 'lethe train --data cifar10:/data/cifar-10-batches-bin --model resnet18 --opt cifar=true'],
    async run({ values }) {
      const out = String(values.out);
      await trainRun({ ...common(values), data: String(values.data), model: String(values.model), options: overrides(values), out });
      printSummary('trained', out);
    },
  },
  unlearn: {
    usage: 'lethe unlearn --from <run-dir> --forget <spec> [--method srfl] --out <dir>',
    description: 'Remove the influence of a forget set from a trained model.',
    options: {
      from: { type: 'string', description: 'run directory of the trained (original) model', placeholder: 'dir' },
      forget: { type: 'string', description: 'forget set: random:<fraction|count>, class:<id>[,<id>], indices:<file>', placeholder: 'spec' },
      method: { type: 'string', description: `method: ${methodIds().join(', ')}`, default: 'srfl', placeholder: 'id' },
      'student-mode': { type: 'string', description: "batch-norm mode while training: 'train' or 'eval'", placeholder: 'mode' },
      out: { type: 'string', description: 'run directory to write (default runs/<method>)', placeholder: 'dir' },
      ...TRAINING_OPTIONS,
    },
    examples: [
      'lethe unlearn --from runs/original --forget random:0.1 --method srfl --out runs/srfl',
      'lethe unlearn --from runs/original --forget class:3 --method srfl-published --student-mode eval',
    ],
    async run({ values }) {
      const method = getMethod(String(values.method)).id;
      const out = typeof values.out === 'string' ? values.out : join('runs', method);
      const opts = overrides(values);
      if (values['student-mode'] !== undefined) opts.studentMode = values['student-mode'];
      await unlearnRun({
        ...common(values),
        from: requireString(values, 'from', 'unlearn'),
        forget: requireString(values, 'forget', 'unlearn'),
        method,
        options: opts,
        out,
      });
      printSummary(method, out);
    },
  },
  report: {
    usage: 'lethe report <run-dir> [--out <file>]',
    description: "Render a run's report.html again from its files.",
    options: { out: { type: 'string', description: 'where to write (default <run-dir>/report.html)', placeholder: 'file' } },
    async run({ values, positionals }) {
      const dir = positionals[0];
      if (!dir) throw new OptionError("lethe report: expected a run directory (see 'lethe report --help')");
      const path = await writeRunReport(dir, undefined, typeof values.out === 'string' ? values.out : undefined);
      console.log(`report: ${path}`);
    },
  },
  demo: {
    usage: 'lethe demo [--forget class:3] [--out runs/demo]',
    description: [
      'The whole story on Fashion-MNIST with ResNet-20: train the original (once; cached for later runs),',
      'unlearn the forget set with sRFL, and write the report with the forget/retain accuracy curves.',
    ].join('\n'),
    options: {
      forget: { type: 'string', description: 'forget set (the seed itself used random:0.1)', default: 'class:3', placeholder: 'spec' },
      method: { type: 'string', description: 'unlearning method', default: 'srfl', placeholder: 'id' },
      data: { type: 'string', description: dataHelp, default: 'fashion-mnist', placeholder: 'spec' },
      out: { type: 'string', description: 'directory for the demo runs', default: 'runs/demo', placeholder: 'dir' },
      opt: TRAINING_OPTIONS.opt,
    },
    examples: ['lethe demo', 'lethe demo --forget random:0.1', 'lethe demo --out /tmp/lethe-demo'],
    async run({ values }) {
      const c = common(values);
      const out = String(values.out);
      const data = String(values.data);
      const started = performance.now();
      const trainOptions = recipe({});
      const key = cacheKey({ data, model: 'resnet20', trainOptions, seed: c.seed });
      const originalDir = join(out, 'original');
      const cached = await cachedRun('original', key, originalDir, (dir) =>
        trainRun({ ...c, data, model: 'resnet20', options: {}, out: dir }),
      );
      console.log(cached ? `original model: reused from the cache (${originalDir})` : `original model: trained (${originalDir})`);
      const method = getMethod(String(values.method)).id;
      const runDir = join(out, method);
      await unlearnRun({ ...c, from: originalDir, forget: String(values.forget), method, options: methodOverrides(values), out: runDir });
      printSummary(method, runDir);
      console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
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
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.description.split('\n')[0]}`),
    '',
    "Run 'lethe <command> --help' for a command's options. Start with 'lethe demo'.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new OptionError(`Unknown command '${name}'; expected one of ${Object.keys(COMMANDS).join(', ')}`);
    const parsed = parseCommand(name, rest, command.options);
    if (parsed.values.help) {
      console.log(helpText(command.usage, command.description, command.options, command.examples));
      return 0;
    }
    await command.run(parsed);
    return 0;
  } catch (error) {
    if (error instanceof LetheError) {
      console.error(`lethe: ${error.message}`);
      return 2;
    }
    console.error(error);
    return 1;
  }
}
