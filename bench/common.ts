/** Shared helpers of the benchmarks: timing, and running the PyTorch side in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  defaultMemoryFormat,
  MEMORY_FORMATS,
  PRECISIONS,
  type ModelMemoryFormat,
  type Precision,
} from '../src/records/compute.js';
import { cuda, getNumThreads } from '../src/tensor/index.js';

/** Median wall time (ms) of `fn` over `repeats` runs after `warmup` runs. */
export function medianMs(fn: () => void, repeats: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The Python modules PyTorch's reference loops import, and the Debian package of each. */
const PYTHON_PACKAGES: [module: string, debian: string][] = [
  ['torch', 'python3-torch'],
  ['torchvision', 'python3-torchvision'],
];

/**
 * The interpreter that has PyTorch's reference loops' modules (the system one; PATH's may not),
 * or the Debian packages that are missing.
 */
export function pythonWithTorch(): { python: string } | { missing: string[] } {
  let missing = PYTHON_PACKAGES.map(([, debian]) => debian);
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (candidate.startsWith('/') && !existsSync(candidate)) continue;
    const lacking = PYTHON_PACKAGES.filter(
      ([module]) => spawnSync(candidate, ['-c', `import ${module}`]).status !== 0,
    ).map(([, debian]) => debian);
    if (lacking.length === 0) return { python: candidate };
    if (lacking.length < missing.length) missing = lacking;
  }
  return { missing };
}

/**
 * Runs bench/pytorch/<script>.py with the same thread count as Lethe and returns its JSON
 * (a map of measurement name to milliseconds), or null when PyTorch is not installed.
 */
export function runPytorch(script: string, args: string[] = []): Record<string, number> | null {
  const found = pythonWithTorch();
  if ('missing' in found) {
    console.error(
      `PyTorch's reference needs Debian's ${found.missing.join(' and ')} (bash scripts/setup.sh --with-pytorch): reporting Lethe alone`,
    );
    return null;
  }
  const python = found.python;
  const path = fileURLToPath(new URL(`./pytorch/${script}.py`, import.meta.url));
  const result = spawnSync(python, [path, '--threads', String(getNumThreads()), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    // The allocator settings Lethe's addon applies to itself (mallopt at load, docs/engine.md):
    // without them glibc's trimming slows PyTorch's training step by 2-3x here, and the ratio
    // would measure malloc, not the engines.
    env: {
      ...process.env,
      MALLOC_MMAP_THRESHOLD_: '1073741824',
      MALLOC_TRIM_THRESHOLD_: '1073741824',
    },
  });
  if (result.status !== 0) throw new Error(`${script}.py failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, number>;
}

/** A result row: Lethe's time, PyTorch's, and their ratio. */
export function compare(
  name: string,
  letheMs: number,
  pytorchMs: number | undefined,
  extra: object = {},
): object {
  return {
    name,
    lethe_ms: round(letheMs),
    pytorch_ms: pytorchMs === undefined ? null : round(pytorchMs),
    ratio: pytorchMs === undefined ? null : round(letheMs / pytorchMs, 3),
    ...extra,
  };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** One (precision × memory format) combination a benchmark measures. */
export interface Variant {
  precision: Precision;
  memoryFormat: ModelMemoryFormat;
}

/** PyTorch's default: what every variant is also compared against. */
export const PYTORCH_DEFAULT: Variant = { precision: 'fp32', memoryFormat: 'contiguous' };

/** `bf16-mixed/channelsLast`: a variant's name in result rows and in the PyTorch scripts' JSON. */
export function variantName(v: Variant): string {
  return `${v.precision}/${v.memoryFormat}`;
}

export interface BenchArgs {
  device: string;
  /** The precisions given with --precision (repeatable or comma-separated), else null. */
  precisions: Precision[] | null;
  memoryFormats: ModelMemoryFormat[] | null;
}

/**
 * The options after the benchmark's name: `--device cpu|cuda`, `--precision fp32|bf16-mixed|
 * fp16-mixed`, `--memory-format contiguous|channels-last` (each may be repeated or
 * comma-separated).
 */
export function benchArgs(argv = process.argv.slice(3)): BenchArgs {
  const out: BenchArgs = { device: 'cpu', precisions: null, memoryFormats: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const values = value.split(',');
    if (flag === '--device') out.device = value;
    else if (flag === '--precision') {
      for (const v of values)
        if (!PRECISIONS.includes(v as Precision))
          throw new Error(
            `--precision: expected one of ${PRECISIONS.join(', ')} but received ${v}`,
          );
      out.precisions = [...(out.precisions ?? []), ...(values as Precision[])];
    } else if (flag === '--memory-format') {
      const formats = values.map((v) => (v === 'channels-last' ? 'channelsLast' : v));
      for (const v of formats)
        if (!MEMORY_FORMATS.includes(v as ModelMemoryFormat))
          throw new Error(
            `--memory-format: expected contiguous or channels-last but received ${v}`,
          );
      out.memoryFormats = [...(out.memoryFormats ?? []), ...(formats as ModelMemoryFormat[])];
    } else
      throw new Error(`unknown option ${flag}; options: --device, --precision, --memory-format`);
  }
  return out;
}

/**
 * Every combination of the given precisions and memory formats; unspecified ones range over all
 * that the device supports (fp16-mixed needs CUDA).
 */
export function variants(args: BenchArgs): Variant[] {
  const precisions =
    args.precisions ?? PRECISIONS.filter((p) => p !== 'fp16-mixed' || args.device !== 'cpu');
  const formats = args.memoryFormats ?? [...MEMORY_FORMATS];
  return precisions.flatMap((precision) =>
    formats.map((memoryFormat) => ({ precision, memoryFormat })),
  );
}

/** Arguments for a PyTorch script: the device and the variants as name list. */
export function pytorchVariantArgs(device: string, list: Variant[]): string[] {
  return ['--device', device, '--variants', list.map(variantName).join(',')];
}

/**
 * The one variant an end-to-end benchmark (epoch, srfl) runs: the first --precision and
 * --memory-format given, else Lethe's defaults for the device. PyTorch runs its fp32 contiguous
 * reference loop and, when the variant differs, the same variant too.
 */
export function singleVariant(args: BenchArgs): { variant: Variant; pytorch: Variant[] } {
  const variant: Variant = {
    precision: args.precisions?.[0] ?? 'fp32',
    memoryFormat:
      args.memoryFormats?.[0] ?? defaultMemoryFormat(args.device, args.precisions?.[0] ?? 'fp32'),
  };
  const same = variantName(variant) === variantName(PYTORCH_DEFAULT);
  return { variant, pytorch: same ? [PYTORCH_DEFAULT] : [PYTORCH_DEFAULT, variant] };
}

/** The extra fields of an end-to-end row: the variant, and PyTorch's time in the same variant. */
export function variantFields(
  variant: Variant,
  torch: Record<string, number> | null,
  key: string,
): object {
  const same = torch?.[`${key}:${variantName(variant)}`];
  return {
    precision: variant.precision,
    memory_format: variant.memoryFormat,
    pytorch_same_variant_ms: same === undefined ? null : round(same),
  };
}

/** Waits for queued CUDA work (timing on CUDA must include it); nothing on the CPU. */
export function syncDevice(device: string): void {
  if (device !== 'cpu') cuda.synchronize();
}
