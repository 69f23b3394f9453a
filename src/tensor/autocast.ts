/**
 * Automatic mixed precision, as `torch.autocast`. Inside a scope, libtorch's own autocast policy
 * decides each operator's dtype: convolutions, linear layers and matrix products run in the
 * lower-precision dtype (`bfloat16` on the CPU, `float16` or `bfloat16` on CUDA), losses and
 * other precision-sensitive operators in `float32`, everything else in its inputs' widest dtype.
 * The policy lives in libtorch's Autocast dispatch keys, so every operator Lethe calls by schema
 * gets exactly PyTorch's behaviour (test/tensor-autocast.test.ts checks it against PyTorch).
 *
 * Autocast is per thread and per device type; scopes nest and restore the enclosing state on
 * exit, also when `fn` throws.
 */
import { native, TensorArgumentError } from './native.js';
import { dtypeCode, type DType } from './tensor.js';

export interface AutocastOptions {
  /** The device type whose operators are autocast: `'cpu'` or `'cuda'` (`'cuda:<n>'` is accepted). */
  device: string;
  /**
   * The lower-precision dtype. Default as PyTorch: `'bfloat16'` on the CPU (the only one its
   * CPU autocast supports), `'float16'` on CUDA.
   */
  dtype?: 'bfloat16' | 'float16';
  /** `false` runs `fn` with autocast off (a nested scope can switch it off for a region). */
  enabled?: boolean;
  /**
   * Cache the lower-precision copies of leaf tensors that require grad (weights) within the
   * outermost scope, as PyTorch does (default true). The cache is freed when that scope ends.
   */
  cacheEnabled?: boolean;
}

function deviceType(device: unknown): 'cpu' | 'cuda' {
  if (typeof device === 'string') {
    if (device === 'cpu') return 'cpu';
    if (/^cuda(:\d+)?$/.test(device)) return 'cuda';
  }
  throw new TensorArgumentError(
    `autocast: expected device 'cpu', 'cuda' or 'cuda:<n>' but received ${JSON.stringify(device)}`,
  );
}

/** Whether autocast is on for a device type on this thread. */
export function isAutocastEnabled(device: string): boolean {
  return native.autocastState(deviceType(device))[0];
}

/**
 * Runs `fn` with autocast on (or, with `enabled: false`, off) for one device type and returns its
 * result. Tensors created inside may be `bfloat16`/`float16`: cast what must stay `float32`.
 *
 * @example
 * const loss = tidy(() =>
 *   autocast({ device: 'cpu', dtype: 'bfloat16' }, () => {
 *     const logits = model.forward(x).float(); // conv/linear ran in bf16
 *     return F.crossEntropy(logits, y);         // float32
 *   }),
 * );
 * loss.backward(); // outside the scope, as in PyTorch
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const type = deviceType(options?.device);
  const dtype: DType = options.dtype ?? (type === 'cpu' ? 'bfloat16' : 'float16');
  if (dtype !== 'bfloat16' && dtype !== 'float16') {
    throw new TensorArgumentError(
      `autocast: expected dtype 'bfloat16' or 'float16' but received ${JSON.stringify(dtype)}`,
    );
  }
  // PyTorch 1.13 warns and disables CPU autocast for float16; refuse instead of silently not casting.
  if (type === 'cpu' && dtype === 'float16') {
    throw new TensorArgumentError(
      "autocast: CPU autocast supports dtype 'bfloat16' only but received 'float16'",
    );
  }
  const enabled = options.enabled ?? true;
  // torch.autocast.__enter__: remember the state, switch, count the nesting.
  const [prevEnabled, prevDtype] = native.autocastState(type);
  const prevCache = native.setAutocastCacheEnabled(options.cacheEnabled ?? true);
  native.setAutocast(type, enabled, dtypeCode(dtype));
  native.autocastNesting(1);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError(
        'autocast() takes a synchronous function: its state is per thread and would leak into other work',
      );
    }
    return result;
  } finally {
    // torch.autocast.__exit__: the outermost scope frees the weight cache; restore everything.
    if (native.autocastNesting(-1) === 0) native.autocastClearCache();
    native.setAutocast(type, prevEnabled, prevDtype);
    native.setAutocastCacheEnabled(prevCache);
  }
}
