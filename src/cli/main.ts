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
import { oracleSidesText } from '../report/analysis.js';
import { resolveCompute, type ModelMemoryFormat, type Precision } from '../models/precision.js';
import { cuda } from '../tensor/index.js';
import {
  DEFAULT_SCENARIO,
  loadScenario,
  memorizationCheck,
  scenarioNames,
  scenarioRecord,
} from '../run/scenarios.js';
import { LetheError, OptionError } from '../util/errors.js';
import { compare } from './compare.js';
import {
  cachedRun,
  cacheKey,
  ensureOriginal,
  evaluateRuns,
  trainRun,
  unlearnRun,
  writeRunReport,
  type Common,
} from './runs.js';
import {
  helpText,
  intOption,
  methodOverrides,
  numberOption,
  parseCommand,
  type OptionTable,
  type Parsed,
} from './options.js';

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
  resume: {
    type: 'boolean',
    description:
      'continue the interrupted run in --out from its last finished epoch (same settings; the run saves a checkpoint after every epoch)',
  },
  lr: { type: 'string', description: 'learning rate', placeholder: 'x' },
  'batch-size': { type: 'string', description: 'batch size', placeholder: 'n' },
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

/** The options every command shares, parsed and checked once, before any work. */
function common({ values, scenario }: Parsed): Common {
  const device = String(values.device);
  if (!/^(cpu|cuda(:\d+)?)$/.test(device))
    throw new OptionError(
      `--device: expected 'cpu', 'cuda' or 'cuda:<n>' but received '${device}'`,
    );
  if (device.startsWith('cuda')) {
    const n = cuda.isAvailable() ? cuda.deviceCount() : 0;
    const index = device === 'cuda' ? 0 : Number(device.slice(5));
    if (index >= n)
      throw new OptionError(
        n === 0
          ? `--device ${device}: CUDA is not available (this libtorch build or machine has no GPU); use --device cpu, or build against a CUDA libtorch (LIBTORCH=<dir> npm run build)`
          : `--device ${device}: this machine has ${n} CUDA device(s), cuda:0..cuda:${n - 1}`,
      );
  }
  const mf = values['memory-format'];
  if (mf !== undefined && !(String(mf) in MEMORY_FORMAT_FLAGS))
    throw new OptionError(
      `--memory-format: expected 'channels-last' or 'contiguous' but received '${String(mf)}'`,
    );
  const memoryFormat = mf === undefined ? undefined : MEMORY_FORMAT_FLAGS[String(mf)];
  const precision = String(values.precision) as Precision;
  try {
    resolveCompute(device, { precision, memoryFormat });
  } catch (error) {
    throw new OptionError(`--precision: ${(error as Error).message}`);
  }
  return {
    seed: intOption(values, 'seed') ?? 0,
    device,
    threads: intOption(values, 'threads', 1),
    resume: values.resume === true ? 'required' : 'never',
    ...(scenario ? { scenario: scenarioRecord(scenario) } : {}),
    precision,
    ...(memoryFormat ? { memoryFormat } : {}),
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
  if (typeof v !== 'string' || v === '')
    throw new OptionError(
      `lethe ${command}: --${name} is required (see 'lethe ${command} --help')`,
    );
  return v;
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
      await trainRun({
        ...common(parsed),
        data: String(values.data),
        model: String(values.model),
        // The scenario's recipe, under the flags.
        options: { ...scenario?.train, ...overrides(values) },
        out,
        cifarStem: values['cifar-stem'] === true,
      });
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
        placeholder: 'dir',
      },
      forget: {
        type: 'string',
        description: 'forget set: random:<fraction|count>, class:<id>[,<id>], indices:<file>',
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
      await unlearnRun({
        ...common(parsed),
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
      const c = common(parsed);
      const metrics = await evaluateRuns(
        positionals,
        (values.oracle as string[] | undefined) ?? [],
        c.device,
      );
      metrics.forEach((m, i) => {
        console.log(
          `${positionals[i]}: simple MIA ${m.mia!.simple.toFixed(3)}  MIA-efficacy ${m.mia!.efficacy.toFixed(3)}  Avg Gap ${m.gap!.avg.toFixed(3)}  time ${m.timeRatio!.toFixed(2)}x retrain${m.neurips ? `  NeurIPS F ${m.neurips.forgettingQuality.toFixed(3)} score ${m.neurips.score.toFixed(3)}` : ''}`,
        );
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
      opt: {
        type: 'string',
        multiple: true,
        description: 'a method option, e.g. --opt srfl.lr=0.01',
        placeholder: 'method.key=value',
      },
      'every-epoch': {
        type: 'boolean',
        description:
          "evaluate each run's full sets after every epoch, for per-epoch curves (slower)",
      },
    },
    examples: [
      'lethe compare --methods srfl,finetune,neggrad+,scrub,salun --forget random:0.1 --seeds 3',
      'lethe compare --scenario memorized-fmnist --methods srfl,srfl-published,finetune,neggrad+,salun --seeds 16',
    ],
    async run(parsed) {
      const { values, scenario } = parsed;
      // Runs cut short by an interruption continue from their last finished epoch.
      const c: Common = { ...common(parsed), resume: 'if-present' };
      const out = String(values.out);
      const started = performance.now();
      const from = typeof values.from === 'string' ? values.from : join(out, 'original');
      if (typeof values.from !== 'string') {
        await ensureOriginal(
          c,
          {
            data: String(values.data),
            model: String(values.model),
            options: scenario?.train ?? {},
            cifarStem: values['cifar-stem'] === true,
          },
          from,
        );
        printMemorization(from);
      }
      const perMethod: Record<string, Record<string, unknown>> = {};
      for (const [key, value] of Object.entries(methodOverrides(values))) {
        const dot = key.indexOf('.');
        if (dot <= 0) throw new OptionError(`--opt ${key}: expected method.key=value`);
        (perMethod[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = value;
      }
      const seeds = intOption(values, 'seeds', 1) ?? 3;
      const comparison = await compare({
        ...c,
        from,
        methods: String(values.methods).split(',').filter(Boolean),
        forget: String(values.forget),
        seeds,
        out,
        options: perMethod,
        evalEveryEpoch: values['every-epoch'] === true,
        onRun: (label) => console.error(`compare: running ${label}`),
      });
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
    },
  },
  demo: {
    usage: 'lethe demo [--scenario memorized-fmnist] [--out runs/demo]',
    description: [
      "The seed's story on the seed's scenario: a ResNet-20 that memorized 5,000 Fashion-MNIST images, a",
      'random 10% of them to forget. Trains the original and the retrain oracle (once; cached), unlearns',
      'with sRFL and two baselines (finetune, neggrad+), and reports whether each under-forgot, matched or',
      "over-forgot the oracle, next to the seed's forget/retain accuracy curves.",
      '--scenario class-forgetting tells the other story: one whole class forgotten.',
    ].join('\n'),
    options: {
      scenario: scenarioOption(DEFAULT_SCENARIO),
      forget: {
        type: 'string',
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
        description: "baselines to run beside it ('' for none)",
        default: 'finetune,neggrad+',
        placeholder: 'ids',
      },
      'no-oracle': {
        type: 'boolean',
        description:
          'skip the retrain oracle, the baselines and the evaluation: original, sRFL, report',
      },
      data: {
        type: 'string',
        description: `${dataHelp} (default: the scenario's)`,
        placeholder: 'spec',
      },
      model: {
        type: 'string',
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
      // Runs cut short by an interruption continue from their last finished epoch.
      const c: Common = { ...common(parsed), resume: 'if-present' };
      const out = String(values.out);
      const forget = requireString(values, 'forget', 'demo');
      const started = performance.now();
      const original = join(out, 'original');
      const { key: trainKey, cached } = await ensureOriginal(
        c,
        {
          data: requireString(values, 'data', 'demo'),
          model: requireString(values, 'model', 'demo'),
          options: scenario?.train ?? {},
          cifarStem: scenario?.modelOptions?.cifar === true,
        },
        original,
      );
      console.log(
        cached
          ? `original model: reused from the cache (${original})`
          : `original model: trained (${original})`,
      );
      printMemorization(original);
      const method = getMethod(String(values.method)).id;
      const runs = [join(out, method)];
      await unlearnRun({
        ...c,
        from: original,
        forget,
        method,
        options: methodOverrides(values),
        out: runs[0],
      });
      if (values['no-oracle'] === true) {
        printSummary(method, runs[0]);
        console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
        return;
      }
      const oracle = join(out, 'retrain');
      const oracleCached = await cachedRun(
        'retrain',
        cacheKey({ trainKey, forget }),
        oracle,
        (dir) =>
          unlearnRun({ ...c, from: original, forget, method: 'retrain', options: {}, out: dir }),
      );
      console.log(
        oracleCached
          ? `retrain oracle: reused from the cache (${oracle})`
          : `retrain oracle: trained (${oracle})`,
      );
      for (const id of String(values.baselines).split(',').filter(Boolean)) {
        const baseline = getMethod(id).id;
        // The NeurIPS 2023 kit's official baseline budget: one epoch.
        const options = { epochs: 1 };
        const dir = join(out, baseline);
        const hit = await cachedRun(baseline, cacheKey({ trainKey, forget, options }), dir, (d) =>
          unlearnRun({ ...c, from: original, forget, method: baseline, options, out: d }),
        );
        if (hit) console.log(`${baseline}: reused from the cache (${dir})`);
        runs.push(dir);
      }
      const metrics = await evaluateRuns(runs, [oracle], c.device);
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
      runs.forEach((dir, i) =>
        console.log(
          row(
            readMetrics(dir).method,
            metrics[i].accuracy,
            metrics[i].mia!.efficacy,
            `Avg Gap ${metrics[i].gap!.avg.toFixed(3)}  ${oracleSidesText(metrics[i])}`,
          ),
        ),
      );
      console.log('');
      printSummary(method, runs[0]);
      console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
  },
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
