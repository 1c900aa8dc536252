/** GIF89a by hand: animated files of any frame count from palette indices. */

/** LZW-"compress" palette indices (< 4) with a clear code before every pixel: valid, uncompressed, no code growth. */
function gifLzw(indices: readonly number[]): Buffer {
  const clear = 4;
  const end = 5;
  const codes: number[] = [];
  for (const index of indices) codes.push(clear, index);
  codes.push(end);
  const bytes: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (const code of codes) {
    bits |= code << bitCount;
    bitCount += 3;
    while (bitCount >= 8) {
      bytes.push(bits & 0xff);
      bits >>>= 8;
      bitCount -= 8;
    }
  }
  if (bitCount > 0) bytes.push(bits & 0xff);
  return Buffer.from(bytes);
}

function subBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const piece = data.subarray(i, i + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface GifOptions {
  /** Up to four colours. */
  palette?: readonly (readonly [number, number, number])[];
  /** Centiseconds per frame. */
  delay?: number;
  /** A comment extension before the first frame. */
  comment?: string;
}

/** An animated GIF89a from frames of palette indices (each width*height long, values 0-3). */
export function buildGif(width: number, height: number, frames: readonly (readonly number[])[], options: GifOptions = {}): Buffer {
  const palette = options.palette ?? [[0, 0, 0], [255, 255, 255], [220, 40, 40], [40, 40, 220]];
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1')];
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80 | (1 << 4) | 1; // global colour table of 4 entries, colour resolution 2 bits
  parts.push(screen);
  const table = Buffer.alloc(12);
  palette.slice(0, 4).forEach((rgb, i) => table.set(rgb, i * 3));
  parts.push(table);
  if (frames.length > 1) {
    // NETSCAPE2.0: loop forever.
    parts.push(Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([0x03, 0x01, 0x00, 0x00, 0x00]));
  }
  if (options.comment !== undefined) parts.push(Buffer.from([0x21, 0xfe]), subBlocks(Buffer.from(options.comment, 'latin1')));
  for (const frame of frames) {
    const control = Buffer.from([0x21, 0xf9, 0x04, 0x04, 0, 0, 0, 0]);
    control.writeUInt16LE(options.delay ?? 2, 4);
    const descriptor = Buffer.alloc(10);
    descriptor[0] = 0x2c;
    descriptor.writeUInt16LE(width, 5);
    descriptor.writeUInt16LE(height, 7);
    parts.push(control, descriptor, Buffer.from([2]), subBlocks(gifLzw(frame)));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/** `count` frames of 2x2, each different from the one before (so no encoder could merge them). */
export function manyFrameGif(count: number): Buffer {
  const frames: number[][] = [];
  for (let i = 0; i < count; i++) frames.push([i % 4, (i + 1) % 4, (i + 2) % 4, (i + 3) % 4]);
  return buildGif(2, 2, frames);
}
