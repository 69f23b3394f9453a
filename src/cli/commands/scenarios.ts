/** `lethe scenarios`: the built-in scenarios, or one with its settings and notes. */
import {
  DEFAULT_SCENARIO,
  loadScenario,
  scenarioNames,
  scenarioRecord,
} from '../../run/scenarios.js';
import type { Command } from '../options.js';

const command: Command = {
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
};

export default command;
