/** Writing a rendered report to disk. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * Writes a report atomically ({@link writeFileAtomic}: the HTML goes to a temporary file beside
 * `path`, is flushed and renamed over `path`), so a reader (or a browser auto-reloading the file)
 * never sees half a page. The parent directory is created if needed; the temporary file is
 * removed if anything fails.
 *
 * @example
 * await writeReport('runs/srfl-seed0/report.html', renderRunReport({ metrics, config }));
 */
export async function writeReport(path: string, html: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, html);
}
