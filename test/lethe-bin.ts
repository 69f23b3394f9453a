// The `lethe` command on the TypeScript sources, for tests whose executors start Lethe processes
// (LETHE_COMMAND='["node","--import","tsx","test/lethe-bin.ts"]').
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
