/**
 * Damaged files are refused, never read wrong: every example of issue 14 for safetensors,
 * checkpoint metadata, the model registry, IDX, CIFAR, split and index files, each with the
 * exact message. Every failure is one of Lethe's own errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCifar10 } from '../src/data/cifar.js';
import { loadIdxPair } from '../src/data/idx.js';
import { readIndexFile, readSplit } from '../src/data/split.js';
import {
  createModel,
  loadCheckpoint,
  readCheckpointMeta,
  saveCheckpoint,
} from '../src/models/index.js';
import { decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import { tensor } from '../src/tensor/index.js';
import { FileFormatError, LetheError, OptionError } from '../src/util/errors.js';
import { parseStrictJson } from '../src/util/json.js';

const dir = mkdtempSync(join(tmpdir(), 'lethe-strict-'));

/** safetensors bytes with `header` as written (not re-serialised) and `data` after it. */
function raw(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Throws `fn` with a FileFormatError whose message is exactly `file: not a valid safetensors file: <why>`. */
function refused(bytes: Uint8Array, why: string): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (e: Error) => {
      assert.ok(e instanceof FileFormatError, `${e.name}: ${e.message}`);
      assert.equal(e.message, `x.safetensors: not a valid safetensors file: ${why}`);
      return true;
    },
  );
}

const eight = new Uint8Array(8).map((_, i) => i + 1);
const f32 = (offsets: string, shape = '[1]'): string =>
  `{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;

test('safetensors: a well-formed file loads exactly', () => {
  const t = tensor(new Float32Array([1.5, -2]), [2]);
  const bytes = encodeSafetensors(new Map([['w', t]]), { seed: '3' });
  t.dispose();
  const file = decodeSafetensors(bytes, 'x.safetensors');
  assert.deepEqual([...file.tensors.get('w')!.data()], [1.5, -2]);
  assert.deepEqual(file.metadata, { seed: '3' });
  file.tensors.get('w')!.dispose();
});

test('safetensors: offsets must be two non-negative integers that tile the data exactly', () => {
  refused(
    raw(`{"a":${f32('[-4,0]')}}`, eight),
    `tensor 'a' has data_offsets [-4,0]; expected two non-negative integers`,
  );
  refused(
    raw(`{"a":${f32('[0,4,8]')}}`, eight),
    `tensor 'a' has data_offsets [0,4,8]; expected two non-negative integers`,
  );
  refused(
    raw(`{"a":${f32('[0,4.5]')}}`, eight),
    `tensor 'a' has data_offsets [0,4.5]; expected two non-negative integers`,
  );
  // Overlapping spans with a hole elsewhere: the sum of the spans is right, the layout is not.
  const twelve = new Uint8Array(12);
  refused(
    raw(`{"a":${f32('[0,4]')},"b":${f32('[2,6]')},"c":${f32('[8,12]')}}`, twelve),
    `tensor 'b' at [2, 6] overlaps another tensor's bytes (up to 4)`,
  );
  refused(
    raw(`{"a":${f32('[0,4]')},"b":${f32('[8,12]')}}`, twelve),
    'data bytes [4, 8) belong to no tensor',
  );
  refused(raw(`{"a":${f32('[0,4]')}}`, eight), 'tensors cover 4 of 8 data bytes');
  refused(
    raw(`{"a":${f32('[0,8]', '[3]')}}`, eight),
    `tensor 'a' has 8 bytes but shape [3] of F32 needs 12`,
  );
  refused(raw(`{"a":${f32('[0,8]', '[-2]')}}`, eight), `tensor 'a' has an invalid shape [-2]`);
  refused(
    raw(`{"a":{"dtype":"F8","shape":[8],"data_offsets":[0,8]}}`, eight),
    `tensor 'a' has unsupported dtype "F8"`,
  );
  refused(
    raw(`{"a":{"dtype":"toString","shape":[8],"data_offsets":[0,8]}}`, eight),
    `tensor 'a' has unsupported dtype "toString"`,
  );
});

test('safetensors: duplicate keys are refused at every level', () => {
  refused(
    raw(`{"a":${f32('[0,4]')},"a":${f32('[4,8]')}}`, eight),
    'header is not JSON (duplicate key "a" at position 54)',
  );
  refused(
    raw(`{"__metadata__":{"seed":"1","seed":"2"},"a":${f32('[0,8]', '[2]')}}`, eight),
    'header is not JSON (duplicate key "seed" at position 28)',
  );
  refused(
    raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"shape":[2]}}`, eight),
    'header is not JSON (duplicate key "shape" at position 53)',
  );
});

test('safetensors: the header is one UTF-8 JSON object starting with {', () => {
  const header = new TextEncoder().encode(`{"__metadata__":{"n":"x"},"a":${f32('[0,8]', '[2]')}}`);
  header[23] = 0xff; // inside the string "x"
  refused(raw(header, eight), 'header is not JSON (not valid UTF-8)');
  refused(raw(` {"a":${f32('[0,8]', '[2]')}}`, eight), "header does not start with '{'");
  refused(raw(`[]`), "header does not start with '{'");
  refused(
    raw(`{"a":${f32('[0,8]', '[2]')}} x`, eight),
    'header is not JSON (unexpected text after the JSON value at position 55)',
  );
  refused(raw(`{"a":null}`), "tensor 'a' is null, not an object");
  refused(
    raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}`, eight),
    `tensor 'a' has keys data_offsets, dtype, extra, shape; expected exactly dtype, shape, data_offsets`,
  );
  refused(raw(`{"__metadata__":["x"]}`), '__metadata__ is not an object of strings');
  refused(raw(`{"__metadata__":{"seed":3}}`), "__metadata__ 'seed' is 3, not a string");
  const bytes = raw(`{"a":${f32('[0,8]', '[2]')}}`, eight);
  new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
  refused(bytes, 'header length 9223372036854775808 exceeds the file size 70 (truncated?)');
});

test('strict JSON: duplicates, own properties only, and the grammar of RFC 8259', () => {
  const o = parseStrictJson('{"__proto__": {"x": 1}, "constructor": 2}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.deepEqual(Object.keys(o), ['__proto__', 'constructor']);
  assert.equal((o as { x?: number }).x, undefined);
  for (const bad of ['{"a":1,}', '[1,]', '01', '1.', "{'a':1}", 'NaN', '"\t"', '"\\x"', '']) {
    assert.throws(() => parseStrictJson(bad), { name: 'JsonSyntaxError' }, bad);
  }
  assert.deepEqual(parseStrictJson(' [1e2, -0.5, "\\u00e9\\n", true, null] '), [
    100,
    -0.5,
    'é\n',
    true,
    null,
  ]);
});

/** A Lethe checkpoint of a small ResNet with its metadata replaced by `edit`'s result. */
function checkpointWith(edit: (m: Record<string, string>) => Record<string, string>): string {
  const model = createModel('resnet20', { inChannels: 1, numClasses: 2 });
  const path = join(dir, 'model.safetensors');
  saveCheckpoint(path, model, {
    architecture: 'resnet20',
    modelOptions: { inChannels: 1, numClasses: 2 },
    seed: 3,
  });
  model.dispose();
  const file = decodeSafetensors(readFileSync(path), path);
  const edited = join(dir, 'edited.safetensors');
  writeFileSync(edited, encodeSafetensors(file.tensors, edit({ ...file.metadata })));
  for (const t of file.tensors.values()) t.dispose();
  return edited;
}

function checkpointRefused(path: string, message: string): void {
  for (const read of [() => readCheckpointMeta(path), () => loadCheckpoint(path)]) {
    assert.throws(read, (e: Error) => {
      assert.ok(e instanceof FileFormatError, `${e.name}: ${e.message}`);
      assert.equal(e.message, `${path}: ${message}`);
      return true;
    });
  }
}

test('checkpoint metadata: every field is typed and in range', () => {
  const ok = checkpointWith((m) => m);
  assert.equal(readCheckpointMeta(ok).seed, 3);
  const seedAbc = checkpointWith((m) => ({ ...m, seed: 'abc' }));
  checkpointRefused(seedAbc, 'has seed metadata "abc"; expected an integer');
  checkpointRefused(
    checkpointWith((m) => ({ ...m, seed: '1e3' })),
    'has seed metadata "1e3"; expected an integer',
  );
  checkpointRefused(
    checkpointWith((m) => ({ ...m, modelOptions: 'null' })),
    'has malformed modelOptions metadata "null": Expected an object for the modelOptions metadata but received null',
  );
  checkpointRefused(
    checkpointWith((m) => ({ ...m, modelOptions: '{"inChannels":1,"numClasses":2,"width":4}' })),
    `has malformed modelOptions metadata "{\\"inChannels\\":1,\\"numClasses\\":2,\\"width\\":4}": Unknown option 'width' in the modelOptions metadata; expected inChannels, numClasses or cifar`,
  );
  checkpointRefused(
    checkpointWith((m) => ({ ...m, modelOptions: '{"inChannels":1,"numClasses":-2}' })),
    `has malformed modelOptions metadata "{\\"inChannels\\":1,\\"numClasses\\":-2}": Expected an integer in 1..100000 for the modelOptions metadata.numClasses but received -2`,
  );
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    checkpointRefused(
      checkpointWith((m) => ({ ...m, architecture: name })),
      `records an unknown architecture "${name}"; expected one of resnet18, resnet34, resnet50, resnet20, resnet32, resnet44, resnet56`,
    );
  }
});

test('the model registry never reaches the prototype chain and refuses unknown options', () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.throws(
      () => createModel(name),
      (e: Error) =>
        e instanceof OptionError &&
        e.message ===
          `Unknown model '${name}'; expected one of resnet18, resnet34, resnet50, resnet20, resnet32, resnet44, resnet56`,
    );
  }
  assert.throws(
    () => createModel('resnet20', { depth: 3 } as never),
    (e: Error) =>
      e instanceof OptionError &&
      e.message ===
        "Unknown option 'depth' in model options; expected inChannels, numClasses or cifar",
  );
  assert.throws(
    () => createModel('resnet20', { cifar: 'yes' } as never),
    /^OptionError: Expected a boolean for model options\.cifar but received "yes"$/,
  );
});

/** IDX files of `n` 2×2 images and their labels. */
function idx(n: number): { imagesFile: string; labelsFile: string } {
  const images = Buffer.alloc(16 + 4 * n);
  images.writeUInt32BE(2051, 0);
  images.writeUInt32BE(n, 4);
  images.writeUInt32BE(2, 8);
  images.writeUInt32BE(2, 12);
  const labels = Buffer.alloc(8 + n);
  labels.writeUInt32BE(2049, 0);
  labels.writeUInt32BE(n, 4);
  const imagesFile = join(dir, `images-${n}`);
  const labelsFile = join(dir, `labels-${n}`);
  writeFileSync(imagesFile, images);
  writeFileSync(labelsFile, labels);
  return { imagesFile, labelsFile };
}

test('IDX: a file with zero items is not a data set', () => {
  const empty = idx(0);
  assert.throws(
    () => loadIdxPair({ name: 'x', ...empty }),
    (e: Error) =>
      e instanceof FileFormatError &&
      e.message ===
        `${empty.imagesFile}: holds 0 images; a training or test set needs at least one`,
  );
  assert.equal(loadIdxPair({ name: 'x', ...idx(3) }).labels.length, 3);
});

test('CIFAR: batches.meta.txt must be UTF-8', () => {
  const cifar = join(dir, 'cifar');
  mkdirSync(cifar);
  const record = Buffer.alloc(1 + 3072);
  for (const f of [
    'data_batch_1',
    'data_batch_2',
    'data_batch_3',
    'data_batch_4',
    'data_batch_5',
    'test_batch',
  ])
    writeFileSync(join(cifar, `${f}.bin`), record);
  const names = Buffer.from(
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n',
  );
  writeFileSync(join(cifar, 'batches.meta.txt'), names);
  assert.equal(loadCifar10(cifar).train.classNames[9], 'truck');
  names[3] = 0xc3; // a lead byte without its continuation
  writeFileSync(join(cifar, 'batches.meta.txt'), names);
  assert.throws(
    () => loadCifar10(cifar),
    (e: Error) =>
      e instanceof FileFormatError &&
      e.message ===
        `${join(cifar, 'batches.meta.txt')}: is not valid UTF-8 text; expected one class name per line`,
  );
});

test('split.json and index files: duplicate keys, unknown keys and bad UTF-8 are refused', () => {
  const body = {
    format: 'lethe-split',
    version: 1,
    seed: 0,
    forgetSpec: 'random:1',
    trainSize: 2,
    testSize: 2,
    forget: [0],
    retain: [1],
    val: [0],
    test: [1],
  };
  const file = join(dir, 'split.json');
  writeFileSync(file, JSON.stringify(body));
  assert.deepEqual([...readSplit(file).forget], [0]);
  writeFileSync(file, JSON.stringify(body).replace('"seed":0', '"seed":0,"seed":7'));
  assert.throws(() => readSplit(file), {
    message: `${file}: invalid JSON (duplicate key "seed" at position 45)`,
  });
  writeFileSync(file, JSON.stringify({ ...body, extra: 1 }));
  assert.throws(() => readSplit(file), {
    message: `${file}: unknown key "extra"; expected only format, version, seed, forgetSpec, trainSize, testSize, forget, retain, val, test`,
  });
  writeFileSync(file, JSON.stringify({ ...body, seed: 2 ** 60 }));
  assert.throws(() => readSplit(file), {
    message: `${file}: expected a non-negative integer for "seed" but found ${2 ** 60}`,
  });
  const list = join(dir, 'forget.txt');
  writeFileSync(list, Buffer.from([0x31, 0x0a, 0xff, 0x0a]));
  assert.throws(
    () => readIndexFile(list, 5),
    (e: Error) =>
      e instanceof FileFormatError &&
      e.message ===
        `${list}: is not valid UTF-8 text; expected a JSON array, one index per line, or a CSV with an "index" column`,
  );
  writeFileSync(list, '[1, 2,]');
  assert.throws(() => readIndexFile(list, 5), LetheError);
});
