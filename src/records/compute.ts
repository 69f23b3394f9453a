/**
 * How a run computes: its seed, device, threads, precision and memory format, as one record. A
 * user's settings are defaulted and checked once, at the edge (the CLI's flags, a plan file, the
 * library's `train`/`unlearn`), by {@link resolveCompute}; everything below receives the whole
 * {@link Compute} and never defaults a field again. It sits on the ground floor: it imports only
 * the error classes beside it.
 */
import { OptionError } from '../util/errors.js';

/** `fp32`; `bf16-mixed` (CPU and CUDA); `fp16-mixed` (CUDA only, with loss scaling). */
export type Precision = 'fp32' | 'bf16-mixed' | 'fp16-mixed';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16-mixed', 'fp16-mixed'];

/** Layout of 4-D tensors: row-major NCHW, or NHWC strides (`torch.channels_last`). */
export type ModelMemoryFormat = 'contiguous' | 'channelsLast';
export const MEMORY_FORMATS: readonly ModelMemoryFormat[] = ['contiguous', 'channelsLast'];

/** A run's resolved compute settings. */
export interface Compute {
  /** Seed of every random choice (split, shuffles, init, rolls). */
  seed: number;
  /** `cpu`, `cuda` or `cuda:<n>`. */
  device: string;
  /** libtorch threads (absent: libtorch's default, the machine's cores). */
  threads?: number;
  precision: Precision;
  /** Layout of images and convolution weights. */
  memoryFormat: ModelMemoryFormat;
}

/** What a caller may set; {@link resolveCompute} fills in the rest. */
export type ComputeSettings = Partial<Compute>;

/**
 * The defaults, the only ones: seed 0, the CPU, fp32 (mixed precision changes the numbers, so it
 * is asked for). The memory format's default depends on the device: {@link defaultMemoryFormat}.
 */
export const COMPUTE_DEFAULTS = { seed: 0, device: 'cpu', precision: 'fp32' } as const;

/**
 * The faster layout where it is known to be: channels-last on the CPU (oneDNN's NHWC kernels:
 * PyTorch 1.13's ResNet-20 step at batch 128 took 89 ms instead of 118 ms here, docs/engine.md),
 * and on CUDA with mixed precision (cuDNN's tensor-core kernels want NHWC); CUDA fp32 stays
 * contiguous.
 */
export function defaultMemoryFormat(device: string, precision: Precision): ModelMemoryFormat {
  return device === 'cpu' || precision !== 'fp32' ? 'channelsLast' : 'contiguous';
}

/** How a message names a setting: the CLI's flags (`--seed`) or the library's fields (`seed`). */
export type SettingNames = (field: keyof Compute) => string;

export const FIELD_NAMES: SettingNames = (field) => field;

const listed = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

/**
 * Defaults and checks compute settings, before any work: a whole seed ≥ 0 and thread count ≥ 1,
 * the device's form, a known precision that works on that device, a known memory format. Whether
 * the device exists on this machine is the caller's to check (it needs libtorch).
 */
export function resolveCompute(
  settings: ComputeSettings = {},
  names: SettingNames = FIELD_NAMES,
): Compute {
  const { seed, device, threads, precision } = { ...COMPUTE_DEFAULTS, ...defined(settings) };
  const bad = (field: keyof Compute, expected: string, got: unknown): never => {
    throw new OptionError(`${names(field)}: expected ${expected} but received '${String(got)}'`);
  };
  if (!Number.isSafeInteger(seed) || seed < 0) bad('seed', 'an integer ≥ 0', seed);
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 1))
    bad('threads', 'an integer ≥ 1', threads);
  if (typeof device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(device))
    bad('device', "'cpu', 'cuda' or 'cuda:<n>'", device);
  if (!PRECISIONS.includes(precision)) bad('precision', listed(PRECISIONS), precision);
  if (precision === 'fp16-mixed' && !device.startsWith('cuda'))
    throw new OptionError(
      `${names('precision')}: expected 'fp32' or 'bf16-mixed' on device '${device}' but received 'fp16-mixed' (float16 autocast and loss scaling need CUDA)`,
    );
  const memoryFormat = settings.memoryFormat ?? defaultMemoryFormat(device, precision);
  if (!MEMORY_FORMATS.includes(memoryFormat))
    bad('memoryFormat', listed(MEMORY_FORMATS), memoryFormat);
  return {
    seed,
    device,
    ...(threads !== undefined ? { threads } : {}),
    precision,
    memoryFormat,
  };
}

/** The fields of `o` that are set (an explicit `undefined` takes the default). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
