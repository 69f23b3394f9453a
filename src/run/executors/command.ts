/**
 * How an executor starts Lethe in another process (or on another machine): this installation's
 * `bin/lethe.js` under this Node, or `LETHE_COMMAND` (a JSON array, e.g. a wrapper script or a
 * container invocation). Paths are absolute, so the command works from any directory on a node
 * that sees the same file system.
 */
import { fileURLToPath } from 'node:url';
import { OptionError } from '../../util/errors.js';

export function letheCommand(): string[] {
  const env = process.env.LETHE_COMMAND;
  if (env) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env);
    } catch {
      parsed = null;
    }
    if (
      !Array.isArray(parsed) ||
      parsed.length === 0 ||
      !parsed.every((a) => typeof a === 'string')
    )
      throw new OptionError(`LETHE_COMMAND: expected a JSON array of strings but received ${env}`);
    return parsed as string[];
  }
  return [process.execPath, fileURLToPath(new URL('../../../bin/lethe.js', import.meta.url))];
}

/** Quotes an argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
