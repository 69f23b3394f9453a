#!/usr/bin/env node
// The `lethe` command: runs the compiled CLI (dist/), or the TypeScript sources through tsx in a
// development checkout that has not been built yet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled));
} else {
  try {
    await import('tsx/esm');
  } catch {
    console.error("lethe: not built yet; run 'npm run build' first");
    process.exit(1);
  }
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
