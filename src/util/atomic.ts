/**
 * Atomic writes: a file is written to a temporary name beside it, flushed, and renamed over its
 * path, so a crash (or `kill -9`) leaves either the old file or the new one, never half of one.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** The infix of every temporary file Lethe writes: `<file>.tmp-<pid>-<time>`. */
export const TMP_INFIX = '.tmp-';

/** Writes `data` to `path` and flushes it to disk; nothing else. */
export function writeFileSynced(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}${TMP_INFIX}${process.pid}-${Date.now()}`;
  try {
    writeFileSynced(tmp, data);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  renameSync(tmp, path);
}

/** Flushes a directory's entries (the renames in it) to disk. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform can open a directory; the renames are atomic either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Removes the temporary files that interrupted writes left in `dir` (not recursively). */
export function sweepTemporary(dir: string, also: (name: string) => boolean = () => false): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.includes(TMP_INFIX) || also(name)) unlinkSync(join(dir, name));
}
