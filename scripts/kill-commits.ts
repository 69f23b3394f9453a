/**
 * kill -9 during saves, N times (default 100): a child process commits runs (seeds 11 and 12,
 * alternately) into a directory that holds the finished run of seed 11 and is killed at a random
 * moment. Prints how many kills left the previous run, the new run, or neither (must be 0).
 *
 *   node --import tsx scripts/kill-commits.ts [count]
 */
import { killTrials } from '../test/run-kill-helpers.js';

const count = Number(process.argv[2] ?? 100);
const counts = await killTrials(count);
console.log(
  `${count} kills: previous run (seed 11) ${counts.first}, new run (seed 12) ${counts.second}, neither ${counts.neither}; kills that left temporary files ${counts.leftoversSeen}; a report beside another run's files on disk ${counts.staleReports}`,
);
process.exitCode = counts.neither || counts.staleReports ? 1 : 0;
