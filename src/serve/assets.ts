/**
 * The dashboard's client script: TypeScript in `src/serve/client/`, bundled by esbuild. A build
 * (`npm run build:ts`) writes the bundle next to the compiled server (`dist/serve/client.js`);
 * run from the sources (tsx, tests) the bundle is made once at start-up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../util/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The bundle a build writes beside this module. */
export const CLIENT_BUNDLE = join(here, 'client.js');
/** The client's entry point in the sources. */
export const CLIENT_ENTRY = join(here, '..', '..', 'src', 'serve', 'client', 'main.ts');
const SOURCE_ENTRY = join(here, 'client', 'main.ts');

let cached: Promise<string> | undefined;

/** Bundles the client's sources with esbuild (a development dependency). */
export async function bundleClient(
  entry = existsSync(SOURCE_ENTRY) ? SOURCE_ENTRY : CLIENT_ENTRY,
): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new LetheError(
      'E_SERVE',
      `the dashboard's client is not built (${CLIENT_BUNDLE} is missing) and esbuild is not installed to build it; run npm install && npm run build:ts`,
      { cause: error },
    );
  }
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
  });
  return out.outputFiles[0].text;
}

/** The client script: the built bundle, else bundled from the sources once per process. */
export function clientScript(): Promise<string> {
  cached ??=
    existsSync(CLIENT_BUNDLE) && !existsSync(SOURCE_ENTRY)
      ? Promise.resolve(readFileSync(CLIENT_BUNDLE, 'utf8'))
      : bundleClient();
  return cached;
}
