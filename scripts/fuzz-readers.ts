/**
 * Fuzzes Lethe's file readers: N mutated inputs per reader (default 10,000), each classified as
 * in test/fuzz-helpers.ts, and prints the counts. Exit status 1 when any input was read wrong or
 * failed with something other than a Lethe error.
 *
 *   node --import tsx scripts/fuzz-readers.ts [count] [seed]
 */
import fc from 'fast-check';
import { allReaders, classify, mutate, mutations, type Outcome } from '../test/fuzz-helpers.js';

const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? 14);
const outcomes: Outcome[] = ['identical', 'rejected', 'other-valid', 'silent-wrong', 'non-lethe'];
console.log(['reader'.padEnd(14), ...outcomes.map((o) => o.padStart(13))].join(''));
let bad = 0;
for (const reader of allReaders()) {
  const expected = reader.load(reader.original);
  const counts = Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const edits of fc.sample(mutations(reader.hot), { numRuns: count, seed })) {
    const bytes = mutate(reader.original, edits);
    const outcome = classify(reader, bytes, expected);
    counts[outcome]++;
    if (outcome === 'silent-wrong' || outcome === 'non-lethe') {
      if (bad++ < 5) console.error(`${reader.name}: ${outcome}:`, JSON.stringify(edits));
    }
  }
  console.log(
    [reader.name.padEnd(14), ...outcomes.map((o) => String(counts[o]).padStart(13))].join(''),
  );
}
process.exitCode = bad ? 1 : 0;
