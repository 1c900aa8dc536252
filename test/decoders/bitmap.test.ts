/**
 * BMP and ICO input against ImageMagick's own decoder: every bit depth ImageMagick writes (1, 4, 8, 16, 24, 32 with
 * alpha), RLE8, top-down rows, ICO with BMP and PNG entries; and hostile headers.
 *
 * Thresholds: the same palette or RGB bytes give the same pixels, so identical (Infinity dB) except 16-bit RGB565,
 * where widening 5 and 6 bits to 8 may round differently by one level (>= 50 dB; measured 55 dB).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { closeDecoderPool, decodeToRaw, probeContainer, sniffContainer } from '../../src/core/decoders/index.js';
import { isImageError } from '../../src/core/errors.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { photo, psnr, type Raw } from '../../testkit/images.js';
import { magick, missingTools, toRaw } from './tools.js';

const skip = missingTools('magick');
const limits: Limits = { ...defaultLimits };
let png: Buffer;
let rgbaPng: Buffer;

before(async () => {
  png = await photo(97, 61, 'png'); // odd sizes: row padding and partial bytes at 1 and 4 bits
  const circle = Buffer.from('<svg width="97" height="61"><circle cx="48" cy="30" r="25" fill="#fff" fill-opacity="0.6"/></svg>');
  rgbaPng = await sharp(png).ensureAlpha().composite([{ input: circle, blend: 'dest-in' }]).png().toBuffer();
});
after(() => closeDecoderPool());

const asRaw = (r: { data: Uint8Array; width: number; height: number; channels: number }): Raw => ({ data: r.data, width: r.width, height: r.height, channels: r.channels });

async function matchesMagick(file: Buffer, ext: string, minDb: number, channels: 3 | 4, label: string): Promise<void> {
  const decoded = await decodeToRaw(file, { limits });
  assert.equal(decoded.channels, channels, `${label}: channels`);
  const reference = await toRaw(await magick(file, `in.${ext}`, 'out.png'), channels);
  const db = psnr(asRaw(decoded), reference);
  assert.ok(db >= minDb, `${label}: PSNR ${db.toFixed(1)} dB`);
}

async function refused(input: Buffer, code: string, detail: RegExp): Promise<void> {
  await assert.rejects(decodeToRaw(input, { limits }), (err) => {
    assert.ok(isImageError(err), `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code, err.detail);
    assert.match(err.detail, detail);
    return true;
  });
}

test('BMP at every bit depth and RLE8 decodes as ImageMagick decodes it', { skip }, async () => {
  const variants: [string, string[], number, 3 | 4][] = [
    ['24-bit', ['-type', 'TrueColor', 'BMP3:out.bmp'], Infinity, 3],
    ['8-bit palette', ['-colors', '200', '-type', 'Palette', '-compress', 'None', 'BMP3:out.bmp'], Infinity, 3],
    ['4-bit palette', ['-colors', '16', '-type', 'Palette', 'BMP3:out.bmp'], Infinity, 3],
    ['1-bit', ['-monochrome', 'BMP3:out.bmp'], Infinity, 3],
    ['RLE8', ['-colors', '200', '-type', 'Palette', '-compress', 'RLE', 'BMP3:out.bmp'], Infinity, 3],
    ['16-bit RGB565', ['-define', 'bmp:subtype=RGB565', 'BMP:out.bmp'], 50, 3],
  ];
  for (const [label, args, minDb, channels] of variants) {
    const bmp = await magick(png, 'in.png', args.at(-1)!, args.slice(0, -1));
    assert.equal(sniffContainer(bmp), 'bmp', label);
    const info = await probeContainer(bmp, { limits });
    assert.deepEqual([info?.width, info?.height], [97, 61], label);
    await matchesMagick(bmp, 'bmp', minDb, channels, label);
  }
  const rle = await magick(png, 'in.png', 'BMP3:out.bmp', ['-colors', '200', '-type', 'Palette', '-compress', 'RLE']);
  assert.equal(rle.readUInt32LE(30), 1, 'ImageMagick really wrote RLE8');
});

test('32-bit BMP keeps its alpha', { skip }, async () => {
  const bmp = await magick(rgbaPng, 'in.png', 'BMP:out.bmp');
  assert.equal((await probeContainer(bmp, { limits }))?.hasAlpha, true);
  await matchesMagick(bmp, 'bmp', Infinity, 4, '32-bit alpha');
});

test('a top-down BMP (negative height) is the same picture', { skip }, async () => {
  const bmp = await magick(png, 'in.png', 'BMP3:out.bmp', ['-type', 'TrueColor']);
  const offset = bmp.readUInt32LE(10);
  const stride = Math.ceil((97 * 3) / 4) * 4;
  const flipped = Buffer.from(bmp);
  flipped.writeInt32LE(-61, 22);
  for (let y = 0; y < 61; y++) bmp.copy(flipped, offset + y * stride, offset + (60 - y) * stride, offset + (61 - y) * stride);
  const decoded = await decodeToRaw(flipped, { limits });
  assert.equal(psnr(asRaw(decoded), await toRaw(png, 3)), Infinity);
});

test('ICO: the largest entry is decoded, BMP-coded or PNG-coded', { skip }, async () => {
  const bmpEntries = await magick(rgbaPng, 'in.png', 'out.ico', ['-define', 'icon:auto-resize=48,32,16']);
  assert.equal(sniffContainer(bmpEntries), 'ico');
  const info = await probeContainer(bmpEntries, { limits });
  assert.deepEqual([info?.width, info?.height, info?.pages], [48, 48, 3]);
  const decoded = await decodeToRaw(bmpEntries, { limits });
  assert.deepEqual([decoded.width, decoded.height, decoded.channels], [48, 48, 4]);
  const reference = await toRaw(await magick(bmpEntries, 'in.ico[0]', 'out.png'), 4);
  assert.equal(psnr(asRaw(decoded), reference), Infinity);

  const pngEntry = await magick(rgbaPng, 'in.png', 'out.ico', ['-define', 'icon:auto-resize=256,16']);
  const big = await decodeToRaw(pngEntry, { limits });
  assert.deepEqual([big.width, big.height, big.channels], [256, 256, 4]);
  assert.equal(psnr(asRaw(big), await toRaw(await magick(pngEntry, 'in.ico[0]', 'out.png'), 4)), Infinity);
});

test('hostile BMP and ICO headers are refused with a 4xx code', { skip }, async () => {
  const bmp = await magick(png, 'in.png', 'BMP3:out.bmp', ['-type', 'TrueColor']);
  const patched = (edit: (b: Buffer) => void) => {
    const b = Buffer.from(bmp);
    edit(b);
    return b;
  };
  await refused(patched((b) => b.writeInt32LE(100_000, 18) && b.writeInt32LE(100_000, 22)), 'PP_TOO_MANY_PIXELS', /100000x100000/);
  await refused(bmp.subarray(0, Math.floor(bmp.length / 2)), 'PP_UNDECODABLE', /BMP/);
  await refused(bmp.subarray(0, 30), 'PP_UNDECODABLE', /BMP header/);
  await refused(patched((b) => b.writeUInt32LE(4, 30)), 'PP_UNSUPPORTED_MEDIA', /compression 4/);
  await refused(patched((b) => b.writeUInt16LE(7, 28)), 'PP_UNSUPPORTED_MEDIA', /7 bits per pixel/);
  await refused(patched((b) => b.writeUInt16LE(8, 28) && b.writeUInt32LE(1_000_000, 46)), 'PP_UNDECODABLE', /palette colours/);
  await refused(patched((b) => b.writeInt32LE(0, 18)), 'PP_UNDECODABLE', /impossible size/);
  // RLE8 whose runs never end the image: the decoder stops at the end of the data.
  const rle = await magick(png, 'in.png', 'BMP3:out.bmp', ['-colors', '200', '-type', 'Palette', '-compress', 'RLE']);
  const endless = Buffer.concat([rle.subarray(0, rle.readUInt32LE(10)), Buffer.alloc(4096, 0)]);
  const outcome = await decodeToRaw(endless, { limits }).then(
    (r) => `decoded ${r.width}x${r.height}`,
    (err: unknown) => (isImageError(err) ? err.code : `unexpected ${String(err)}`),
  );
  assert.ok(['PP_UNDECODABLE', 'decoded 97x61'].includes(outcome), outcome);

  const ico = await magick(rgbaPng, 'in.png', 'out.ico', ['-define', 'icon:auto-resize=32']);
  // 65,535 directory entries all naming the same image: over the frame limit before any is decoded.
  const entry = ico.subarray(6, 22);
  const many = Buffer.concat([Buffer.from([0, 0, 1, 0, 0xff, 0xff]), ...Array.from({ length: 65_535 }, () => entry), ico.subarray(22)]);
  const shift = 65_534 * 16;
  for (let i = 0; i < 65_535; i++) many.writeUInt32LE(entry.readUInt32LE(12) + shift, 6 + i * 16 + 12);
  await refused(many, 'PP_TOO_MANY_PIXELS', /65535 pages/);
  const outside = Buffer.from(ico);
  outside.writeUInt32LE(ico.length + 100, 18);
  await refused(outside, 'PP_UNDECODABLE', /outside the file/);
});
