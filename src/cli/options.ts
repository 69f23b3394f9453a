/**
 * Command-line option parsing: declarative option tables per command, values from a config file
 * underneath flags, `--opt key=value` for any method option, and exact messages for mistakes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMPUTE_DEFAULTS, PRECISIONS } from '../records/compute.js';
import { loadScenario, type Scenario } from '../run/scenarios.js';
import { OptionError } from '../util/errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** A string option that must be given (checked at parse time, after config and scenario). */
  required?: boolean;
  /** The values a string option may take. */
  choices?: readonly string[];
  /** A string option read as a number: an integer, or any finite number. */
  value?: 'integer' | 'number';
  /** The least value of a numeric option. */
  min?: number;
  /** A numeric option must be greater than this. */
  above?: number;
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
  /** Shown in help as the value's placeholder. */
  placeholder?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** A command: its option table, its help, and its action (which wraps the library API). */
export interface Command {
  usage: string;
  description: string;
  options: OptionTable;
  examples?: string[];
  /** Resolves with the exit code when it is not 0. */
  run(parsed: Parsed): Promise<void | number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionTable = {
  seed: {
    type: 'string',
    description: 'seed of every random choice (splits, shuffles, init, rolls)',
    default: String(COMPUTE_DEFAULTS.seed),
    value: 'integer',
    min: 0,
    placeholder: 'n',
  },
  device: {
    type: 'string',
    description: "'cpu', 'cuda' or 'cuda:<n>'",
    default: COMPUTE_DEFAULTS.device,
    placeholder: 'device',
  },
  threads: {
    type: 'string',
    description: "libtorch threads (default: the machine's cores)",
    value: 'integer',
    min: 1,
    placeholder: 'n',
  },
  precision: {
    type: 'string',
    description:
      "'fp32', 'bf16-mixed' (autocast; CPU and CUDA) or 'fp16-mixed' (CUDA, loss scaling)",
    default: COMPUTE_DEFAULTS.precision,
    choices: PRECISIONS,
    placeholder: 'p',
  },
  'memory-format': {
    type: 'string',
    description:
      "'channels-last' or 'contiguous' for images and conv weights (default: the faster on the device)",
    choices: ['channels-last', 'contiguous'],
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
  values: Record<string, string | boolean | string[] | number | undefined>;
  positionals: string[];
  /** The arguments after the command's name, as given: what runs the same command again. */
  argv: string[];
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
  // `--epochs -1` is a value, not an option: joined as `--epochs=-1` so that it is checked as one.
  const args = argv.flatMap((arg, i) =>
    /^-\d/.test(arg) &&
    /^--[\w-]+$/.test(argv[i - 1] ?? '') &&
    all[argv[i - 1].slice(2)]?.type === 'string'
      ? []
      : /^--[\w-]+$/.test(arg) &&
          /^-\d/.test(argv[i + 1] ?? '') &&
          all[arg.slice(2)]?.type === 'string'
        ? [`${arg}=${argv[i + 1]}`]
        : [arg],
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
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
  if (!values.help)
    for (const [name, spec] of Object.entries(all)) checkValue(command, name, spec, values);
  return { values, positionals: parsed.positionals, argv, ...(scenario ? { scenario } : {}) };
}

/** Checks one parsed value against its spec (required, choices, numbers), converting numbers. */
function checkValue(
  command: string,
  name: string,
  spec: OptionSpec,
  values: Parsed['values'],
): void {
  const raw = values[name];
  if (raw === undefined || raw === '') {
    if (spec.required)
      throw new OptionError(
        `lethe ${command}: --${name} is required (see 'lethe ${command} --help')`,
      );
    return;
  }
  if (spec.choices && !spec.choices.includes(String(raw)))
    throw new OptionError(
      `--${name}: expected ${spec.choices.map((c) => `'${c}'`).join(', ')} but received '${String(raw)}'`,
    );
  if (!spec.value) return;
  const n = Number(raw);
  const bound =
    spec.min !== undefined ? ` ≥ ${spec.min}` : spec.above !== undefined ? ` > ${spec.above}` : '';
  const what = `${spec.value === 'integer' ? 'an integer' : 'a number'}${bound}`;
  if (
    String(raw).trim() === '' ||
    !Number.isFinite(n) ||
    (spec.value === 'integer' && !Number.isSafeInteger(n)) ||
    (spec.min !== undefined && n < spec.min) ||
    (spec.above !== undefined && n <= spec.above)
  )
    throw new OptionError(`--${name}: expected ${what} but received '${String(raw)}'`);
  values[name] = n;
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

/** A numeric option's value (checked and converted at parse time), or undefined. */
export function numeric(values: Parsed['values'], name: string): number | undefined {
  const v = values[name];
  return typeof v === 'number' ? v : undefined;
}

/** A string option's value, or undefined. */
export function text(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
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
