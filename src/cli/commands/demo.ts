/** `lethe demo`: the seed's story on the seed's scenario, with the verdict against retraining. */
import { oracleSidesText } from '../../report/analysis.js';
import { demo } from '../../run/demo.js';
import { DEFAULT_SCENARIO } from '../../run/scenarios.js';
import { getMethod } from '../../unlearn/registry.js';
import { runReporter } from '../progress.js';
import { methodOverrides, type Command } from '../options.js';
import { pct, printMemorization, printSummary } from '../print.js';
import {
  compute,
  dataHelp,
  originalSpec,
  scenarioOf,
  scenarioOption,
  TRAINING_OPTIONS,
} from '../shared.js';

const command: Command = {
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
};

export default command;
