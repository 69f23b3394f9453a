/**
 * Scenarios: named, documented presets of the settings an experiment needs (data, model, the
 * original's training recipe, the forget set, the memorization target), one JSON file each under
 * `scenarios/`. Every command takes `--scenario <name>`; flags still win. A scenario is read and
 * validated once, here, and its name and settings are recorded in every run's `config.json`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDatasetSpec } from '../data/registry.js';
import { checkForgetSpec } from '../data/split.js';
import { modelNames } from '../models/registry.js';
import { getMethod, resolveOptions } from '../unlearn/registry.js';
import { FileFormatError, OptionError } from '../util/errors.js';
import { JsonSyntaxError, parseStrictJson, isObject } from '../util/json.js';

/** The memorization an original must reach for a scenario's story to hold. */
export interface MemorizationTarget {
  /** Eval-mode accuracy on the whole training set, at least. */
  minTrainAccuracy: number;
  /** Train accuracy minus test accuracy, at least. */
  minGap: number;
}

/** A scenario's settings, as its file holds them (and as runs record them). */
export interface ScenarioSettings {
  /** Data set spec, e.g. `fashion-mnist,subset=5000`. */
  data: string;
  model: string;
  /** Model options beyond the data set's channels and classes (e.g. `{ cifar: true }`). */
  modelOptions?: { cifar?: boolean };
  /** The original's (and so the retrain oracle's) recipe, over the training defaults. */
  train: Record<string, unknown>;
  /** Forget spec. */
  forget: string;
  memorization?: MemorizationTarget;
}

export interface Scenario extends ScenarioSettings {
  name: string;
  /** One line, for `lethe scenarios`. */
  description: string;
  /** Why the settings are what they are, and where they come from. */
  notes: string[];
}

/** What a run records of the scenario it was made under. */
export interface ScenarioRecord {
  name: string;
  settings: ScenarioSettings;
}

/** The scenario `lethe demo` tells its story on: the seed's own. */
export const DEFAULT_SCENARIO = 'memorized-fmnist';

/** The directory of the built-in scenario files (`scenarios/` at the package root). */
export function scenarioDir(): string {
  return fileURLToPath(new URL('../../scenarios/', import.meta.url));
}

/** The built-in scenarios' names, sorted. */
export function scenarioNames(): string[] {
  return readdirSync(scenarioDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

const KEYS = new Set([
  'name',
  'description',
  'notes',
  'data',
  'model',
  'modelOptions',
  'train',
  'forget',
  'memorization',
]);

/** Loads a built-in scenario by name, or a scenario file by path (anything with a `/` or `.json`). */
export function loadScenario(nameOrPath: string): Scenario {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  if (!isPath && !scenarioNames().includes(nameOrPath)) {
    throw new OptionError(
      `--scenario: unknown scenario '${nameOrPath}'; expected one of ${scenarioNames().join(', ')} or a scenario file`,
    );
  }
  const file = isPath ? nameOrPath : join(scenarioDir(), `${nameOrPath}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new OptionError(`--scenario ${nameOrPath}: cannot read ${file}`);
  }
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new FileFormatError(file, error.message);
    throw error;
  }
  return validateScenario(value, file);
}

/** Checks every field of a parsed scenario file; throws naming the file and the field. */
export function validateScenario(value: unknown, file: string): Scenario {
  const fail = (message: string): never => {
    throw new FileFormatError(file, message);
  };
  if (!isObject(value)) return fail('expected a JSON object');
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) fail(`unknown key '${key}'; expected ${[...KEYS].join(', ')}`);
  }
  const str = (key: string): string => {
    const v = value[key];
    if (typeof v !== 'string' || v === '') fail(`expected a non-empty string for '${key}'`);
    return v as string;
  };
  const name = str('name');
  const description = str('description');
  const notes = value.notes ?? [];
  if (!Array.isArray(notes) || !notes.every((n) => typeof n === 'string'))
    fail("expected a list of strings for 'notes'");
  const data = str('data');
  const model = str('model');
  const forget = str('forget');
  try {
    parseDatasetSpec(data);
    checkForgetSpec(forget);
  } catch (error) {
    fail((error as Error).message);
  }
  if (!modelNames().includes(model))
    fail(`unknown model '${model}'; expected one of ${modelNames().join(', ')}`);
  let modelOptions: Scenario['modelOptions'];
  if (value.modelOptions !== undefined) {
    const m = value.modelOptions;
    if (
      !isObject(m) ||
      Object.keys(m).some((k) => k !== 'cifar') ||
      (m.cifar !== undefined && typeof m.cifar !== 'boolean')
    )
      fail('expected { "cifar": true|false } for \'modelOptions\'');
    modelOptions = { ...(m as { cifar?: boolean }) };
  }
  const train = value.train ?? {};
  if (!isObject(train)) return fail("expected an object of training options for 'train'");
  try {
    resolveOptions(getMethod('retrain'), train);
  } catch (error) {
    fail(`'train': ${(error as Error).message}`);
  }
  let memorization: MemorizationTarget | undefined;
  if (value.memorization !== undefined) {
    const m = value.memorization;
    const inUnit = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
    if (
      !isObject(m) ||
      !inUnit(m.minTrainAccuracy) ||
      !inUnit(m.minGap) ||
      Object.keys(m).length !== 2
    ) {
      return fail('expected { "minTrainAccuracy": 0..1, "minGap": 0..1 } for \'memorization\'');
    }
    memorization = { minTrainAccuracy: m.minTrainAccuracy as number, minGap: m.minGap as number };
  }
  return {
    name,
    description,
    notes: notes as string[],
    data,
    model,
    ...(modelOptions ? { modelOptions } : {}),
    train: { ...train },
    forget,
    ...(memorization ? { memorization } : {}),
  };
}

/** What a run records of `scenario`: its name and settings (description and notes stay in the file). */
export function scenarioRecord(scenario: Scenario): ScenarioRecord {
  const { name, description: _d, notes: _n, ...settings } = scenario;
  return { name, settings };
}

/** Whether a trained original reached a memorization target; null when there is none. */
export function memorizationCheck(
  accuracy: { train: number; test: number },
  target: MemorizationTarget | undefined,
): { reached: boolean; message: string } | null {
  if (!target) return null;
  const gap = accuracy.train - accuracy.test;
  const reached = accuracy.train >= target.minTrainAccuracy && gap >= target.minGap;
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  return {
    reached,
    message: reached
      ? `memorized: train ${pct(accuracy.train)} ≥ ${pct(target.minTrainAccuracy)}, gap to test ${pct(gap)} ≥ ${pct(target.minGap)}`
      : `the original did not reach the scenario's memorization target: train ${pct(accuracy.train)} (target ≥ ${pct(target.minTrainAccuracy)}), train − test ${pct(gap)} (target ≥ ${pct(target.minGap)}); train longer (--epochs) or on fewer images`,
  };
}
