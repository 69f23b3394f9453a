// Locates libtorch for the build. Order: the LIBTORCH environment variable (a libtorch
// distribution such as a CUDA build: include/, lib/, share/cmake/Torch), then the system
// (Debian/Ubuntu `libtorch-dev`). Prints what node-gyp asks for, or explains the remedies.
//
//   node native/find-libtorch.mjs include|libdirs|libs|rpath|describe
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SYSTEM_INCLUDE = '/usr/include';
const SYSTEM_LIBDIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

function remedies(reason) {
  return [
    `libtorch was not found: ${reason}.`,
    'Remedies:',
    '  - Debian/Ubuntu: `sudo apt-get install libtorch-dev g++ make python3 libnode-dev` (in a checkout:',
    '    `bash scripts/setup.sh`), then `npx lethe setup` (in a checkout: `npm run build:native`).',
    '  - A libtorch distribution (for example a CUDA build unpacked in /opt/libtorch):',
    '      LIBTORCH=/opt/libtorch npx lethe setup',
    '    The directory must contain include/torch/csrc/api/include and lib/libtorch_cpu.so.',
    '  - Other systems: install libtorch from your package manager or a libtorch archive and set LIBTORCH.',
  ].join('\n');
}

export function findLibtorch(env = process.env) {
  if (env.LIBTORCH) {
    const root = env.LIBTORCH;
    const include = join(root, 'include');
    const lib = join(root, 'lib');
    if (!existsSync(join(include, 'torch/csrc/api/include/torch/torch.h'))) {
      throw new Error(remedies(`LIBTORCH=${root} has no include/torch/csrc/api/include/torch/torch.h`));
    }
    if (!existsSync(join(lib, 'libtorch_cpu.so'))) {
      throw new Error(remedies(`LIBTORCH=${root} has no lib/libtorch_cpu.so`));
    }
    const cuda = existsSync(join(lib, 'libtorch_cuda.so'));
    return {
      source: `LIBTORCH=${root}`,
      include: [include, join(include, 'torch/csrc/api/include')],
      libdirs: [lib],
      libs: ['-ltorch', '-ltorch_cpu', '-lc10', ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])],
      rpath: [lib],
      cuda,
    };
  }
  const apiInclude = join(SYSTEM_INCLUDE, 'torch/csrc/api/include');
  if (!existsSync(join(apiInclude, 'torch/torch.h'))) {
    throw new Error(remedies(`no LIBTORCH variable and no system headers in ${apiInclude}`));
  }
  const libdir = SYSTEM_LIBDIRS.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
  if (!libdir) {
    throw new Error(remedies(`system headers exist but libtorch_cpu.so is in none of ${SYSTEM_LIBDIRS.join(', ')}`));
  }
  const cuda = readdirSync(libdir).includes('libtorch_cuda.so');
  return {
    source: 'system',
    include: [SYSTEM_INCLUDE, apiInclude],
    libdirs: [libdir],
    libs: ['-ltorch', '-ltorch_cpu', '-lc10', ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])],
    rpath: [],
    cuda,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const found = findLibtorch();
    const what = process.argv[2] ?? 'describe';
    if (what === 'include') console.log(found.include.join(' '));
    else if (what === 'libdirs') console.log(found.libdirs.map((d) => `-L${d}`).join(' '));
    else if (what === 'libs') console.log(found.libs.join(' '));
    else if (what === 'rpath') console.log(found.rpath.map((d) => `-Wl,-rpath,${d}`).join(' '));
    else console.log(JSON.stringify(found, null, 2));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
