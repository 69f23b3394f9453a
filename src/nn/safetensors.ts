/**
 * safetensors, the weights format PyTorch users share: an 8-byte little-endian header length,
 * a JSON header `{name: {dtype, shape, data_offsets}, __metadata__: {string: string}}`, then the
 * raw little-endian data. Reading validates everything before a byte is used; writing is atomic.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tensor, Tensor, type DType } from '../tensor/index.js';
import { FileFormatError } from '../util/errors.js';

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

/** Writes `data` to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

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

/** Parses safetensors bytes; `file` names the source in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const fail = (message: string): never => {
    throw new FileFormatError(file, `not a valid safetensors file: ${message}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is shorter than the 8-byte header length`);
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (headerLength > bytes.length - 8)
    fail(`header length ${headerLength} exceeds the file size ${bytes.length} (truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      unknown
    >;
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  const tensors = new Map<string, Tensor>();
  let covered = 0;
  try {
    for (const [name, raw] of entries) {
      const entry = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      const kind = FROM_FILE[entry.dtype ?? ''];
      if (!kind) fail(`tensor '${name}' has unsupported dtype ${entry.dtype}`);
      if (!Array.isArray(entry.shape) || entry.shape.some((d) => !Number.isInteger(d) || d < 0)) {
        fail(`tensor '${name}' has an invalid shape ${JSON.stringify(entry.shape)}`);
      }
      const [begin, end] = (entry.data_offsets ?? [NaN, NaN]) as [number, number];
      if (!Number.isInteger(begin) || !Number.isInteger(end) || begin > end || end > dataLength) {
        fail(
          `tensor '${name}' has data offsets [${begin}, ${end}] outside the ${dataLength} data bytes (truncated?)`,
        );
      }
      const count = entry.shape!.reduce((a, b) => a * b, 1);
      if (end - begin !== count * kind.bytes) {
        fail(
          `tensor '${name}' has ${end - begin} bytes but shape [${entry.shape}] of ${entry.dtype} needs ${count * kind.bytes}`,
        );
      }
      covered += end - begin;
      // Copy into an aligned buffer: typed arrays need aligned offsets.
      const slice = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end));
      tensors.set(name, tensor(viewAs(slice, kind.dtype), entry.shape!, { dtype: kind.dtype }));
    }
    if (covered !== dataLength) fail(`tensors cover ${covered} of ${dataLength} data bytes`);
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return { tensors, metadata };
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
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new FileFormatError(
      path,
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return decodeSafetensors(bytes, path);
}
