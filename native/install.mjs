// npm's install step for Lethe as a dependency: builds the native addon (native/build.mjs) where
// libtorch is found. It never fails the install: without libtorch or a compiler, Lethe's CLI help
// and usage errors still work, and `npx lethe setup` builds the addon later and says what is
// missing. In a development checkout (src/ is there) `npm run build` builds it instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

if (existsSync(join(root, 'src')) || existsSync(join(here, 'build', 'Release', 'lethe.node'))) process.exit(0);
const later = 'Lethe installed without its native addon; `npx lethe setup` builds it and says what is missing.';
try {
  findLibtorch();
} catch (error) {
  console.error(`lethe: ${error.message.split('\n')[0]}\n${later}`);
  process.exit(0);
}
const built = spawnSync(process.execPath, [join(here, 'build.mjs')], { stdio: 'inherit' });
if (built.status !== 0) console.error(`lethe: the native build failed (above).\n${later}`);
