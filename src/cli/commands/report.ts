/** `lethe report`: a run's report.html, rendered again from its files. */
import { writeRunReport } from '../../run/report.js';
import { OptionError } from '../../util/errors.js';
import type { Command } from '../options.js';

const command: Command = {
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
};

export default command;
