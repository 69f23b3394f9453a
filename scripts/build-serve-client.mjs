// Bundles lethe serve's typed client (src/serve/client/main.ts) into dist/serve/client.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}src/serve/client/main.ts`],
  outfile: `${root}dist/serve/client.js`,
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
});
