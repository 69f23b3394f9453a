/** An audit as a Markdown table (`audit.md`), for READMEs and issues: one row per method. */
import type { Audit } from '../records/audit.js';

const pct = (v: number, digits = 1): string =>
  Number.isFinite(v) ? `${(v * 100).toFixed(digits)}` : '–';

/** `audit.json` as a Markdown table. */
export function renderAuditMarkdown(audit: Audit): string {
  const lines = [
    `U-LiRA on ${audit.data}${audit.scenario ? ` (scenario ${audit.scenario})` : ''}: ${audit.shadows} shadow models, each the held-out target once; ${audit.auditSet} audited examples; ${audit.variance} variance. Attack accuracy is balanced accuracy over targets (50% = cannot tell unlearning from retraining), with its 95% t-interval.`,
    '',
    '| method | attack accuracy (%) | 95% CI | AUC | TPR @ 1% FPR (%) | TPR @ 5% FPR (%) | forget / retain / test acc. (%) | accuracies vs retraining |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...audit.entries.map(
      (e) =>
        `| ${e.method === 'retrain' ? 'retrain (floor: retrained vs retrained)' : e.method} | ${pct(e.accuracy.mean)} | ${pct(e.accuracy.ci95[0])}–${pct(e.accuracy.ci95[1])} | ${Number.isFinite(e.auc) ? e.auc.toFixed(3) : '–'} | ${pct(e['tpr@1%fpr'])} | ${pct(e['tpr@5%fpr'])} | ${pct(e.meanAccuracy.forget)} / ${pct(e.meanAccuracy.retain)} / ${pct(e.meanAccuracy.test)} | ${e.verdict?.label ?? 'the reference'} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
