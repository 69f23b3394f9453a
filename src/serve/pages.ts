/**
 * The dashboard's page shells: the reports' style sheet and header, the page's first data
 * embedded as JSON (so the first paint needs no second request), and the typed client script
 * (`/assets/serve.js`) with Chart.js (`/assets/chart.js`), both served by this server: the pages
 * load nothing from the network.
 */
import { escapeHtml, jsonForScript, REPORT_CSS } from '../report/html.js';
import { letheVersion } from '../util/version.js';

export type PageKind = 'index' | 'run' | 'comparison' | 'forget';

/** Styles of the dashboard beyond the reports'. */
const SERVE_CSS = `
main { max-width: 1280px; }
nav.top { display: flex; gap: 14px; align-items: baseline; flex-wrap: wrap; font-size: 14px; margin-bottom: 6px; }
nav.top a { color: var(--retain); text-decoration: none; }
a { color: var(--retain); }
.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 10px 0; }
.filters label { font-size: 13px; color: var(--muted); display: flex; gap: 6px; align-items: center; }
.filters select, .filters input { font: inherit; font-size: 14px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); max-width: 100%; }
.state { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line); white-space: nowrap; }
.state.finished { color: var(--good); border-color: #a6d8bf; background: #eefaf3; }
.state.running { color: var(--retain); border-color: #9cc7e6; background: #eef5fb; }
.state.interrupted, .state.incomplete, .state.waiting { color: var(--muted); background: var(--panel); }
.state.failed, .state.unreadable { color: var(--bad); border-color: #f1b3ad; background: #fdf0ef; }
.reason { display: block; font-size: 12px; color: var(--bad); max-width: 40em; overflow-wrap: anywhere; }
table.list { font-size: 14px; }
table.list td, table.list th { padding: 5px 8px; }
table.list td.path { overflow-wrap: anywhere; min-width: 10em; }
.progress { height: 8px; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; overflow: hidden; min-width: 60px; }
.progress > div { height: 100%; background: var(--retain); }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(112px, 1fr)); gap: 10px; }
.thumb { border: 1px solid var(--line); border-radius: 8px; padding: 6px; background: var(--bg); cursor: pointer; text-align: center; font-size: 12px; font-variant-numeric: tabular-nums; }
.thumb:hover, .thumb.selected { border-color: var(--retain); box-shadow: 0 0 0 2px #cfe3f3; }
.thumb img { width: 84px; height: 84px; image-rendering: pixelated; display: block; margin: 0 auto 4px; background: #000; }
.thumb .preds { display: flex; justify-content: center; gap: 4px; flex-wrap: wrap; }
.pred { padding: 0 4px; border-radius: 4px; background: var(--panel); }
.pred.right { color: var(--good); }
.pred.wrong { color: var(--bad); }
.detail { position: sticky; top: 8px; }
.forget-layout { display: grid; grid-template-columns: minmax(0, 1fr) 320px; gap: 18px; align-items: start; }
@media (max-width: 820px) { .forget-layout { grid-template-columns: minmax(0, 1fr); } .detail { position: static; } }
@media (max-width: 600px) { main { padding: 16px 12px 32px; } .grid2 { grid-template-columns: minmax(0, 1fr); } h1 { font-size: 21px; } .chart { height: 240px; } }
.live { color: var(--retain); font-size: 13px; }
.hidden { display: none; }
`;

/** A dashboard page: `data` is what its client script renders first. */
export function renderServePage(kind: PageKind, title: string, data: unknown): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Lethe ${escapeHtml(letheVersion())}">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}${SERVE_CSS}</style>
</head>
<body data-page="${kind}">
<main>
<nav class="top"><a href="/">Lethe runs</a><span class="muted" id="live-status"></span></nav>
<header class="page"><h1 id="title">${escapeHtml(title)}</h1><p class="subtitle" id="subtitle"></p></header>
<noscript><div class="callout"><strong>This page needs JavaScript.</strong>It draws the runs from the data below and follows them live.</div></noscript>
<div id="app"></div>
<footer>Lethe ${escapeHtml(letheVersion())} · <code>lethe serve</code> reads the runs directory and writes nothing; the page loads nothing from the network.</footer>
</main>
<script type="application/json" id="lethe-data">${jsonForScript(data)}</script>
<script src="/assets/chart.js"></script>
<script src="/assets/serve.js"></script>
</body>
</html>
`;
}
