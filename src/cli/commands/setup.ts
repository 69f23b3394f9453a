/**
 * `lethe setup`: makes an installed Lethe ready to compute. Finds libtorch, builds the native
 * addon when it is missing (or with --rebuild), checks that it loads, and otherwise says what is
 * missing and how to get it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nativeStatus } from '../../tensor/native.js';
import type { Command } from '../options.js';

/** native/build.mjs of this Lethe (three levels above both `src/cli/commands` and `dist/cli/commands`). */
const buildScript = fileURLToPath(new URL('../../../native/build.mjs', import.meta.url));

const command: Command = {
  usage: 'lethe setup [--rebuild]',
  description: [
    "Build (or verify) Lethe's native addon against libtorch: finds libtorch ($LIBTORCH, else the",
    "system's), builds the addon when it is missing, checks that it loads, and says what is missing",
    'and how to get it. Run it once after `npm install lethe` when the install could not build it.',
  ].join('\n'),
  options: {
    rebuild: { type: 'boolean', description: 'build the addon even when one loads' },
  },
  examples: ['npx lethe setup', 'LIBTORCH=/opt/libtorch npx lethe setup --rebuild'],
  async run({ values }) {
    const before = nativeStatus();
    if (before.ok && values.rebuild !== true) {
      console.log(`lethe setup: the native addon loads (${before.path}); ${before.versions}`);
      return;
    }
    if (!before.ok) console.log(`lethe setup: ${before.error.message.split('\n')[0]}`);
    if (!existsSync(buildScript)) {
      console.error(`lethe setup: ${buildScript} is missing; reinstall Lethe`);
      return 1;
    }
    // The build prints what it finds and, when it fails, the remedies for this platform.
    const built = spawnSync(process.execPath, [buildScript], { stdio: 'inherit' });
    if (built.status !== 0) {
      console.error(
        'lethe setup: the addon was not built; see the remedies above, then run it again',
      );
      return 1;
    }
    if (before.ok) {
      console.log('lethe setup: done; the rebuilt addon is used from the next start of Lethe');
      return;
    }
    const after = nativeStatus();
    if (!after.ok) {
      console.error(`lethe setup: the addon was built but does not load: ${after.error.message}`);
      return 1;
    }
    console.log(`lethe setup: done; the native addon loads (${after.path}); ${after.versions}`);
  },
};

export default command;
