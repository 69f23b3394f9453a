import { main } from '../src/cli/main.js';

/** When set, the first progress output matching it throws: a run interrupted at that point. */
let interruptOn: RegExp | null = null;

/** Makes the next runs of {@link lethe} throw at the first progress line matching `pattern`. */
export function interruptAt(pattern: RegExp | null): void {
  interruptOn = pattern;
}

/** Runs the CLI in-process and captures what it prints. */
export async function lethe(
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  process.stderr.write = ((chunk: string) => {
    if (interruptOn?.test(String(chunk))) throw new Error('interrupted');
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}
