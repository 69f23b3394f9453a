/**
 * Atomic writes, Lethe's one writer of files that others read: a file is written to a temporary
 * name beside it, flushed, and renamed over its path, so a crash (or `kill -9`) leaves either the
 * old file or the new one, never half of one. A directory is put in place the same way
 * ({@link publishDir}).
 */
import {
  closeSync,
  cpSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

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

/** A temporary name beside `path`, unique to this process and moment. */
function temporaryBeside(path: string): string {
  return `${path}${TMP_INFIX}${process.pid}-${Date.now()}`;
}

/**
 * Writes `data` to `path` through a temporary file and a rename, so a crash never leaves half a
 * file. When the write or the rename fails, the temporary file is removed.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = temporaryBeside(path);
  try {
    writeFileSynced(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * Puts a directory in place as a unit: `fill` writes its contents into a new temporary directory
 * beside `path` (`<path>.tmp-<pid>-<time>`), which is then renamed to `path`, replacing any
 * directory there. A crash while filling leaves `path` as it was; only between removing the old
 * directory and the rename can a crash leave none (never a half-filled one). When `fill` or the
 * rename fails, the temporary directory is removed.
 */
export function publishDir(path: string, fill: (tmp: string) => void): void {
  const tmp = temporaryBeside(path);
  try {
    mkdirSync(tmp, { recursive: true });
    fill(tmp);
    rmSync(path, { recursive: true, force: true });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  syncDir(dirname(path));
}

/** Copies the directory `from` to `to` as a unit ({@link publishDir}), replacing what `to` held. */
export function copyDirAtomic(from: string, to: string): void {
  publishDir(to, (tmp) => cpSync(from, tmp, { recursive: true }));
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
