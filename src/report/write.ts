/** Writing a rendered report to disk. */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a report atomically: the HTML goes to `${path}.tmp-<pid>` and is then renamed over
 * `path`, so a reader (or a browser auto-reloading the file) never sees half a page. The parent
 * directory is created if needed; the temporary file is removed if anything fails.
 *
 * @example
 * await writeReport('runs/srfl-seed0/report.html', renderRunReport({ metrics, config }));
 */
export async function writeReport(path: string, html: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(tmp, html, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
