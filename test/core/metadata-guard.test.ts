/**
 * The metadata guard on hand-built files: PNG text/ICC/EXIF bombs (inflated and raw, one huge chunk and many that
 * add up), the chunk count, truncated and corrupt tables, and the raw metadata of WebP, JPEG and TIFF. Every bomb
 * is also shown to be a real file libvips reads, so the guard is refusing what libvips would have inflated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { ImageError } from '../../src/core/errors.js';
import { embedIccInJpeg } from '../../src/core/icc.js';
import { defaultLimits } from '../../src/core/limits.js';
import { assertSafeMetadata, MAX_PNG_METADATA_CHUNKS } from '../../src/core/metadata-guard.js';
import { basePng, deflatedRun, eXIf, iCCP, iccLike, iTXt, tEXt, withChunks, zTXt, zTXtBomb } from '../../testkit/png-chunks.js';

const MiB = 1024 * 1024;
const limits = { maxMetadataBytes: defaultLimits.maxMetadataBytes };
const base = await basePng();

/** Rejects with PP_METADATA_TOO_LARGE and a detail matching `detail`; returns the detail. */
async function assertRefused(data: Buffer, detail: RegExp, options = limits): Promise<string> {
  let seen = '';
  await assert.rejects(assertSafeMetadata(data, options), (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, 'PP_METADATA_TOO_LARGE');
    assert.match(err.detail, detail);
    seen = err.detail;
    return true;
  });
  return seen;
}

test('the default limit is the 8 MiB these tests are written against', () => {
  assert.equal(limits.maxMetadataBytes, 8 * MiB);
});

test('the issue\'s bomb: 50 zTXt chunks of 20 MB each (about 1 MB on the wire) are refused at the first chunk, quickly', async () => {
  const bomb = zTXtBomb(base, 50, 20 * MiB);
  assert.ok(bomb.length < 1.1 * MiB, `the bomb is small on the wire (${bomb.length} bytes)`);
  const start = performance.now();
  await assertRefused(bomb, /^PNG metadata is over the limit of 8388608 bytes: zTXt chunk 1 of \d+ bytes inflates to more than 8388608 bytes$/);
  // Inflating stops at the 8 MiB cap (~10-20 ms here); inflating all 1 GB would take seconds. 2 s is for a loaded machine.
  assert.ok(performance.now() - start < 2_000, `took ${(performance.now() - start).toFixed(0)} ms`);
});

test('chunks each under the limit are refused once their running total passes it, naming what came before', async () => {
  const stream = deflatedRun(3 * MiB);
  const png = withChunks(base, [zTXt('a', stream), zTXt('b', stream), zTXt('c', stream)]);
  // Each chunk is its 3 MiB of text plus 3 header bytes (keyword, NUL, method).
  await assertRefused(png, new RegExp(`zTXt chunk 3 of ${stream.length + 3} bytes inflates to more than ${8 * MiB - 2 * (3 * MiB + 3)} bytes, after ${2 * (3 * MiB + 3)} bytes in earlier chunks$`));
  // Two of them fit.
  await assertSafeMetadata(withChunks(base, [zTXt('a', stream), zTXt('b', stream)]), limits);
});

test('the limit is the one passed in', async () => {
  const png = withChunks(base, [zTXt('a', deflatedRun(3 * MiB))]);
  await assertSafeMetadata(png, limits);
  await assertRefused(png, /over the limit of 1048576 bytes: zTXt chunk 1/, { maxMetadataBytes: MiB });
});

test('compressed iTXt is inflated and counted; uncompressed iTXt counts its raw size', async () => {
  await assertRefused(withChunks(base, [iTXt('XML:com.adobe.xmp', deflatedRun(20 * MiB), true)]), /: iTXt chunk 1 of \d+ bytes inflates to more than 8388608 bytes$/);
  const plain = Buffer.alloc(9 * MiB, 0x41);
  // The keyword's 17 bytes, then NUL, flag, method, "en", NUL, NUL.
  await assertRefused(withChunks(base, [iTXt('XML:com.adobe.xmp', plain, false)]), new RegExp(`: iTXt chunk 1 holds ${plain.length + 17 + 7} bytes$`));
});

test('an iCCP profile that inflates past the limit is refused', async () => {
  const profile = iccLike(20 * MiB);
  await assertRefused(withChunks(base, [iCCP('icc', zlib.deflateSync(profile, { level: 9 }))]), /: iCCP chunk 1 of \d+ bytes inflates to more than 8388608 bytes$/);
});

test('an eXIf chunk over the limit is refused by its raw size', async () => {
  const exif = Buffer.alloc(9 * MiB);
  exif.write('MM\0*\0\0\0\x08', 0, 'latin1');
  await assertRefused(withChunks(base, [eXIf(exif)]), new RegExp(`: eXIf chunk 1 holds ${exif.length} bytes$`));
});

test('tEXt chunks add up like the rest', async () => {
  const text = 'x'.repeat(3 * MiB);
  await assertRefused(withChunks(base, [tEXt('a', text), tEXt('b', text), tEXt('c', text)]), /: tEXt chunk 3 holds 3145730 bytes, after 6291460 bytes in earlier chunks$/);
});

test('at most 256 metadata chunks, however small', async () => {
  assert.equal(MAX_PNG_METADATA_CHUNKS, 256);
  const tiny = zTXt('Comment', zlib.deflateSync(Buffer.from('v')));
  await assertSafeMetadata(withChunks(base, Array(256).fill(tiny)), limits);
  const many = withChunks(base, Array(5_000).fill(tiny));
  // The file is real: libvips reads its text (sharp lists the first 50 comments).
  assert.equal((await sharp(many).metadata()).comments?.length, 50);
  await assertRefused(many, /^PNG has more than 256 metadata chunks \(text, ICC profile, EXIF\)$/);
});

test('chunks after IDAT count too: libspng (a system libvips may use it) reads them once the rows are decoded', async () => {
  await assertRefused(withChunks(base, [zTXt('late', deflatedRun(20 * MiB))], 'before-iend'), /: zTXt chunk 1 of \d+ bytes inflates to more than 8388608 bytes$/);
});

test('streams that break after inflating still count what came out: libpng inflates that much before finding the fault', async () => {
  // Each inflates 5 MiB, under the limit alone, so only the running total can refuse them: counting a broken stream
  // as nothing would let any number through.
  const stream = Buffer.from(deflatedRun(5 * MiB));
  stream.writeUInt32BE(stream.readUInt32BE(stream.length - 4) ^ 0xffffffff, stream.length - 4); // wrong Adler-32
  assert.throws(() => zlib.inflateSync(stream), /incorrect data check/);
  // Cut short instead (the last 64 compressed bytes stand for ~64 KiB of text): the same.
  const cut = stream.subarray(0, stream.length - 64);
  assert.throws(() => zlib.inflateSync(cut), /unexpected end of file/);
  const cutProduces = zlib.inflateSync(cut, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length;
  for (const [broken, produces] of [[stream, 5 * MiB], [cut, cutProduces]] as const) {
    const png = withChunks(base, [zTXt('b1', broken), zTXt('b2', broken)]);
    const detail = await assertRefused(png, /: zTXt chunk 2 of \d+ bytes inflates to more than \d+ bytes, after \d+ bytes in earlier chunks$/);
    // The first chunk counted at least all it produced (plus "b1", NUL, method), though Node drops the last output
    // block of a failed inflate: the guard counts that block as a whole 64 KiB.
    const earlier = Number(/after (\d+) bytes/.exec(detail)?.[1]);
    assert.ok(earlier >= produces + 4 && earlier <= produces + 4 + 64 * 1024, `the broken first chunk (${produces} bytes) counted ${earlier} bytes`);
  }
});

test('a normal PNG with a few small text chunks and a real Display P3 (or sRGB) profile passes', async () => {
  for (const profile of ['p3', 'srgb'] as const) {
    const tagged = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c04020' } }).withIccProfile(profile).png().toBuffer();
    const xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>';
    const png = withChunks(tagged, [
      tEXt('Title', 'A test image'),
      tEXt('Software', 'pixelpress tests'),
      zTXt('Comment', zlib.deflateSync(Buffer.from('compressed comment '.repeat(200)))),
      iTXt('XML:com.adobe.xmp', Buffer.from(xmp), false),
    ]);
    const meta = await sharp(png).metadata();
    assert.ok(meta.icc && meta.icc.length > 400, `the fixture carries a real ${profile} profile`);
    assert.equal(meta.comments?.length, 3, 'and its text chunks (the XMP one goes to meta.xmp)');
    await assertSafeMetadata(png, limits);
  }
});

test('truncated or corrupt chunk tables do not throw from the guard (libvips refuses those itself)', async () => {
  const bomb = zTXtBomb(base, 50, 20 * MiB);
  const firstChunkEnd = 33 + 12 + bomb.readUInt32BE(33);
  const cases: Record<string, Buffer> = {
    'empty': Buffer.alloc(0),
    'signature only': bomb.subarray(0, 8),
    'cut inside a chunk header': bomb.subarray(0, 35),
    'cut inside the first zTXt': bomb.subarray(0, firstChunkEnd - 100),
    'cut before its CRC': bomb.subarray(0, firstChunkEnd - 2),
    'a length over 2^31': Buffer.concat([bomb.subarray(0, 33), Buffer.from([0xff, 0xff, 0xff, 0xff]), bomb.subarray(37)]),
    'a zTXt that is not zlib': withChunks(base, [zTXt('junk', Buffer.from('definitely not deflate'))]),
    // libpng refuses a keyword over 79 bytes before inflating, so only the stored bytes count.
    'a zTXt bomb with a 200-byte keyword': withChunks(base, [zTXt('k'.repeat(200), deflatedRun(20 * MiB))]),
  };
  for (const [name, data] of Object.entries(cases)) {
    await assert.doesNotReject(assertSafeMetadata(data, limits), name);
  }
  // The walk reads no further than a chunk that is whole, so a complete bomb chunk before the cut is still refused.
  await assertRefused(bomb.subarray(0, firstChunkEnd + 10), /zTXt chunk 1 /);
});

test('WebP: EXIF, ICCP and XMP chunks are summed raw', async () => {
  const pixels = sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } });
  const normal = await pixels.clone().withIccProfile('p3').withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>').webp().toBuffer();
  await assertSafeMetadata(normal, limits);
  const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><!--${'x'.repeat(9 * MiB)}--></x:xmpmeta>`;
  const heavy = await pixels.clone().withXmp(xmp).webp().toBuffer();
  assert.equal((await sharp(heavy).metadata()).xmp?.length, Buffer.byteLength(xmp));
  await assertRefused(heavy, new RegExp(`^WebP metadata is over the limit of 8388608 bytes: XMP chunk 1 holds ${Buffer.byteLength(xmp)} bytes$`));
});

test('JPEG: APPn and COM segments are summed raw, up to the first scan', async () => {
  const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).jpeg().toBuffer();
  const p3 = (await sharp(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withIccProfile('p3').jpeg().toBuffer()).metadata()).icc!;
  await assertSafeMetadata(embedIccInJpeg(plain, p3), limits);
  // A 9 MiB "profile" over 144 APP2 segments of at most 64 KiB each: no single one is large, the sum is.
  const heavy = embedIccInJpeg(plain, Buffer.alloc(9 * MiB, 1));
  await assertRefused(heavy, /^JPEG metadata is over the limit of 8388608 bytes: APP2 segment \d+ holds \d+ bytes, after \d+ bytes in earlier segments$/);
});

/**
 * A grey 8x8 TIFF whose first directory also has `tags` (tag number, byte count), each pointing at the same `blob`
 * appended after the pixels: the aliasing libtiff does not notice.
 */
function tiffWithTags(tags: readonly (readonly [number, number])[], blob: Buffer): Buffer {
  const entries: [number, number, number, number][] = [
    [256, 3, 1, 8], [257, 3, 1, 8], [258, 3, 1, 8], [259, 3, 1, 1], [262, 3, 1, 1],
    [273, 4, 1, -1], [277, 3, 1, 1], [278, 3, 1, 8], [279, 4, 1, 64],
    ...tags.map(([tag, count]): [number, number, number, number] => [tag, 7, count, -2]),
  ];
  entries.sort((a, b) => a[0] - b[0]);
  const pixelsAt = 8 + 2 + entries.length * 12 + 4;
  const head = Buffer.alloc(pixelsAt);
  head.write('II*\0', 0, 'latin1');
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    const v = value === -1 ? pixelsAt : value === -2 ? pixelsAt + 64 : value;
    if (type === 3) head.writeUInt16LE(v, at + 8);
    else head.writeUInt32LE(v, at + 8);
  });
  return Buffer.concat([head, Buffer.alloc(64, 128), blob]);
}

test('TIFF: tags that all point at the same bytes are refused; metadata tags are summed; a normal TIFF passes', async () => {
  const blob = Buffer.alloc(MiB, 0x41);
  // 100 private tags x 1 MiB: libtiff reads 100 MiB out of a 1 MiB file (2000 x 4 MiB took 2.3 s of CPU in metadata()).
  const aliased = tiffWithTags(Array.from({ length: 100 }, (_, i) => [40000 + i, blob.length] as const), blob);
  assert.equal((await sharp(aliased).metadata()).width, 8, 'the fixture is a TIFF libvips reads');
  await assertRefused(aliased, new RegExp(`^TIFF metadata is over the limit of 8388608 bytes: its first directory's tags point at ${100 * MiB} bytes of a ${aliased.length}-byte file`));
  // One tag per blob is honest, whatever its size relative to the limit... unless it is metadata libvips copies out.
  await assertSafeMetadata(tiffWithTags([[40000, blob.length]], blob), limits);
  const bigIcc = Buffer.alloc(9 * MiB);
  await assertRefused(tiffWithTags([[34675, bigIcc.length]], bigIcc), new RegExp(`^TIFF metadata is over the limit of 8388608 bytes: ICC tag 1 holds ${bigIcc.length} bytes$`));
  const normal = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#abcdef' } }).withIccProfile('p3').tiff().toBuffer();
  assert.ok((await sharp(normal).metadata()).icc, 'the normal TIFF carries a profile');
  await assertSafeMetadata(normal, limits);
});

test('formats without metadata bombs pass untouched', async () => {
  const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).gif().toBuffer();
  await assertSafeMetadata(gif, limits);
  await assertSafeMetadata(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), limits);
  await assertSafeMetadata(Buffer.from('not an image at all'), limits);
});
