/** PNG by hand: CRC-32, chunks and headers that declare what they like (no checked-in binaries). */
import zlib from 'node:zlib';
import sharp from 'sharp';

const crcTable: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as PNG uses); crc32("123456789") is 0xcbf43926. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

function ihdr(width: number, height: number, colourType = 2): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = colourType; // 2 = RGB
  return data; // compression, filter and interlace methods 0
}

/** A PNG whose IHDR declares width x height over a tiny IDAT: valid header and CRCs, nowhere near enough pixels. */
export function pngClaiming(width: number, height: number): Buffer {
  const idat = zlib.deflateSync(Buffer.alloc(64));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height)), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A complete, valid RGB PNG of one flat colour. Built by hand (first row filter None, every other row filter Up, so
 * all-zero; deflated with Z_RLE) because that takes well under a second where sharp's encoder takes several for
 * 400 MP. 20000x20000 comes to about 1.2 MB: the classic decompression bomb.
 */
export async function flatPng(width: number, height: number, rgb: readonly [number, number, number]): Promise<Buffer> {
  const stride = width * 3 + 1;
  const first = Buffer.alloc(stride);
  for (let x = 0; x < width; x++) first.set(rgb, 1 + x * 3);
  const rowsPerBlock = 64;
  const block = Buffer.alloc(stride * rowsPerBlock);
  for (let row = 0; row < rowsPerBlock; row++) block[row * stride] = 2; // filter Up: same as the row above
  const deflate = zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  deflate.write(first);
  for (let left = height - 1; left > 0; left -= rowsPerBlock) {
    const rows = Math.min(left, rowsPerBlock);
    if (!deflate.write(rows === rowsPerBlock ? block : block.subarray(0, rows * stride))) {
      await new Promise((resolve) => deflate.once('drain', resolve));
    }
  }
  deflate.end();
  await done;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height)), pngChunk('IDAT', Buffer.concat(out)), pngChunk('IEND', Buffer.alloc(0))]);
}
