/** Reading a whole file, with an error that names it when it cannot be read. */
import { readFileSync } from 'node:fs';
import { FileFormatError } from './errors.js';

/**
 * The bytes of `file`, or a {@link FileFormatError} naming it and worded by `message` from the
 * reason it could not be read: the system's error code (`ENOENT`, `EISDIR`, …), or the error's
 * message when it has none.
 */
export function readFileOrFail(file: string, message: (reason: string) => string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FileFormatError(file, message(e.code ?? e.message ?? String(err)));
  }
}
