#!/usr/bin/env node
// The `lethe` command: runs the compiled CLI (dist/), or the TypeScript sources through tsx in a
// development checkout that has not been built yet — or whose sources changed since the build:
// an experiment run from a stale dist/ would silently measure the old code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const sources = fileURLToPath(new URL('../src/', import.meta.url));

/** The latest modification time of any file under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const built = existsSync(compiled);
const stale = built && existsSync(sources) && newest(sources) > statSync(compiled).mtimeMs;
let main;
if (built && !stale) {
  ({ main } = await import(compiled));
} else {
  let tsx = true;
  try {
    await import('tsx/esm');
  } catch {
    tsx = false;
  }
  if (tsx) {
    if (stale)
      console.error(
        "lethe: src/ changed since the last build; running the sources ('npm run build' updates dist/)",
      );
    ({ main } = await import('../src/cli/main.ts'));
  } else if (built) {
    console.error(
      "lethe: src/ changed since the last build, and tsx is not installed: running the old build in dist/ ('npm run build' updates it)",
    );
    ({ main } = await import(compiled));
  } else {
    console.error("lethe: not built yet; run 'npm run build' first");
    process.exit(1);
  }
}
process.exitCode = await main(process.argv.slice(2));
