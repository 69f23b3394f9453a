import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  complement,
  makeSplit,
  readSplit,
  selectForget,
  splitTest,
  writeSplit,
} from '../src/data/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lethe-split-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** 100 examples, labels 0..9 repeating. */
const train = {
  labels: Int32Array.from({ length: 100 }, (_, i) => i % 10),
  numClasses: 10,
  classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
};

function isSortedDistinct(a: Int32Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] <= a[i - 1]) return false;
  return true;
}

test('splitTest: 50/50 by default, disjoint, sorted, covering, seeded', () => {
  const { val, test: t } = splitTest(101, 7);
  assert.equal(val.length, 51);
  assert.equal(t.length, 50);
  assert.ok(isSortedDistinct(val) && isSortedDistinct(t));
  const all = new Set([...val, ...t]);
  assert.equal(all.size, 101);
  assert.deepEqual(splitTest(101, 7), { val, test: t });
  assert.notDeepEqual(splitTest(101, 8).val, val);
  assert.equal(splitTest(100, 7, 0.2).val.length, 20);
  assert.throws(() => splitTest(100, 7, 1), {
    name: 'OptionError',
    message: 'Expected a number in [0, 1) for valFraction but received 1',
  });
});

test('random forget: fractions and counts, seeded', () => {
  const f = selectForget('random:0.1', train, 1);
  assert.equal(f.length, 10);
  assert.ok(isSortedDistinct(f));
  assert.deepEqual(selectForget('random:0.1', train, 1), f);
  assert.notDeepEqual(selectForget('random:0.1', train, 2), f);
  assert.equal(selectForget('random:25', train, 1).length, 25);
  assert.equal(selectForget('random:1', train, 1).length, 1);
  assert.equal(selectForget('random:100', train, 1).length, 100);
  assert.equal(selectForget('random:.5', train, 1).length, 50);
});

test('random forget: bad fractions and counts', () => {
  assert.throws(() => selectForget('random:1.0', train, 1), {
    name: 'OptionError',
    message: 'Expected a fraction in (0, 1) in forget spec "random:1.0" but received 1.0',
  });
  assert.throws(() => selectForget('random:0', train, 1), {
    message: 'Expected a fraction in (0, 1) in forget spec "random:0" but received 0',
  });
  assert.throws(() => selectForget('random:-0.2', train, 1), {
    message: 'Expected a fraction in (0, 1) in forget spec "random:-0.2" but received -0.2',
  });
  assert.throws(() => selectForget('random:101', train, 1), {
    message: 'Forget spec "random:101" asks for 101 examples but the training set has only 100',
  });
  assert.throws(() => selectForget('random:abc', train, 1), {
    message:
      'Expected a fraction in (0, 1) or a count after "random:" in forget spec "random:abc" but received "abc"',
  });
  assert.throws(() => selectForget('random:0.001', train, 1), {
    name: 'DataError',
    message:
      'Forget spec "random:0.001" selects no training examples; the forget set must not be empty',
  });
  assert.throws(() => selectForget('everything', train, 1), {
    message:
      'Unknown forget spec "everything"; expected random:<fraction|count>, class:<id>[,<id>] or indices:<file>',
  });
});

test('class forget: ids and names, every example of the classes', () => {
  const f = selectForget('class:3', train, 0);
  assert.equal(f.length, 10);
  assert.ok(f.every((i) => i % 10 === 3));
  const g = selectForget('class:1, j', train, 0);
  assert.equal(g.length, 20);
  assert.ok(g.every((i) => i % 10 === 1 || i % 10 === 9));
  assert.ok(isSortedDistinct(g));
  assert.throws(() => selectForget('class:10', train, 0), {
    name: 'OptionError',
    message:
      'Class "10" in forget spec "class:10" does not exist; expected a class id in 0..9 or a class name',
  });
  assert.throws(() => selectForget('class:zebra', train, 0), {
    message:
      'Class "zebra" in forget spec "class:zebra" does not exist; expected a class id in 0..9 or a class name',
  });
  assert.throws(() => selectForget('class:2,2', train, 0), {
    message: 'Class 2 appears twice in forget spec "class:2,2"',
  });
  const noFives = { labels: new Int32Array([0, 1, 2]), numClasses: 10 };
  assert.throws(() => selectForget('class:5', noFives, 0), {
    name: 'DataError',
    message: 'Forget spec "class:5" selects no training examples; the forget set must not be empty',
  });
});

test('indices forget: JSON, one per line, CSV with an index column', () => {
  const json = join(tmp, 'f.json');
  writeFileSync(json, '[5, 1, 99]');
  assert.deepEqual(Array.from(selectForget(`indices:${json}`, train, 0)), [1, 5, 99]);
  const lines = join(tmp, 'f.txt');
  writeFileSync(lines, '7\n3\r\n\n0\n');
  assert.deepEqual(Array.from(selectForget(`indices:${lines}`, train, 0)), [0, 3, 7]);
  const csv = join(tmp, 'f.csv');
  writeFileSync(csv, 'label,index\n4,14\n2,"2"\n');
  assert.deepEqual(Array.from(selectForget(`indices:${csv}`, train, 0)), [2, 14]);
});

test('indices forget: duplicates, out of range, empty, missing column, missing file', () => {
  const dup = join(tmp, 'dup.txt');
  writeFileSync(dup, '1\n2\n1\n');
  assert.throws(() => selectForget(`indices:${dup}`, train, 0), {
    name: 'FileFormatError',
    message: `${dup}: line 3: duplicate index 1`,
  });
  const range = join(tmp, 'range.json');
  writeFileSync(range, '[1, 100]');
  assert.throws(() => selectForget(`indices:${range}`, train, 0), {
    message: `${range}: element 1: index 100 is out of range; expected an integer in 0..99`,
  });
  const neg = join(tmp, 'neg.txt');
  writeFileSync(neg, '-1\n');
  assert.throws(() => selectForget(`indices:${neg}`, train, 0), {
    message: `${neg}: line 1: index -1 is out of range; expected an integer in 0..99`,
  });
  const empty = join(tmp, 'empty.json');
  writeFileSync(empty, '[]');
  assert.throws(() => selectForget(`indices:${empty}`, train, 0), {
    name: 'DataError',
    message: `Forget spec "indices:${empty}" selects no training examples; the forget set must not be empty`,
  });
  const nocol = join(tmp, 'nocol.csv');
  writeFileSync(nocol, 'id,label\n1,2\n');
  assert.throws(() => selectForget(`indices:${nocol}`, train, 0), {
    message: `${nocol}: expected a CSV header with an "index" column but found "id,label"`,
  });
  const missing = join(tmp, 'missing.json');
  assert.throws(() => selectForget(`indices:${missing}`, train, 0), {
    message: `${missing}: cannot read index file (ENOENT); expected a JSON array, one index per line, or a CSV with an "index" column`,
  });
});

test('makeSplit: retain is the complement of forget; determinism under a seed', () => {
  const s = makeSplit({ train, testSize: 40, forgetSpec: 'random:0.1', seed: 3 });
  assert.equal(s.forget.length, 10);
  assert.equal(s.retain.length, 90);
  assert.equal(s.val.length, 20);
  assert.equal(s.test.length, 20);
  const forget = new Set(s.forget);
  assert.ok(s.retain.every((i) => !forget.has(i)));
  assert.ok(isSortedDistinct(s.retain));
  assert.deepEqual(makeSplit({ train, testSize: 40, forgetSpec: 'random:0.1', seed: 3 }), s);
  assert.deepEqual(Array.from(complement(new Int32Array([0, 2]), 4)), [1, 3]);
});

test('split.json: written atomically, read back identically, validated on read', () => {
  const s = makeSplit({ train, testSize: 40, forgetSpec: 'class:2', seed: 5 });
  const file = writeSplit(tmp, s);
  assert.equal(file, join(tmp, 'split.json'));
  assert.ok(!readdirSync(tmp).some((f) => f.endsWith('.tmp')));
  const back = readSplit(tmp);
  assert.deepEqual(back, s);
  assert.ok(back.forget instanceof Int32Array);

  const body = JSON.parse(readFileSync(file, 'utf8'));
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...body, retain: body.retain.slice(1) }));
  assert.throws(() => readSplit(bad), {
    name: 'FileFormatError',
    message: `${bad}: "forget" (10) and "retain" (89) must together cover the training set of 100`,
  });
  writeFileSync(
    bad,
    JSON.stringify({
      ...body,
      val: [...body.val.slice(1), body.test[0]].sort((a: number, b: number) => a - b),
    }),
  );
  assert.throws(() => readSplit(bad), {
    message: `${bad}: index ${body.test[0]} is in both "val" and "test"`,
  });
  writeFileSync(bad, JSON.stringify({ ...body, forget: [2, 2, ...body.forget.slice(2)] }));
  assert.throws(() => readSplit(bad), {
    message: `${bad}: "forget" must be sorted ascending without duplicates but "forget"[1] is 2 after 2`,
  });
  writeFileSync(bad, JSON.stringify({ ...body, test: [...body.test.slice(0, -1), 40] }));
  assert.throws(() => readSplit(bad), {
    message: `${bad}: "test"[19] is 40; expected an integer index in 0..39`,
  });
  writeFileSync(bad, '{"format":"other"}');
  assert.throws(() => readSplit(bad), {
    message: `${bad}: expected format "lethe-split" version 1 but found "other" version undefined`,
  });
  assert.ok(!existsSync(join(tmp, 'nope', 'split.json')));
  assert.throws(() => readSplit(join(tmp, 'nope')), {
    message: `${join(tmp, 'nope', 'split.json')}: cannot read split (ENOENT)`,
  });
});
