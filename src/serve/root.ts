/**
 * The served directory: the one place `lethe serve` reads files through. Every path the server
 * is given is relative to the root; `..` segments, absolute paths and symlinks that lead out of
 * the root are refused, so no file outside it is ever opened. Nothing here writes.
 */
import {
  type Dirent,
  lstatSync,
  openSync,
  readSync,
  closeSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { LetheError } from '../util/errors.js';

/** A request for a path the server will not read (`status`: 400 malformed, 403 outside, 404 absent). */
export class NotServedError extends LetheError {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super('E_NOT_SERVED', message);
  }
}

export class ServedRoot {
  /** The root's real path (symlinks resolved). */
  readonly dir: string;

  constructor(dir: string) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      throw new NotServedError(404, `${dir}: does not exist; expected a directory of runs`);
    }
    if (!statSync(real).isDirectory())
      throw new NotServedError(400, `${dir}: is a file; expected a directory of runs`);
    this.dir = real;
  }

  /** True when the real path `abs` is the root or inside it. */
  contains(abs: string): boolean {
    return abs === this.dir || abs.startsWith(this.dir + sep);
  }

  /**
   * The real path of `rel` (a path relative to the root, `/`-separated, already URL-decoded once),
   * checked to be inside the root after every symlink is followed.
   */
  resolve(rel: string): string {
    if (typeof rel !== 'string' || rel.includes('\0'))
      throw new NotServedError(400, 'expected a path relative to the served directory');
    if (isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.startsWith('\\'))
      throw new NotServedError(403, `${rel}: absolute paths are not served`);
    const parts = rel.split(/[/\\]+/).filter((p) => p !== '' && p !== '.');
    if (parts.includes('..'))
      throw new NotServedError(403, `${rel}: paths outside the served directory are not served`);
    let real: string;
    try {
      real = realpathSync(join(this.dir, ...parts));
    } catch {
      throw new NotServedError(404, `${rel}: not found`);
    }
    if (!this.contains(real))
      throw new NotServedError(403, `${rel}: leads outside the served directory`);
    return real;
  }

  /** The path of an absolute path inside the root, relative to it (`/`-separated); null outside. */
  relativeOf(abs: string): string | null {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return null;
    }
    if (!this.contains(real)) return null;
    return relative(this.dir, real).split(sep).join('/');
  }

  /** Real paths of directories, for one pass of the scanner ({@link ServedRoot.forget} clears it). */
  private readonly dirs = new Map<string, string>();

  /** Forgets the directories resolved so far (symlinks may have changed since). */
  forget(): void {
    this.dirs.clear();
  }

  /**
   * `file` in the served directory `relDir`; null when absent or outside. The directory is
   * resolved once per scanner pass; a file that is itself a symlink is resolved in full.
   */
  stat(relDir: string, file?: string): Stats | null {
    try {
      let dir = this.dirs.get(relDir);
      if (dir === undefined) {
        dir = this.resolve(relDir);
        this.dirs.set(relDir, dir);
      }
      if (!file) return statSync(dir);
      const path = join(dir, file);
      const l = lstatSync(path);
      if (!l.isSymbolicLink() && !file.split(/[/\\]/).includes('..') && !isAbsolute(file))
        return l.isDirectory() || file.includes('/')
          ? statSync(this.resolve(join(relDir, file)))
          : l;
      return statSync(this.resolve(join(relDir, file)));
    } catch {
      return null;
    }
  }

  readText(rel: string): string {
    return readFileSync(this.resolve(rel), 'utf8');
  }

  readBytes(rel: string): Buffer {
    return readFileSync(this.resolve(rel));
  }

  /** Bytes `from`..end of `rel` (at most `max`), for following a growing file. */
  readFrom(rel: string, from: number, max = 8 << 20): Buffer {
    const fd = openSync(this.resolve(rel), 'r');
    try {
      const size = statSync(this.resolve(rel)).size;
      const n = Math.max(0, Math.min(size - from, max));
      const buf = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, from + got);
        if (r === 0) break;
        got += r;
      }
      return buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  /** The entries of the served directory `rel`; [] when it cannot be listed. */
  list(rel: string): Dirent[] {
    try {
      return readdirSync(this.resolve(rel), { withFileTypes: true });
    } catch {
      return [];
    }
  }
}
