/**
 * Property tests: a mutated safetensors, IDX, CIFAR or index file is loaded to exactly what was
 * written, refused with a Lethe error, or (when the mutation made another valid file) loaded to
 * exactly what the format's rules say it holds; never read wrong, never a bare TypeError.
 * `scripts/fuzz-readers.ts` runs the same checks over 10,000 inputs per reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allReaders, classify, mutate, mutations } from './fuzz-helpers.js';

for (const reader of allReaders()) {
  test(`${reader.name}: a mutated file is read exactly or refused with a Lethe error`, () => {
    const expected = reader.load(reader.original);
    assert.deepEqual(reader.reference(reader.original), expected, 'the reference agrees');
    fc.assert(
      fc.property(mutations(reader.hot), (edits) => {
        const outcome = classify(reader, mutate(reader.original, edits), expected);
        return outcome === 'identical' || outcome === 'rejected' || outcome === 'other-valid';
      }),
      { numRuns: 150, seed: 14 },
    );
  });
}
