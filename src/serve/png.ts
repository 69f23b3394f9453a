/**
 * A minimal PNG encoder for data set images (8-bit grey or RGB, no interlace, filter 0): what the
 * forget-set page needs to show an example, without a native image library.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes one CHW image (`channels` 1 or 3) as PNG. `pixels` holds 0..255 values (Uint8Array) or
 * 0..1 values (Float32Array), as data sets hold them.
 */
export function encodePng(
  pixels: Uint8Array | Float32Array,
  channels: number,
  height: number,
  width: number,
): Buffer {
  if (channels !== 1 && channels !== 3)
    throw new RangeError(`encodePng: expected 1 or 3 channels but received ${channels}`);
  if (pixels.length !== channels * height * width)
    throw new RangeError(
      `encodePng: expected ${channels}×${height}×${width} values but received ${pixels.length}`,
    );
  const byte = (v: number): number =>
    pixels instanceof Float32Array ? Math.max(0, Math.min(255, Math.round(v * 255))) : v;
  const raw = new Uint8Array(height * (1 + width * channels));
  const plane = height * width;
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * channels);
    raw[row] = 0;
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++)
        raw[row + 1 + x * channels + c] = byte(pixels[c * plane + y * width + x]);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
