/**
 * kill -9 during saves: a child commits runs into a directory that holds a finished run and is
 * killed at a random moment; the directory must then hold one complete run, the previous one or
 * the new one, byte for byte (`scripts/kill-commits.ts` does 100 of these).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCompleteRun, verifyRun } from '../src/run/rundir.js';

const child = join(import.meta.dirname, 'run-commit-child.ts');
const node = (args: string[]) => [process.execPath, ['--import', 'tsx', child, ...args]] as const;

/** Commits the run of `seed` into a fresh directory; returns it. */
export function referenceRun(seed: number): string {
  const dir = mkdtempSync(join(tmpdir(), `lethe-ref-${seed}-`));
  const [cmd, args] = node([dir, 'once', String(seed)]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reference run failed: ${r.stderr}`);
  return dir;
}

/** The reference whose every committed file `dir` matches, or null. */
export function whichRun(dir: string, refs: string[]): string | null {
  if (!isCompleteRun(dir)) return null;
  const files = Object.keys(verifyRun(dir));
  return (
    refs.find((ref) =>
      files.every((f) => readFileSync(join(dir, f)).equals(readFileSync(join(ref, f)))),
    ) ?? null
  );
}

/** Starts committing runs alternately into `dir` and kills the child -9 after `delayMs`. */
export function killDuringCommits(
  dir: string,
  seeds: [number, number],
  delayMs: number,
): Promise<void> {
  const [cmd, args] = node([dir, 'loop', String(seeds[0]), String(seeds[1])]);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.once('data', () => setTimeout(() => p.kill('SIGKILL'), delayMs));
    p.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}`)),
    );
  });
}

/** Files an interrupted commit may leave behind (removed by the next commit). */
export function leftovers(dir: string): string[] {
  return readdirSync(dir).filter(
    (n) => n.includes('.tmp-') || n.endsWith('.pending') || n.endsWith('.previous'),
  );
}

/**
 * Whether `dir`, as left on disk (before any reader recovers it), shows a report.html of another
 * run than its config.json: the child's report names its seed.
 */
export function reportOfAnotherRun(dir: string): boolean {
  const report = join(dir, 'report.html');
  const config = join(dir, 'config.json');
  if (!existsSync(report) || !existsSync(config)) return false;
  const seed = JSON.parse(readFileSync(config, 'utf8')).seed as number;
  return !readFileSync(report, 'utf8').startsWith(`<html>run ${seed}</html>`);
}

/**
 * `count` kills; returns how many left the first seed's run, the second's, or neither, and how
 * many left a report beside another run's files on disk.
 */
export async function killTrials(
  count: number,
  random: () => number = Math.random,
): Promise<{
  first: number;
  second: number;
  neither: number;
  leftoversSeen: number;
  staleReports: number;
}> {
  const seeds: [number, number] = [11, 12];
  const refs = seeds.map(referenceRun);
  const out = { first: 0, second: 0, neither: 0, leftoversSeen: 0, staleReports: 0 };
  for (let i = 0; i < count; i++) {
    // A directory that holds a finished run.
    const dir = mkdtempSync(join(tmpdir(), 'lethe-kill-'));
    cpSync(refs[0], dir, { recursive: true });
    await killDuringCommits(dir, seeds, Math.floor(random() * 300));
    if (leftovers(dir).length) out.leftoversSeen++;
    if (reportOfAnotherRun(dir)) out.staleReports++;
    const which = whichRun(dir, refs);
    if (which === refs[0]) out.first++;
    else if (which === refs[1]) out.second++;
    else out.neither++;
  }
  return out;
}
