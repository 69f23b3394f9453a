/**
 * safetensors, the weights format PyTorch users share: an 8-byte little-endian header length,
 * a JSON header `{name: {dtype, shape, data_offsets}, __metadata__: {string: string}}`, then the
 * raw little-endian data. Reading validates everything before a byte is used; writing is atomic.
 */
import { tensor, Tensor, type DType } from '../tensor/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileFormatError } from '../util/errors.js';
import { decodeUtf8, isJsonObject, parseStrictJson } from '../util/json.js';
import { readFileOrFail } from '../util/read-file.js';

export { writeFileAtomic };

const TO_FILE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_FILE: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

/** Serialises named tensors (and string metadata) into safetensors bytes. */
export function encodeSafetensors(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const fileType = TO_FILE[t.dtype];
    if (!fileType)
      throw new FileFormatError(name, `cannot store ${t.dtype} tensors in safetensors`);
    const data = t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: fileType,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Saves named tensors to a safetensors file atomically. */
export function saveSafetensors(
  path: string,
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** A tensor entry of a header, validated. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const ENTRY_KEYS = ['data_offsets', 'dtype', 'shape'];

/**
 * Parses safetensors bytes; `file` names the source in errors. The whole header is validated
 * before any tensor is made: one UTF-8 JSON object with no duplicate keys, each tensor entry
 * exactly `{dtype, shape, data_offsets}` with a known dtype, a shape of non-negative integers and
 * two offsets whose span is the shape's size, the tensors contiguous and covering the data
 * exactly, and `__metadata__` (when present) a map of strings to strings.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const fail = (message: string): never => {
    throw new FileFormatError(file, `not a valid safetensors file: ${message}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8))
    fail(`header length ${headerLength} exceeds the file size ${bytes.length} (truncated?)`);
  const dataStart = 8 + Number(headerLength);
  if (bytes[8] !== 0x7b || headerLength === 0n) fail("header does not start with '{'");
  let header: unknown;
  try {
    header = parseStrictJson(decodeUtf8(bytes.subarray(8, dataStart)));
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message})`);
  }
  if (!isJsonObject(header)) return fail('header is not a JSON object');
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isJsonObject(raw)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string')
          fail(`__metadata__ '${k}' is ${JSON.stringify(v)}, not a string`);
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      continue;
    }
    entries.push(parseEntry(name, raw, dataLength, fail));
  }
  // Sorted by offsets, each tensor must start where the previous one ended: no overlap, no hole.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      fail(
        e.begin < at
          ? `tensor '${e.name}' at [${e.begin}, ${e.end}] overlaps another tensor's bytes (up to ${at})`
          : `data bytes [${at}, ${e.begin}) belong to no tensor`,
      );
    }
    at = e.end;
  }
  if (at !== dataLength) fail(`tensors cover ${at} of ${dataLength} data bytes`);
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) {
      // Copy into an aligned buffer: typed arrays need aligned offsets.
      const slice = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
      tensors.set(e.name, tensor(viewAs(slice, e.dtype), e.shape, { dtype: e.dtype }));
    }
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return { tensors, metadata };
}

function parseEntry(
  name: string,
  raw: unknown,
  dataLength: number,
  fail: (message: string) => never,
): Entry {
  if (!isJsonObject(raw)) return fail(`tensor '${name}' is ${JSON.stringify(raw)}, not an object`);
  const keys = Object.keys(raw).sort();
  if (keys.length !== ENTRY_KEYS.length || keys.some((k, i) => k !== ENTRY_KEYS[i])) {
    fail(
      `tensor '${name}' has keys ${keys.join(', ') || '(none)'}; expected exactly dtype, shape, data_offsets`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  const kind =
    typeof dtype === 'string' && Object.hasOwn(FROM_FILE, dtype) ? FROM_FILE[dtype] : null;
  if (!kind) return fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount))
    fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
    fail(
      `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected two non-negative integers`,
    );
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail(
      `tensor '${name}' has data offsets [${begin}, ${end}] outside the ${dataLength} data bytes (truncated?)`,
    );
  }
  const dims = shape as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count * kind.bytes) || end - begin !== count * kind.bytes) {
    fail(
      `tensor '${name}' has ${end - begin} bytes but shape [${dims}] of ${dtype} needs ${count * kind.bytes}`,
    );
  }
  return { name, dtype: kind.dtype, shape: dims, begin, end };
}

function viewAs(
  bytes: Uint8Array,
  dtype: DType,
): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    case 'float64':
      return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    case 'int64':
      return new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    case 'int32':
      return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    default:
      return bytes;
  }
}

/** Loads a safetensors file. Errors name the file and what is wrong with it. */
export function loadSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(
    readFileOrFail(path, (reason) => `cannot read: ${reason}`),
    path,
  );
}
