/**
 * Command-line option parsing: declarative option tables per command, values from a config file
 * underneath flags, `--opt key=value` for any method option, and exact messages for mistakes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadScenario, type Scenario } from '../run/scenarios.js';
import { OptionError } from '../util/errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
  /** Shown in help as the value's placeholder. */
  placeholder?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** Options every command takes. */
export const COMMON_OPTIONS: OptionTable = {
  seed: {
    type: 'string',
    description: 'seed of every random choice (splits, shuffles, init, rolls)',
    default: '0',
    placeholder: 'n',
  },
  device: {
    type: 'string',
    description: "'cpu', 'cuda' or 'cuda:<n>'",
    default: 'cpu',
    placeholder: 'device',
  },
  threads: {
    type: 'string',
    description: "libtorch threads (default: the machine's cores)",
    placeholder: 'n',
  },
  precision: {
    type: 'string',
    description:
      "'fp32', 'bf16-mixed' (autocast; CPU and CUDA) or 'fp16-mixed' (CUDA, loss scaling)",
    default: 'fp32',
    placeholder: 'p',
  },
  'memory-format': {
    type: 'string',
    description:
      "'channels-last' or 'contiguous' for images and conv weights (default: the faster on the device)",
    placeholder: 'f',
  },
  config: {
    type: 'string',
    description: 'JSON file with any of these options (flags win)',
    placeholder: 'file',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** The scenario named by `--scenario` (or the command's default one), loaded and validated. */
  scenario?: Scenario;
}

/** The command options a scenario supplies, by option name. */
function scenarioValues(scenario: Scenario): Record<string, string | boolean | undefined> {
  return {
    data: scenario.data,
    model: scenario.model,
    forget: scenario.forget,
    'cifar-stem': scenario.modelOptions?.cifar,
  };
}

/**
 * Parses argv against a command's table (plus the common options), then layers under the flags a
 * config file, then the scenario (`--scenario`), then the table's defaults.
 */
export function parseCommand(command: string, argv: string[], table: OptionTable): Parsed {
  const all = { ...table, ...COMMON_OPTIONS };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(all)) {
    options[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new OptionError(`lethe ${command}: ${message} (see 'lethe ${command} --help')`);
  }
  const values = { ...(parsed.values as Parsed['values']) };
  const configPath = values.config as string | undefined;
  if (configPath) {
    for (const [key, value] of Object.entries(readConfigFile(configPath))) {
      const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      if (key === 'options' && value && typeof value === 'object') {
        const opts = Object.entries(value as Record<string, unknown>).map(
          ([k, v]) => `${k}=${JSON.stringify(v)}`,
        );
        values.opt = [...opts, ...((values.opt as string[] | undefined) ?? [])];
        continue;
      }
      if (!(name in all)) {
        throw new OptionError(
          `${configPath}: unknown key '${key}' for lethe ${command}; known: ${Object.keys(table).join(', ')}`,
        );
      }
      if (values[name] === undefined)
        values[name] = all[name].type === 'boolean' ? Boolean(value) : String(value);
    }
  }
  const scenarioName = values.scenario ?? all.scenario?.default;
  let scenario: Scenario | undefined;
  if (typeof scenarioName === 'string' && scenarioName !== '' && !values.help) {
    scenario = loadScenario(scenarioName);
    for (const [name, value] of Object.entries(scenarioValues(scenario))) {
      if (name in all && values[name] === undefined && value !== undefined) values[name] = value;
    }
  }
  for (const [name, spec] of Object.entries(all)) {
    if (values[name] === undefined && spec.default !== undefined) values[name] = spec.default;
  }
  return { values, positionals: parsed.positionals, ...(scenario ? { scenario } : {}) };
}

function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new OptionError(`--config ${path}: file not found`);
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error('expected a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new OptionError(`--config ${path}: ${(error as Error).message}`);
  }
}

/** An integer option, checked. */
export function intOption(values: Parsed['values'], name: string, min = 0): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new OptionError(`--${name}: expected an integer ≥ ${min} but received '${String(raw)}'`);
  return n;
}

/** A number option, checked. */
export function numberOption(values: Parsed['values'], name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n))
    throw new OptionError(`--${name}: expected a number but received '${String(raw)}'`);
  return n;
}

/** `--opt key=value` pairs: values are JSON where they parse (numbers, booleans, arrays), else strings. */
export function methodOverrides(values: Parsed['values']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of (values.opt as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new OptionError(`--opt: expected key=value but received '${pair}'`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    try {
      out[key] = JSON.parse(raw);
    } catch {
      out[key] = raw;
    }
  }
  return out;
}

/** Help text for a command from its table. */
export function helpText(
  usage: string,
  description: string,
  table: OptionTable,
  examples: string[] = [],
): string {
  const rows = Object.entries({ ...table, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.placeholder ?? 'value'}>` : ''}`;
    const def =
      spec.default !== undefined && spec.type === 'string' ? ` (default: ${spec.default})` : '';
    return `  ${flag.padEnd(30)} ${spec.description}${def}`;
  });
  return [
    `Usage: ${usage}`,
    '',
    description,
    '',
    'Options:',
    ...rows,
    ...(examples.length ? ['', 'Examples:', ...examples.map((e) => `  ${e}`)] : []),
  ].join('\n');
}
