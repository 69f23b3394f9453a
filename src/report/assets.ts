/**
 * Everything a report inlines from outside its own code: the Chart.js UMD bundle and Lethe's
 * version. Both are read once, at first render, so a report never depends on the network or on
 * files next to the HTML.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LetheError } from '../util/errors.js';

const require = createRequire(import.meta.url);

let chartJsCache: string | undefined;

/**
 * Locates `chart.umd.js`. chart.js@4's `exports` map hides `dist/` subpaths from `resolve`, so the
 * fallback resolves the package entry (`dist/chart.cjs`) and takes its sibling. Resolution starts
 * from this module, so it works the same from `src/` under tsx and from `dist/` after tsc.
 */
function chartJsPath(): string {
  try {
    return require.resolve('chart.js/dist/chart.umd.js');
  } catch {
    // Blocked by the package's exports map; fall through to the sibling of the entry point.
  }
  try {
    return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
  } catch (err) {
    throw new LetheError(
      'E_REPORT',
      'Cannot find the chart.js package needed to render reports; run `npm install` in the Lethe directory',
      { cause: err },
    );
  }
}

/**
 * The Chart.js UMD bundle, ready to sit inside an inline `<script>`: the source-map comment is
 * dropped (it would point at a file the report does not carry) and any `</script` is broken up.
 */
export function chartJsSource(): string {
  if (chartJsCache !== undefined) return chartJsCache;
  const path = chartJsPath();
  let src: string;
  try {
    src = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LetheError(
      'E_REPORT',
      `Cannot read the Chart.js bundle at ${path}; reinstall dependencies with \`npm install\``,
      { cause: err },
    );
  }
  chartJsCache = src
    .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
    .replace(/<\/(script)/gi, '<\\/$1');
  return chartJsCache;
}

export { letheVersion } from '../util/version.js';
