/**
 * `lethe`: train a classifier, unlearn a forget set from it, and report how well it forgot.
 * This file only finds the command in the registry (`commands/index.ts`; one file per command,
 * each a declarative option table and an action that wraps the library API), parses its flags and
 * runs it. User mistakes print one line; bugs print their stack.
 */
import { LetheError, OptionError } from '../util/errors.js';
import { COMMANDS } from './commands/index.js';
import { helpText, parseCommand } from './options.js';

async function mainHelp(): Promise<string> {
  const lines = await Promise.all(
    Object.entries(COMMANDS).map(async ([name, load]) => {
      const { description } = (await load()).default;
      return `  ${name.padEnd(9)} ${description.split('\n')[0]}`;
    }),
  );
  return [
    'lethe: machine unlearning for TypeScript (libtorch inside)',
    '',
    'Usage: lethe <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'lethe <command> --help' for a command's options. Start with 'lethe demo'.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await mainHelp());
    return 0;
  }
  try {
    if (!Object.hasOwn(COMMANDS, name))
      throw new OptionError(
        `Unknown command '${name}'; expected one of ${Object.keys(COMMANDS).join(', ')}`,
      );
    const command = (await COMMANDS[name]()).default;
    const parsed = parseCommand(name, rest, command.options);
    if (parsed.values.help) {
      console.log(helpText(command.usage, command.description, command.options, command.examples));
      return 0;
    }
    return (await command.run(parsed)) ?? 0;
  } catch (error) {
    if (error instanceof LetheError) {
      console.error(`lethe: ${error.message}`);
      return 2;
    }
    console.error(error);
    return 1;
  }
}
