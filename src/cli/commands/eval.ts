/** `lethe eval`: did a run forget? Its membership inference and gaps to retrain oracles. */
import { evaluateRuns } from '../../run/evaluate-runs.js';
import { OptionError } from '../../util/errors.js';
import type { Command } from '../options.js';
import { compute } from '../shared.js';

const command: Command = {
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
};

export default command;
