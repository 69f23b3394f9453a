/**
 * Benchmark runner: `npm run bench -- <name>` runs bench/<name>.ts, whose default export returns
 * one result object or a list. Each result has at least `name`, `lethe_ms`, `pytorch_ms` and
 * `ratio` (Lethe's time over PyTorch's) where PyTorch is measured; the last line printed is the
 * JSON of all results, for scripts to read.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'common.ts')
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ')}`);
  process.exit(name ? 1 : 0);
}
const mod = (await import(`./${name}.ts`)) as {
  default: () => Promise<object | object[]> | object | object[];
};
const results = await mod.default();
const list = Array.isArray(results) ? results : [results];
for (const r of list) console.error(JSON.stringify(r));
console.log(JSON.stringify(list.length === 1 ? list[0] : list));
