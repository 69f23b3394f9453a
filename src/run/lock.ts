/**
 * A lock between processes, on any machines that share the file system: a directory made with
 * `mkdir` (atomic on local and network file systems), holding who took it. The holder touches it
 * every few seconds (a timer, and `touch` for work that holds the event loop: a training run calls
 * it from its progress events); a lock whose holder died (its pid gone on this host, or no touch
 * for a minute on any host) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A holder that has not touched its lock for this long is gone. */
const STALE_MS = 60_000;
const TOUCH_MS = 5_000;
const POLL_MS = 250;

interface Owner {
  host: string;
  pid: number;
}

function owner(path: string): Owner | null {
  try {
    return JSON.parse(readFileSync(join(path, 'owner.json'), 'utf8')) as Owner;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock at `path` was left by a holder that is gone. */
function stale(path: string): boolean {
  let mtime: number;
  try {
    mtime = statSync(path).mtimeMs;
  } catch {
    return false;
  }
  const o = owner(path);
  if (o && o.host === hostname()) return !alive(o.pid);
  return Date.now() - mtime > STALE_MS;
}

/**
 * Runs `fn` holding the lock at `path`, waiting while another process holds it. `onWait` is
 * called once when the lock is taken, with its holder.
 */
export async function withLock<T>(
  path: string,
  fn: (touch: () => void) => Promise<T>,
  onWait?: (holder: string) => void,
): Promise<T> {
  let waited = false;
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    try {
      mkdirSync(path);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (stale(path)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!waited) {
      waited = true;
      const o = owner(path);
      onWait?.(o ? `${o.host}:${o.pid}` : 'another process');
    }
    await sleep(POLL_MS);
  }
  writeFileSync(join(path, 'owner.json'), JSON.stringify({ host: hostname(), pid: process.pid }));
  let touched = Date.now();
  const touch = (): void => {
    if (Date.now() - touched < TOUCH_MS) return;
    touched = Date.now();
    try {
      utimesSync(path, new Date(), new Date());
    } catch {
      // Taken over: the holder was presumed dead; the run's own commit still decides.
    }
  };
  const timer = setInterval(touch, TOUCH_MS);
  timer.unref();
  try {
    return await fn(touch);
  } finally {
    clearInterval(timer);
    rmSync(path, { recursive: true, force: true });
  }
}
