/**
 * The only module that loads the compiled addon. Everything native is declared here, in one
 * typed interface; the rest of Lethe reaches libtorch through `src/tensor`. The addon is loaded
 * at the first use of {@link native}, not at import: the CLI's help, its usage errors and
 * `lethe setup` work where the addon is not built yet, and a missing addon is one clear error.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../util/errors.js';

/** An opaque handle owning one libtorch tensor. */
export type TensorHandle = { readonly __brand: 'TensorHandle' };
/** An opaque handle naming one ATen operator overload. */
export type OpHandle = { readonly __brand: 'OpHandle' };

/** The addon's exports (native/lethe.cc). */
export interface NativeBinding {
  op(name: string, overload: string): OpHandle;
  call(op: OpHandle, ...args: unknown[]): unknown;
  callInPlace(op: OpHandle, ...args: unknown[]): void;
  schema(op: OpHandle): string;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): TensorHandle;
  toBuffer(t: TensorHandle): ArrayBuffer;
  /** [scalarType, device, requiresGrad, ...shape] */
  info(t: TensorHandle): [number, string, boolean, ...number[]];
  dispose(t: TensorHandle): void;
  nbytes(t: TensorHandle): number;
  setRequiresGrad(t: TensorHandle, value: boolean): void;
  grad(t: TensorHandle): TensorHandle | null;
  setGrad(t: TensorHandle, g: TensorHandle | null): void;
  isLeaf(t: TensorHandle): boolean;
  backward(
    tensors: TensorHandle[],
    grads: (TensorHandle | null)[] | null,
    retainGraph: boolean,
    createGraph: boolean,
  ): void;
  autogradGrad(
    outputs: TensorHandle[],
    inputs: TensorHandle[],
    gradOutputs: (TensorHandle | null)[] | null,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (TensorHandle | null)[];
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  /** Whether the strides are those of a memory format (c10::MemoryFormat code). */
  isContiguous(t: TensorHandle, memoryFormat: number): boolean;
  /** [enabled, dtype code] of autocast on a device type ('cpu' or 'cuda'), on this thread. */
  autocastState(deviceType: string): [boolean, number];
  setAutocast(deviceType: string, enabled: boolean, dtype: number): void;
  /** Adds +1 or -1 to autocast's nesting depth and returns the new depth. */
  autocastNesting(delta: 1 | -1): number;
  autocastClearCache(): void;
  /** Sets whether autocast caches lower-precision copies of leaf weights; returns the previous. */
  setAutocastCacheEnabled(enabled: boolean): boolean;
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  memory(): { tensors: number; bytes: number };
  versions(): { libtorch: string; cuda: string };
  setErrorClasses(
    torchError: new (message: string) => Error,
    argumentError: new (message: string) => Error,
  ): void;
}

/** A failure inside libtorch: names the operator and carries libtorch's own message. */
export class TorchError extends LetheError {
  constructor(message: string) {
    super('E_TORCH', message);
  }
}

/** A wrong argument passed to a tensor operation (bad shape, dtype, disposed tensor, ...). */
export class TensorArgumentError extends LetheError {
  constructor(message: string) {
    super('E_TENSOR_ARGUMENT', message);
  }
}

/** Where the built addon is expected. */
export function addonPath(): string {
  // src/tensor/native.ts and dist/tensor/native.js both sit two levels below the package root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return join(root, 'native', 'build', 'Release', 'lethe.node');
}

function load(): NativeBinding {
  const path = addonPath();
  if (!existsSync(path)) {
    throw new LetheError(
      'E_NATIVE_MISSING',
      [
        `Lethe's native addon is not built (expected ${path}).`,
        'Build it with `npx lethe setup` (in a checkout: `npm run build:native`); it needs libtorch',
        '(Debian/Ubuntu: `apt-get install libtorch-dev`, or LIBTORCH=/path/to/libtorch for a libtorch',
        'distribution such as a CUDA build) and says what else is missing.',
      ].join('\n'),
    );
  }
  try {
    const binding = createRequire(import.meta.url)(path) as NativeBinding;
    binding.setErrorClasses(TorchError, TensorArgumentError);
    // libtorch's default here was one thread; use the machine's cores unless told otherwise.
    const envThreads = Number(process.env.LETHE_NUM_THREADS);
    binding.setNumThreads(
      Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism(),
    );
    return binding;
  } catch (error) {
    throw new LetheError(
      'E_NATIVE_LOAD',
      [
        `Lethe's native addon at ${path} failed to load: ${(error as Error).message}`,
        'If libtorch was upgraded or moved, rebuild with `npx lethe setup --rebuild` (in a checkout: `npm run build:native`);',
        'with a libtorch distribution, make sure LIBTORCH points at it when building.',
      ].join('\n'),
      { cause: error },
    );
  }
}

/** Every function of {@link NativeBinding}, so that {@link native} can stand in for it unloaded. */
const NATIVE_FUNCTIONS = [
  'op',
  'call',
  'callInPlace',
  'schema',
  'fromBuffer',
  'toBuffer',
  'info',
  'dispose',
  'nbytes',
  'setRequiresGrad',
  'grad',
  'setGrad',
  'isLeaf',
  'backward',
  'autogradGrad',
  'setGradEnabled',
  'isGradEnabled',
  'isContiguous',
  'autocastState',
  'setAutocast',
  'autocastNesting',
  'autocastClearCache',
  'setAutocastCacheEnabled',
  'manualSeed',
  'setNumThreads',
  'getNumThreads',
  'cudaIsAvailable',
  'cudaDeviceCount',
  'cudaSynchronize',
  'memory',
  'versions',
  'setErrorClasses',
] as const satisfies readonly (keyof NativeBinding)[];
// A function added to NativeBinding but not listed above fails to compile here.
const listed: Record<Exclude<keyof NativeBinding, (typeof NATIVE_FUNCTIONS)[number]>, never> = {};
void listed;

/**
 * The addon. Until its first use every property is a getter that loads it and then puts the
 * addon's functions in their place, so calls after the first cost what a plain object's do.
 */
export const native = {} as NativeBinding;
for (const name of NATIVE_FUNCTIONS)
  Object.defineProperty(native, name, {
    configurable: true,
    enumerable: true,
    get() {
      const binding = load();
      for (const n of NATIVE_FUNCTIONS)
        Object.defineProperty(native, n, { value: binding[n].bind(binding), enumerable: true });
      return native[name];
    },
  });

/**
 * Whether the addon is built and loads, with libtorch's version and CUDA's when it does; never
 * throws a Lethe error (for `lethe setup`).
 */
export function nativeStatus():
  { ok: true; path: string; versions: string } | { ok: false; path: string; error: LetheError } {
  try {
    const v = native.versions();
    return { ok: true, path: addonPath(), versions: `libtorch ${v.libtorch}, CUDA ${v.cuda}` };
  } catch (error) {
    if (error instanceof LetheError) return { ok: false, path: addonPath(), error };
    throw error;
  }
}
