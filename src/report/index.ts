/**
 * Lethe's HTML reports: self-contained pages (Chart.js and data inlined, nothing fetched) for a
 * single run's `metrics.json` and for a comparison's `comparison.json`.
 */
export { renderRunReport, type RunReportInput, type RunReportData } from './run-report.js';
export {
  renderComparisonReport,
  formatMeanStd,
  metricInfo,
  metricKeys,
  METRICS,
  type ComparisonReportInput,
  type MetricInfo,
} from './comparison-report.js';
export { renderComparisonMarkdown, MARKDOWN_COLUMNS } from './comparison-markdown.js';
export { renderAuditMarkdown } from './audit-markdown.js';
export { renderDemoMarkdown, type DemoTable } from './demo-markdown.js';
export { writeReport } from './write.js';
export {
  findAccuracyDisagreements,
  unlearningVerdict,
  readForgetGap,
  movingAverage,
  smoothingWindow,
  DISAGREEMENT_DEFAULTS,
  CLOSE_TO_ORACLE,
  MIA_DETECTABLE,
  type AccuracyDisagreement,
  type ForgetGapReading,
} from './analysis.js';
export { escapeHtml, jsonForScript } from './html.js';
