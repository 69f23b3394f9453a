/**
 * Deterministic memory management. Node runs native finalizers on the event loop, not inside
 * garbage collection, so a synchronous training loop that relied on GC would grow without bound:
 * tensors are released by `dispose()` or by `tidy()` scopes, and GC is only a backstop.
 */
import { native } from './native.js';

/** Anything a scope can own: tensors (and objects holding tensors that opt in). */
export interface Owned {
  dispose(): void;
  readonly isDisposed: boolean;
}

const OWNED = Symbol('lethe.owned');
const KEPT = Symbol('lethe.kept');

type Marked = Owned & { [OWNED]?: true; [KEPT]?: boolean };

const scopes: Marked[][] = [];

/** Called by every tensor constructor: the innermost open scope becomes its owner. */
export function track(t: Owned): void {
  (t as Marked)[OWNED] = true;
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.push(t as Marked);
}

/**
 * Marks a tensor so that no enclosing `tidy` scope disposes it; its owner must dispose it.
 * Returns the tensor, so `keep(t.clone())` reads naturally.
 */
export function keep<T extends Owned>(t: T): T {
  (t as Marked)[KEPT] = true;
  return t;
}

function collect(value: unknown, into: Set<Marked>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ((value as Marked)[OWNED]) {
    into.add(value as Marked);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as object)) collect(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except tensors in its result
 * (a tensor, or arrays/plain objects of them) and tensors passed to `keep()`. Scopes nest:
 * returned tensors move to the enclosing scope.
 *
 * @example
 * const loss = tidy(() => crossEntropy(model.forward(x), y)); // intermediates are freed
 */
export function tidy<T>(fn: () => T): T {
  const scope: Marked[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of scope) if (!t[KEPT] && !t.isDisposed) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new TypeError('tidy() takes a synchronous function; await outside the scope instead');
  }
  const survivors = new Set<Marked>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) {
      if (parent !== undefined) parent.push(t);
    } else if (!t[KEPT] && !t.isDisposed) {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor found in a value (a tensor, or arrays/plain objects of tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Marked>();
  collect(value, found);
  for (const t of found) if (!t.isDisposed) t.dispose();
}

/** Live tensor handles and the bytes they hold, over the whole process. */
export function memory(): { tensors: number; bytes: number } {
  return native.memory();
}
