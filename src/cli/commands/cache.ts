/** `lethe cache`: what the cache of finished runs holds, and clearing it. */
import { cacheDir, clearCache, listCache, type CacheEntry } from '../../run/cache.js';
import { OptionError } from '../../util/errors.js';
import { numeric, type Command } from '../options.js';

function size(bytes: number): string {
  return bytes >= 1e9
    ? `${(bytes / 1e9).toFixed(1)} GB`
    : bytes >= 1e6
      ? `${(bytes / 1e6).toFixed(1)} MB`
      : `${(bytes / 1e3).toFixed(0)} kB`;
}

function age(from: Date): string {
  const s = (Date.now() - from.getTime()) / 1000;
  return s < 3600
    ? `${Math.max(0, Math.round(s / 60))} min`
    : s < 86_400
      ? `${(s / 3600).toFixed(1)} h`
      : `${(s / 86_400).toFixed(1)} d`;
}

/** What made an entry, in one line. */
function madeBy(e: CacheEntry): string {
  const m = e.made;
  if (!m) return 'made by an earlier Lethe that did not record how (never reused)';
  const options = Object.entries(m.options)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return [
    `${m.method} ${m.data} ${m.model} forget ${m.forget} seed ${m.seed} ${m.precision} ${m.memoryFormat} ${m.device}`,
    ...(m.original ? [`from original ${m.original}`] : []),
    `lethe ${m.lethe} (source ${m.source.slice(0, 19)}…) libtorch ${m.libtorch}`,
    options,
  ].join('; ');
}

const command: Command = {
  usage: 'lethe cache [list] | lethe cache clear [--older-than <days>]',
  description: [
    'List the cache of finished runs (originals, oracles, baselines the demo and comparisons reuse)',
    'with what made each, or clear it. A cached run is reused only when everything that made it is',
    "the same as now (options, data, seed, precision, Lethe's code, libtorch). Where: $LETHE_CACHE_DIR,",
    'else $XDG_CACHE_HOME/lethe or ~/.cache/lethe.',
  ].join('\n'),
  options: {
    'older-than': {
      type: 'string',
      description: 'clear: only entries made more than this many days ago',
      value: 'number',
      min: 0,
      placeholder: 'days',
    },
  },
  examples: ['lethe cache', 'lethe cache clear --older-than 30'],
  async run({ values, positionals }) {
    const [action = 'list', ...extra] = positionals;
    if (extra.length || (action !== 'list' && action !== 'clear'))
      throw new OptionError(
        `lethe cache: expected 'list' or 'clear' but received '${positionals.join(' ')}'`,
      );
    const olderThan = numeric(values, 'older-than');
    if (action === 'list') {
      if (olderThan !== undefined)
        throw new OptionError("lethe cache: --older-than goes with 'clear'");
      const entries = listCache();
      console.log(
        `cache: ${cacheDir()} (${entries.length} entries, ${size(entries.reduce((s, e) => s + e.bytes, 0))})`,
      );
      for (const e of entries)
        console.log(
          `${e.kind.padEnd(16)} ${e.key}  ${size(e.bytes).padStart(8)}  ${age(e.createdAt).padStart(7)} ago  ${madeBy(e)}`,
        );
      return;
    }
    const removed = clearCache(olderThan);
    console.log(
      `cache: removed ${removed.length} entries (${size(removed.reduce((s, e) => s + e.bytes, 0))}) from ${cacheDir()}${olderThan !== undefined ? `, made more than ${olderThan} days ago` : ''}`,
    );
  },
};

export default command;
