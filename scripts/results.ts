// `npm run results`: every generated table of README.md from the committed result files, through
// one renderer per kind of result. A table is generated between markers:
//
//   <!-- results:begin <path> [label <id>=<shown>[,<id>=<shown>...]] -->
//   … (rewritten) …
//   <!-- results:end -->
//
// <path> is a comparison.json (`lethe compare`'s; rendered as comparison.md is, with each method's
// verdict: the recorded one, else the rule on the recorded means), an audit.json (`lethe audit`'s;
// rendered as audit.md is) or a recorded demo directory (`npm run record-demo`: results/demo). `label srfl=srfl-tuned` shows a method under
// another name in that table only, and says so under it: for runs recorded under an id whose
// meaning changed since, without editing the result file. Each comparison.md beside a
// comparison.json under results/ is rewritten too.
//
//   npm run results             rewrite README.md and results/**/comparison.md
//   npm run results -- --check  exit 1, naming each table that differs, without writing
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderComparisonMarkdown } from '../src/report/comparison-markdown.js';
import { renderDemoMarkdown } from '../src/report/demo-markdown.js';
import type { Comparison, RunMetrics } from '../src/records/metrics.js';
import type { Audit } from '../src/records/audit.js';
import { renderAuditMarkdown } from '../src/report/audit-markdown.js';
import { withVerdicts } from '../src/run/compare.js';

const BEGIN = /<!-- results:begin ([^>]*?) -->\n/g;
const END = '<!-- results:end -->';

/** A marker's arguments: the result path and the relabelling. */
export function parseMarker(
  args: string,
  where: string,
): { path: string; labels: Map<string, string> } {
  const [path, ...rest] = args.trim().split(/\s+/);
  const labels = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] !== 'label' || rest[i + 1] === undefined)
      throw new Error(
        `${where}: expected 'label <id>=<shown>' after the path but found '${rest.slice(i).join(' ')}'`,
      );
    for (const pair of rest[i + 1].split(',')) {
      const m = /^([^=]+)=([^=]+)$/.exec(pair);
      if (!m) throw new Error(`${where}: expected label <id>=<shown> but found '${pair}'`);
      labels.set(m[1], m[2]);
    }
  }
  if (!path) throw new Error(`${where}: the marker names no result file`);
  return { path, labels };
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** The relabelling line under a table, or nothing. */
function relabelNote(labels: Map<string, string>, path: string): string {
  if (labels.size === 0) return '';
  const pairs = [...labels].map(([id, shown]) => `\`${id}\` as \`${shown}\``).join(', ');
  return `\nShown here: ${pairs}; \`${path}\` names the runs by the method id they were made under.\n`;
}

/** The generated text for one marker, from the files under `root`. */
export function renderResult(root: string, path: string, labels: Map<string, string>): string {
  const abs = join(root, path);
  if (!existsSync(abs)) throw new Error(`${path}: does not exist (named by a results marker)`);
  const shown = (id: string): string => labels.get(id) ?? id;
  const used = (ids: string[]): void => {
    for (const id of labels.keys())
      if (!ids.includes(id)) throw new Error(`${path}: label ${id}=…: no method '${id}' in it`);
  };
  if (statSync(abs).isDirectory()) {
    const record = readJson<{ runs: string[]; command: string; wallSeconds: number }>(
      join(abs, 'run.json'),
    );
    const metrics = (name: string): RunMetrics =>
      readJson<RunMetrics>(join(abs, name, 'metrics.json'));
    const names = record.runs.filter((r) => r !== 'original' && r !== 'retrain');
    used(names);
    const table = renderDemoMarkdown({
      oracle: metrics('retrain'),
      runs: names.map((name) => ({ name: shown(name), metrics: metrics(name) })),
    });
    return `\`${record.command}\` (${path}/run.json: the machine, the date; ${record.wallSeconds.toFixed(0)} s of wall time):\n\n${table}${relabelNote(labels, path)}`;
  }
  if (path.endsWith('audit.json')) {
    const audit = readJson<Audit>(abs);
    used(audit.entries.map((e) => e.method));
    const table = renderAuditMarkdown({
      ...audit,
      entries: audit.entries.map((e) => ({ ...e, method: shown(e.method) })),
    });
    const [first, ...rest] = table.split('\n');
    return `${first} (\`${path}\`)\n${rest.join('\n')}${relabelNote(labels, path)}`;
  }
  const comparison = withVerdicts(readJson<Comparison>(abs));
  used(comparison.entries.map((e) => e.method));
  const table = renderComparisonMarkdown({
    ...comparison,
    entries: comparison.entries.map((e) => ({ ...e, method: shown(e.method) })),
  });
  const [first, ...rest] = table.split('\n');
  return `${first.replace(/\.$/, '')} (\`${path}\`).\n${rest.join('\n')}${relabelNote(labels, path)}`;
}

/** `readme` with every generated table rendered again from the files under `root`. */
export function generateReadme(readme: string, root: string): string {
  let out = '';
  let at = 0;
  for (const m of readme.matchAll(BEGIN)) {
    const start = m.index + m[0].length;
    if (start < at) continue;
    const end = readme.indexOf(END, start);
    const line = readme.slice(0, m.index).split('\n').length;
    if (end < 0) throw new Error(`README.md:${line}: '${m[0].trim()}' has no ${END}`);
    const { path, labels } = parseMarker(m[1], `README.md:${line}`);
    out += readme.slice(at, start) + renderResult(root, path, labels);
    at = end;
  }
  return out + readme.slice(at);
}

/** Every comparison.json under `dir`, relative to `root`. */
function comparisons(root: string, dir = 'results'): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? comparisons(root, join(dir, e.name))
      : e.name === 'comparison.json'
        ? [join(dir, e.name)]
        : [],
  );
}

/** Each generated file whose text differs from what the results give: path → [had, want]. */
export function stale(root: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  const check = (path: string, want: string): void => {
    const had = existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : '';
    if (had !== want) out.set(path, [had, want]);
  };
  for (const c of comparisons(root))
    check(
      join(c, '..', 'comparison.md'),
      renderComparisonMarkdown(withVerdicts(readJson<Comparison>(join(root, c)))),
    );
  check('README.md', generateReadme(readFileSync(join(root, 'README.md'), 'utf8'), root));
  return out;
}

/** The first differing line of two texts, for the message. */
export function firstDifference(had: string, want: string): string {
  const a = had.split('\n');
  const b = want.split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  const k = i < 0 ? a.length : i;
  return `line ${k + 1}: has\n  ${a[k] ?? '(end)'}\nthe results give\n  ${b[k] ?? '(end)'}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(import.meta.dirname, '..');
  const checkOnly = process.argv.includes('--check');
  try {
    const changed = stale(root);
    for (const [path, [had, want]] of changed) {
      if (checkOnly)
        console.error(`results: ${path} differs from results/ at ${firstDifference(had, want)}`);
      else writeFileSync(join(root, path), want);
    }
    if (checkOnly && changed.size) {
      console.error("results: run 'npm run results' to regenerate");
      process.exitCode = 1;
    } else if (!checkOnly)
      console.log(
        changed.size
          ? `results: rewrote ${[...changed.keys()].map((p) => relative('.', join(root, p))).join(', ')}`
          : 'results: everything generated is up to date',
      );
  } catch (error) {
    console.error(`results: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
