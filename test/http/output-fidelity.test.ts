/**
 * What an output keeps of its upload, checked against ImageMagick (with lcms for colour) as the independent side:
 * TIFF lossless with alpha and 16 bits, grey stays grey, 16-bit PNG stays 16-bit, profiles converted where the format
 * cannot carry them (GIF) and kept where it can, CMYK within ΔE76 2 of lcms, norotation keeps its Orientation tag,
 * and PNG sizes within 10% of ImageMagick's at the same zlib level.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { rgbToLab } from '../../testkit/colour.js';
import { postRaw, testApp } from '../../testkit/http.js';
import { heifEncode, magick, missingTools } from '../decoders/tools.js';

const PHOTO = '/usr/share/backgrounds/mate/nature/Storm.jpg';
const SRGB = '/usr/share/color/icc/sRGB.icc';
const ADOBE_RGB = '/usr/share/color/icc/compatibleWithAdobeRGB1998.icc';
const CMYK_SWOP = '/usr/share/color/icc/ghostscript/default_cmyk.icc';
const missing = missingTools('magick') || (![PHOTO, SRGB, ADOBE_RGB, CMYK_SWOP].every(existsSync) && 'mate-backgrounds, icc-profiles-free or libgs-common is missing (npm test installs them as root)');
if (missing && process.env.CI) throw new Error(String(missing));

let app: FastifyInstance;
/** A 320x200 piece of a camera photograph, as 8-bit and 16-bit PNG (ImageMagick writes both). */
let photo8: Buffer;
let photo16: Buffer;

before(async () => {
  if (missing) return;
  app = await testApp();
  photo8 = await magick(readFileSync(PHOTO), 'in.jpg', 'out.png', ['-resize', '320x200^', '-gravity', 'center', '-extent', '320x200', '-strip']);
  photo16 = await magick(photo8, 'in.png', 'out.png', ['-depth', '16', '-evaluate', 'multiply', '0.999']);
});
after(async () => app?.close());

/** Raw samples as ImageMagick decodes them: `map` is RGB, RGBA or GRAY, `depth` 8 or 16 (big-endian). */
async function samples(image: Buffer, name: string, map: 'RGB' | 'RGBA' | 'GRAY', depth: 8 | 16): Promise<number[]> {
  const raw = await magick(image, name, `${map}:out.raw`, ['-depth', String(depth)]);
  if (depth === 8) return [...raw];
  return Array.from({ length: raw.length / 2 }, (_, i) => raw.readUInt16BE(2 * i));
}

/**
 * The EXIF Orientation of any file, and whether it has GPS, read from the TIFF structure inside it (JPEG APP1, PNG
 * eXIf, WebP EXIF all hold one): ImageMagick 6 reads no orientation from PNG or WebP.
 */
function exifTags(file: Buffer): { orientation: number; gps: boolean } {
  const start = [file.indexOf('II*\0', 0, 'latin1'), file.indexOf('MM\0*', 0, 'latin1')].filter((i) => i >= 0).sort((a, b) => a - b)[0];
  if (start === undefined) return { orientation: 1, gps: false };
  const tiff = file.subarray(start);
  const little = tiff[0] === 0x49;
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd0 = u32(4);
  const tags = new Map<number, number>();
  for (let i = 0; i < u16(ifd0); i++) tags.set(u16(ifd0 + 2 + 12 * i), u16(ifd0 + 2 + 12 * i + 8));
  return { orientation: tags.get(0x0112) ?? 1, gps: tags.has(0x8825) };
}

/** identify's view of a file: what ImageMagick says it is. */
async function identify(image: Buffer, name: string, format: string): Promise<string> {
  return (await magick(image, name, 'INFO:out.txt', ['-format', format])).toString();
}

async function post(url: string, body: Buffer, type = 'image/png') {
  const response = await postRaw(app, url, body, type);
  assert.equal(response.statusCode, 200, response.body);
  return response.rawPayload;
}

/** ΔE76 between two RGB sample lists: the mean, the 99th percentile and the largest. */
function meanDeltaE(a: number[], b: number[]): { mean: number; p99: number; max: number } {
  const all: number[] = [];
  for (let i = 0; i < a.length; i += 3) {
    const [L1, a1, b1] = rgbToLab(a[i]!, a[i + 1]!, a[i + 2]!);
    const [L2, a2, b2] = rgbToLab(b[i]!, b[i + 1]!, b[i + 2]!);
    all.push(Math.hypot(L1 - L2, a1 - a2, b1 - b2));
  }
  all.sort((x, y) => x - y);
  return { mean: all.reduce((sum, d) => sum + d, 0) / all.length, p99: all[Math.floor(all.length * 0.99)]!, max: all.at(-1)! };
}

test('TIFF is lossless by default (deflate), keeps alpha and 16 bits; JPEG-in-TIFF only when asked', { skip: missing }, async () => {
  const rgba16 = await magick(photo16, 'in.png', 'out.png', ['-alpha', 'set', '-channel', 'A', '-fx', 'i/w', '+channel']);
  const tiff = await post('/convert?type=tiff', rgba16);
  assert.match(await identify(tiff, 'in.tif', '%[compression] %z %[channels]'), /^Zip 16 srgba/);
  assert.deepEqual(await samples(tiff, 'in.tif', 'RGBA', 16), await samples(rgba16, 'in.png', 'RGBA', 16), 'every 16-bit sample, alpha included');

  const lzw = await post('/convert?type=tiff&tiffcompression=lzw', photo8);
  assert.match(await identify(lzw, 'in.tif', '%[compression]'), /^LZW/);
  assert.deepEqual(await samples(lzw, 'in.tif', 'RGB', 8), await samples(photo8, 'in.png', 'RGB', 8));

  const lossy = await post('/convert?type=tiff&tiffcompression=jpeg&quality=80', photo8);
  assert.match(await identify(lossy, 'in.tif', '%[compression]'), /^JPEG/);
  assert.ok(lossy.length < tiff.length / 3, 'JPEG-in-TIFF is the small, lossy one');
});

test('16-bit PNG stays 16-bit through convert and resize', { skip: missing }, async () => {
  const same = await post('/convert?type=png', photo16);
  assert.match(await identify(same, 'in.png', '%z'), /^16/);
  assert.deepEqual(await samples(same, 'in.png', 'RGB', 16), await samples(photo16, 'in.png', 'RGB', 16));
  const small = await post('/resize?width=160&type=png', photo16);
  assert.match(await identify(small, 'in.png', '%z %wx%h'), /^16 160x100/);
  // Not 8-bit values scaled up: the low byte carries information.
  assert.ok((await samples(small, 'in.png', 'RGB', 16)).some((v) => v % 257 !== 0));
});

test('grey stays grey in JPEG, PNG and TIFF, 16-bit grey too; a coloured result stays colour', { skip: missing }, async () => {
  const grey = await magick(photo8, 'in.png', 'out.jpg', ['-colorspace', 'Gray', '-quality', '95']);
  for (const type of ['jpeg', 'png', 'tiff'] as const) {
    const out = await post(`/resize?width=160&type=${type}`, grey, 'image/jpeg');
    assert.match(await identify(out, `in.${type === 'jpeg' ? 'jpg' : type === 'tiff' ? 'tif' : 'png'}`, '%[channels]'), /^gray/, type);
  }
  // The pixels against ImageMagick's own resize of the same grey photograph.
  const png = await post('/resize?width=160&type=png', grey, 'image/jpeg');
  const ours = await samples(png, 'in.png', 'GRAY', 8);
  const theirs = await samples(await magick(grey, 'in.jpg', 'out.png', ['-resize', '160x100']), 'in.png', 'GRAY', 8);
  const mse = ours.reduce((sum, v, i) => sum + (v - theirs[i]!) ** 2, 0) / ours.length;
  assert.ok(10 * Math.log10(255 ** 2 / mse) > 35, 'grey resize within 35 dB of ImageMagick');

  const grey16 = await magick(photo16, 'in.png', 'out.png', ['-colorspace', 'Gray', '-depth', '16']);
  const out16 = await post('/convert?type=png', grey16);
  assert.match(await identify(out16, 'in.png', '%z %[channels]'), /^16 gray/);
  assert.deepEqual(await samples(out16, 'in.png', 'GRAY', 16), await samples(grey16, 'in.png', 'GRAY', 16));

  const tinted = await post('/tint?color=255,120,0&type=png', grey, 'image/jpeg');
  assert.match(await identify(tinted, 'in.png', '%[channels]'), /^srgb/, 'a tinted grey photo is written in colour');
});

test('a non-sRGB profile is kept where the format carries it, and converted as lcms does for GIF', { skip: missing }, async () => {
  // Few flat colours, so GIF's palette is exact and only the colour conversion is measured.
  const swatches = await magick(photo8, 'in.png', 'out.png', ['-posterize', '3', '-resize', '64x40!', '-filter', 'point', '-resize', '320x200!']);
  const adobe = await magick(swatches, 'in.png', 'out.png', ['-profile', SRGB, '-profile', ADOBE_RGB]);
  const reference = await samples(await magick(adobe, 'in.png', 'out.png', ['-profile', SRGB]), 'in.png', 'RGB', 8);

  // ImageMagick 6 reads no AVIF profile: libheif's box, as sharp reports it, stands in for AVIF.
  const avif = await post('/convert?type=avif', adobe);
  assert.match((await sharp(avif).metadata()).icc?.toString('latin1') ?? '', /compatibleWithAdobeRGB|Adobe/);
  for (const type of ['png', 'jpeg', 'webp', 'tiff'] as const) {
    const out = await post(`/convert?type=${type}&quality=100`, adobe);
    const name = `in.${type === 'jpeg' ? 'jpg' : type === 'tiff' ? 'tif' : type}`;
    assert.match(await identify(out, name, '%[profile:icc]'), /Adobe|compatible/i, `${type} keeps the Adobe RGB profile`);
  }
  const gif = await post('/convert?type=gif', adobe);
  assert.equal(await identify(gif, 'in.gif', '%[profile:icc]'), '', 'GIF carries no profile');
  // The mean and 99th percentile: a few pixels take a neighbouring palette entry.
  const { mean, p99 } = meanDeltaE(await samples(gif, 'in.gif', 'RGB', 8), reference);
  assert.ok(mean < 1.5 && p99 < 10, `GIF converted to sRGB as lcms does: mean ΔE76 ${mean.toFixed(2)}, p99 ${p99.toFixed(2)}`);
  // The old behaviour, for contrast: Adobe RGB numbers written as if they were sRGB are far off.
  const unconverted = meanDeltaE(await samples(adobe, 'in.png', 'RGB', 8), reference);
  assert.ok(unconverted.mean > 3 * mean + 1, `untouched Adobe RGB values are ΔE ${unconverted.mean.toFixed(2)} away`);
});

test('a HEIC\'s profile (decoded by libheif outside libvips) is kept or converted like an upload\'s', { skip: missing || missingTools('heifEnc') }, async () => {
  // Saturated flat colours, where Adobe RGB and sRGB numbers differ most (a photo's mostly muted ones differ less).
  const swatches = await magick(photo8, 'in.png', 'out.png', ['-posterize', '3', '-resize', '64x40!', '-filter', 'point', '-resize', '320x200!']);
  const adobe = await magick(swatches, 'in.png', 'out.png', ['-profile', SRGB, '-profile', ADOBE_RGB]);
  const heic = await heifEncode(adobe, { quality: 95 });
  const reference = await samples(await magick(adobe, 'in.png', 'out.png', ['-profile', SRGB]), 'in.png', 'RGB', 8);
  for (const type of ['png', 'webp', 'jpeg'] as const) {
    const out = await post(`/convert?type=${type}&quality=95`, heic, 'image/heic');
    const name = `in.${type === 'jpeg' ? 'jpg' : type}`;
    assert.match(await identify(out, name, '%[profile:icc]'), /Adobe|compatible/i, `${type} carries the HEIC's profile`);
    // Converted by ImageMagick through the profile it carries: the same colours as the source's own conversion.
    const { mean } = meanDeltaE(await samples(await magick(out, name, 'out.png', ['-profile', SRGB]), 'in.png', 'RGB', 8), reference);
    // HEIC is lossy (4:2:0 chroma at the swatches' edges): 3, not 2.
    assert.ok(mean < 3, `${type}: mean ΔE76 ${mean.toFixed(2)} after conversion`);
  }
  // GIF against ImageMagick's conversion of the same decoded pixels (our PNG, which carries the profile), so the
  // HEIC's own compression is not counted; the unconverted numbers for contrast.
  const png = await post('/convert?type=png', heic, 'image/heic');
  const fromSamePixels = await samples(await magick(png, 'in.png', 'out.png', ['-profile', SRGB]), 'in.png', 'RGB', 8);
  const gif = await post('/convert?type=gif', heic, 'image/heic');
  assert.equal(await identify(gif, 'in.gif', '%[profile:icc]'), '');
  const { mean } = meanDeltaE(await samples(gif, 'in.gif', 'RGB', 8), fromSamePixels);
  const unconverted = meanDeltaE(await samples(png, 'in.png', 'RGB', 8), fromSamePixels).mean;
  assert.ok(mean < 1.5 && mean < unconverted / 2, `GIF from HEIC converted to sRGB: mean ΔE76 ${mean.toFixed(2)} (unconverted ${unconverted.toFixed(2)})`);
});

test('CMYK with an embedded profile comes out within ΔE76 2 of ImageMagick/lcms (perceptual, black point compensation)', { skip: missing }, async () => {
  const cmyk = await magick(photo8, 'in.png', 'out.jpg', ['-profile', SRGB, '-profile', CMYK_SWOP, '-quality', '95']);
  assert.match(await identify(cmyk, 'in.jpg', '%[colorspace]'), /^CMYK/);
  // libvips converts with black point compensation, as Photoshop does by default; ImageMagick needs it asked for
  // (without it, this photo's mean is about ΔE 4: its shadows stay at SWOP's dark grey).
  const reference = await samples(await magick(cmyk, 'in.jpg', 'out.png', ['-intent', 'Perceptual', '-black-point-compensation', '-profile', SRGB]), 'in.png', 'RGB', 8);
  const out = await post('/convert?type=png', cmyk, 'image/jpeg');
  const { mean, max } = meanDeltaE(await samples(out, 'in.png', 'RGB', 8), reference);
  assert.ok(mean <= 2, `mean ΔE76 ${mean.toFixed(2)} (max ${max.toFixed(2)})`);
});

test('norotation keeps the pixels as stored and writes their Orientation tag with them, and nothing else of the EXIF', { skip: missing }, async () => {
  // The tagged upload: EXIF Orientation 6 and a GPS position (sharp writes it; ImageMagick confirms it below).
  const tagged = await sharp(photo8).withMetadata({ orientation: 6 }).withExifMerge({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } }).jpeg({ quality: 95 }).toBuffer();
  assert.equal(await identify(tagged, 'in.jpg', '%[orientation] %[EXIF:GPSLatitudeRef]'), 'RightTop N');
  assert.deepEqual(exifTags(tagged), { orientation: 6, gps: true }, 'the reader sees what ImageMagick sees');
  for (const type of ['jpeg', 'png', 'webp'] as const) {
    const kept = await post(`/resize?width=160&norotation=true&type=${type}`, tagged, 'image/jpeg');
    const name = `in.${type === 'jpeg' ? 'jpg' : type}`;
    assert.equal(await identify(kept, name, '%wx%h'), '160x100', type);
    assert.deepEqual(exifTags(kept), { orientation: 6, gps: false }, type);
  }
  const applied = await post('/resize?width=100', tagged, 'image/jpeg');
  assert.match(await identify(applied, 'in.jpg', '%wx%h %[orientation]'), /^100x160 (Undefined|TopLeft)$/);
});

test('PNG uses adaptive row filters: within 10% of ImageMagick\'s size at the same zlib level', { skip: missing }, async () => {
  for (const level of [6, 9]) {
    const ours = await post(`/convert?type=png&compression=${level}`, photo8);
    // ImageMagick's PNG quality: tens digit the zlib level, units digit 5 = adaptive filtering.
    const theirs = await magick(photo8, 'in.png', 'out.png', ['-quality', `${level}5`, '-strip']);
    const ratio = ours.length / theirs.length;
    assert.ok(ratio > 0.9 && ratio < 1.1, `level ${level}: ${ours.length} bytes against ImageMagick's ${theirs.length} (${ratio.toFixed(3)})`);
    assert.deepEqual(await samples(ours, 'in.png', 'RGB', 8), await samples(photo8, 'in.png', 'RGB', 8));
  }
});
