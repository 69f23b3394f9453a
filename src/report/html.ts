/**
 * HTML building blocks shared by the run and comparison reports: escaping, number formatting and
 * the self-contained page shell (inline CSS, inline Chart.js, embedded JSON data).
 */
import { chartJsSource, letheVersion } from './assets.js';
import { CLIENT_SCRIPT } from './client.js';

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Serialises data for a `<script type="application/json">` block. Every `<` becomes `\u003c`, so
 * neither `</script>` nor `<!--` in a string can end or confuse the block; U+2028/9 are escaped
 * too. `JSON.parse` of the block's text gives back the original values (NaN/±Infinity become null,
 * as with any JSON).
 */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Non-finite numbers are shown as an em dash rather than "NaN". */
const DASH = '—';
const MINUS = '−';

/** A fraction in [0, 1] as a percentage: `0.8765` → `87.65%`. */
export function formatPercent(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return `${(x * 100).toFixed(digits)}%`;
}

/** A difference of fractions in percentage points with an explicit sign: `−12.30 pp`. */
export function formatPoints(d: number | null | undefined, digits = 2): string {
  if (d === null || d === undefined || !Number.isFinite(d)) return DASH;
  const s = (Math.abs(d) * 100).toFixed(digits);
  if (Number(s) === 0) return `±${s} pp`;
  return `${d < 0 ? MINUS : '+'}${s} pp`;
}

/** A plain number with a fixed number of decimals, or a dash. */
export function formatFixed(x: number | null | undefined, digits: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return x.toFixed(digits).replace(/^-/, MINUS);
}

/** Seconds with precision that suits their size: `3.21 s`, `45.6 s`, `1234 s`. */
export function formatSeconds(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return `${x.toFixed(secondsDigits(x))} s`;
}

/** Decimals for a duration in seconds, chosen from its magnitude. */
export function secondsDigits(x: number): number {
  const a = Math.abs(x);
  return a < 10 ? 2 : a < 100 ? 1 : 0;
}

/** Renders any config value as short text: primitives as-is, arrays and objects as JSON. */
export function formatValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Flattens nested plain objects into dotted keys (`optimizer.lr`), keeping insertion order.
 * Arrays stay whole, since a list of prefixes reads better as one value.
 */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(config)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const nested = flattenConfig(v as Record<string, unknown>, key);
      if (nested.length > 0) out.push(...nested);
      else out.push([key, v]);
    } else {
      out.push([key, v]);
    }
  }
  return out;
}

/** The settings table; an empty config gives a short note instead. */
export function configTable(config: Record<string, unknown>): string {
  const rows = flattenConfig(config);
  if (rows.length === 0) return '<p class="muted">No settings recorded.</p>';
  const body = rows
    .map(
      ([k, v]) =>
        `<tr><th scope="row"><code>${escapeHtml(k)}</code></th><td><code>${escapeHtml(formatValue(v))}</code></td></tr>`,
    )
    .join('\n');
  return `<table class="settings"><tbody>\n${body}\n</tbody></table>`;
}

/** A chart placeholder that the client script fills; `note` is shown under it. */
export function chartBox(
  id: string,
  label: string,
  opts: { tall?: boolean; note?: string } = {},
): string {
  const cls = opts.tall ? 'chart tall' : 'chart';
  const note = opts.note ? `<p class="note">${opts.note}</p>` : '';
  return `<figure class="chart-figure"><div class="${cls}"><canvas id="${escapeHtml(id)}" role="img" aria-label="${escapeHtml(label)}"></canvas></div>${note}</figure>`;
}

/** The reports' style sheet (also `lethe serve`'s, so its pages read like the reports). */
export const REPORT_CSS = `
:root {
  --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg: #ffffff; --panel: #f6f7f9;
  --forget: #d55e00; --retain: #0072b2; --test: #009e73; --warn-bg: #fff6e5; --warn-line: #e69f00;
  --bad: #b42318; --good: #067647;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
header.page { margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0 10px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0 0; }
.subtitle { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .sub { font-size: 13px; color: var(--muted); font-variant-numeric: tabular-nums; }
.card.forget { border-top: 4px solid var(--forget); }
.card.retain { border-top: 4px solid var(--retain); }
.card.test { border-top: 4px solid var(--test); }
.card.val { border-top: 4px solid #888; }
.delta.down { color: var(--bad); }
.delta.up { color: var(--good); }
.delta.neutral { color: var(--fg); }
.callout { border-left: 5px solid var(--warn-line); background: var(--warn-bg); padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.callout.info { border-left-color: var(--retain); background: #eef5fb; }
.callout strong:first-child { display: block; margin-bottom: 4px; }
.verdict { font-size: 16px; }
.chart-figure { margin: 10px 0 18px; }
.chart { position: relative; height: 300px; width: 100%; }
.chart.tall { height: 380px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 13px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; white-space: nowrap; }
table.settings th { width: 40%; font-weight: 500; }
table.settings td code, table.settings th code { word-break: break-word; }
tr.oracle td, tr.oracle th { background: var(--panel); }
td.best { font-weight: 700; }
table.comparison { font-size: 14px; }
table.comparison .std { display: block; font-size: 12px; color: var(--muted); }
table.comparison th, table.comparison td { padding: 6px 8px; }
table.comparison tbody th { white-space: nowrap; }
table.comparison thead th { white-space: normal; min-width: 4.5em; }
.scroll { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted); font-size: 13px; }
noscript .callout { display: block; }
@media print { .chart { break-inside: avoid; } h2 { break-after: avoid; } }
`;

/** Options for {@link renderPage}. */
export interface PageOptions {
  title: string;
  /** Already-escaped HTML for the header's second line. */
  subtitleHtml?: string;
  bodyHtml: string;
  /** Embedded as `<script type="application/json" id="lethe-data">`; the client draws charts from it. */
  data: unknown;
  generatedAt: Date;
}

/**
 * A complete, self-contained HTML page. A Content-Security-Policy forbids every network fetch,
 * so a report that renders offline is guaranteed not to have silently loaded anything.
 */
export function renderPage(opts: PageOptions): string {
  const version = letheVersion();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="Lethe ${escapeHtml(version)}">
<title>${escapeHtml(opts.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header class="page">
<h1>${escapeHtml(opts.title)}</h1>
${opts.subtitleHtml ? `<p class="subtitle">${opts.subtitleHtml}</p>` : ''}
</header>
<noscript><div class="callout"><strong>Charts need JavaScript.</strong>The numbers below are complete without it; the charts are drawn by an inline script.</div></noscript>
${opts.bodyHtml}
<footer>Generated by Lethe ${escapeHtml(version)} on ${escapeHtml(opts.generatedAt.toISOString())}. Self-contained: Chart.js is inlined and the page loads nothing from the network.</footer>
</main>
<script type="application/json" id="lethe-data">${jsonForScript(opts.data)}</script>
<script>${chartJsSource()}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
