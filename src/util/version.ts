/**
 * Lethe's own version and the digest of the code that runs: one reader of its package.json and
 * one hash of its sources, for run configs, cache keys and reports.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The version in Lethe's package.json (two levels up from both `src/<layer>` and
 * `dist/<layer>`), or 'unknown' when that file is not Lethe's or cannot be read.
 */
export function letheVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { name?: unknown; version?: unknown };
    cached = pkg.name === 'lethe' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}

let digest: string | undefined;

/**
 * The sha256 of the code that runs, as `sha256:<hex>`: every file under `src/` in a development
 * checkout (whether it runs the sources or their build in `dist/`, which `bin/lethe.js` uses only
 * while it is newer than them), under `dist/` in an install, by relative path and content. Two
 * runs with the same digest ran the same Lethe; the package version alone does not say that in a
 * checkout whose sources changed. Computed once per process.
 */
export function sourceDigest(): string {
  if (digest !== undefined) return digest;
  const pkg = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  const root = existsSync(join(pkg, 'src')) ? join(pkg, 'src') : join(pkg, 'dist');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  walk(root);
  const hash = createHash('sha256');
  // Sorted by relative path with '/' separators, so the digest is the same on every platform.
  const named = files
    .map((path) => ({ path, name: relative(root, path).split('\\').join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { path, name } of named) {
    const data = readFileSync(path);
    hash.update(`${name}\0${data.length}\0`);
    hash.update(data);
  }
  digest = `sha256:${hash.digest('hex')}`;
  return digest;
}
