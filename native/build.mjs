// Builds the native addon with node-gyp (bundled with npm), against libtorch found by
// find-libtorch.mjs. On failure, prints the remedies for this platform.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const candidates = [
    join(npmRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((c) => existsSync(c));
}

let found;
try {
  found = findLibtorch();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
console.log(`lethe: building the native addon against libtorch (${found.source}${found.cuda ? ', CUDA' : ''})`);

const gyp = nodeGyp();
if (!gyp) {
  console.error('lethe: node-gyp was not found. Install it (`npm install -g node-gyp` or Debian `node-gyp`) and retry.');
  process.exit(1);
}
const args = [gyp, 'rebuild', `--directory=${here}`, `--jobs=${process.env.JOBS ?? 'max'}`];
// Node's headers ship with the system Node on Debian; nothing can be downloaded here.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    [
      'lethe: the native build failed. Things to check:',
      '  - a C++17 compiler and make: `apt-get install g++ make python3` (node-gyp needs python3);',
      "  - Node's headers: Debian/Ubuntu `apt-get install libnode-dev`, or set npm_config_nodedir;",
      '  - libtorch headers and libraries matching each other: `bash scripts/setup.sh`, or LIBTORCH=/path/to/libtorch.',
    ].join('\n'),
  );
  process.exit(result.status ?? 1);
}
