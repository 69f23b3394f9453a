/** Lethe's own version: one reader of its package.json, for run configs, cache keys and reports. */
import { readFileSync } from 'node:fs';

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
