/** File-system helpers shared by the readers: existence checks with messages that say what was expected. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileFormatError } from '../util/errors.js';

/**
 * Throws a {@link FileFormatError} naming `dir` and the files expected in it, unless `dir` is an
 * existing directory.
 */
export function requireDir(dir: string, expected: readonly string[], hint?: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new FileFormatError(
      dir,
      `directory not found; ${expectedText(expected)}${hintText(hint)}`,
    );
  }
  if (!isDir) {
    throw new FileFormatError(dir, `not a directory; ${expectedText(expected)}${hintText(hint)}`);
  }
}

/**
 * The first of `candidates` that exists in `dir`; otherwise throws a {@link FileFormatError}
 * naming the first candidate and all the files expected in `dir`.
 */
export function findFile(
  dir: string,
  candidates: readonly string[],
  expected: readonly string[],
  hint?: string,
): string {
  for (const name of candidates) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new FileFormatError(
    join(dir, candidates[0]),
    `file not found; ${expectedText(expected)}${hintText(hint)}`,
  );
}

function expectedText(expected: readonly string[]): string {
  return `expected ${expected.join(', ')} there`;
}

function hintText(hint?: string): string {
  return hint ? ` (${hint})` : '';
}
