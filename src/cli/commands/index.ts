/**
 * Every `lethe` command, in the order `lethe --help` lists them: its name and its file, loaded
 * when it runs (or when the help lists it). A new command is its file and its line here.
 */
import type { Command } from '../options.js';

export const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  train: () => import('./train.js'),
  unlearn: () => import('./unlearn.js'),
  report: () => import('./report.js'),
  eval: () => import('./eval.js'),
  compare: () => import('./compare.js'),
  audit: () => import('./audit.js'),
  job: () => import('./job.js'),
  worker: () => import('./worker.js'),
  demo: () => import('./demo.js'),
  cache: () => import('./cache.js'),
  setup: () => import('./setup.js'),
  serve: () => import('./serve.js'),
  scenarios: () => import('./scenarios.js'),
};
