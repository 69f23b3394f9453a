/** Shared helpers of the benchmarks: timing, and running the PyTorch side in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../src/tensor/index.js';

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

/** The interpreter that has Debian's python3-torch (the system one; PATH's may not). */
export function pythonWithTorch(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (candidate.startsWith('/') && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  return null;
}

/**
 * Runs bench/pytorch/<script>.py with the same thread count as Lethe and returns its JSON
 * (a map of measurement name to milliseconds), or null when PyTorch is not installed.
 */
export function runPytorch(script: string, args: string[] = []): Record<string, number> | null {
  const python = pythonWithTorch();
  if (!python) {
    console.error('PyTorch (python3-torch) is not installed: reporting Lethe alone');
    return null;
  }
  const path = fileURLToPath(new URL(`./pytorch/${script}.py`, import.meta.url));
  const result = spawnSync(python, [path, '--threads', String(getNumThreads()), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
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
