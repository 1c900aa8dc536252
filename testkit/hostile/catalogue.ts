/**
 * The hostile-input catalogue: `hostileImages()` are image payloads, sent both as the multipart file (field img, with
 * `filename` and `contentType` on the part) and as the raw body; `hostileRequests()` are whole request bodies, with the
 * request's Content-Type (multipart boundary included). Nothing here imports the code under test.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';
import { photo } from '../images.js';
import { type Expectation, type HostileInput } from './expectations.js';
import { seededBytes } from '../prng.js';
import { pngClaiming, flatPng } from '../formats/png.js';
import { jpegClaiming, jpegWithComment, jpegBitFlipped } from '../formats/jpeg.js';
import { buildGif, manyFrameGif } from '../formats/gif.js';
import { type FormPart, BOUNDARY, buildMultipart } from '../formats/multipart.js';
import { svgs, clientErrors, svgzBomb, localPngPath } from './svg.js';

export interface HostileImageOptions {
  /** Where the SSRF SVG points; a test can pass a canary listener's URL to prove nothing connects. */
  ssrfUrl?: string;
}

/**
 * Image payloads that must never get a 5xx. Each is sent as the multipart file (field img) and as the raw body.
 * Pixel-limit expectations assume the default limits (50 MP input).
 */
export async function hostileImages(options: HostileImageOptions = {}): Promise<HostileInput[]> {
  const jpeg = await photo(320, 240);
  const svg = (name: string, text: string | Buffer, expect: Expectation): HostileInput => ({
    name,
    body: Buffer.isBuffer(text) ? text : Buffer.from(text),
    contentType: 'image/svg+xml',
    filename: 'x.svg',
    expect,
  });
  // An SVG that reaches for something outside itself: refused (4xx), or rendered without it (one flat colour).
  const noLeak: Expectation = {
    statuses: [200, ...clientErrors],
    blank: true,
    mime: 'image/png',
    documented: { status: 415, code: 'PP_UNSAFE_SVG' },
  };
  const localPng = localPngPath();

  const bomb = await flatPng(20000, 20000, [0x40, 0x80, 0xc0]);
  const inputs: HostileInput[] = [
    { name: 'empty body', body: Buffer.alloc(0), contentType: 'application/octet-stream', filename: 'empty.jpg', expect: { status: 400, code: 'PP_MISSING_FILE' } },
    { name: '1 KiB of random bytes', body: seededBytes(1024, 0xbadf00d), contentType: 'application/octet-stream', filename: 'noise.bin', expect: { status: 415, code: 'PP_UNSUPPORTED_MEDIA' } },
    {
      name: 'HTML sent as x.png (image/png)',
      body: Buffer.from('<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(document.domain)</script></body></html>'),
      contentType: 'image/png',
      filename: 'x.png',
      expect: { status: 415, code: 'PP_UNSUPPORTED_MEDIA' },
    },
    { name: 'truncated JPEG (first 40%)', body: jpeg.subarray(0, Math.floor(jpeg.length * 0.4)), contentType: 'image/jpeg', filename: 'cut.jpg', expect: { status: 422, code: 'PP_UNDECODABLE' } },
    {
      name: 'bit-flipped JPEG (entropy-coded data)',
      body: jpegBitFlipped(jpeg, 24, 0xf11b),
      contentType: 'image/jpeg',
      filename: 'flipped.jpg',
      expect: { statuses: [200, 422], mime: 'image/jpeg' },
    },
    { name: 'PNG whose IHDR claims 100000x100000', body: pngClaiming(100_000, 100_000), contentType: 'image/png', filename: 'claim.png', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    { name: `valid 20000x20000 PNG in ${(bomb.length / 1e6).toFixed(1)} MB`, body: bomb, contentType: 'image/png', filename: 'bomb.png', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    { name: 'JPEG whose SOF claims 65500x65500', body: jpegClaiming(jpeg, 65500, 65500), contentType: 'image/jpeg', filename: 'claim.jpg', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    // Just under the 50 MP limit, declared by a few KB: must fail fast on the missing data, not decode 49 MP of grey.
    { name: 'JPEG whose SOF claims 7000x7000 (49 MP, under the limit) over a 14 KB photo', body: jpegClaiming(jpeg, 7000, 7000), contentType: 'image/jpeg', filename: 'under.jpg', expect: { status: 422, code: 'PP_UNDECODABLE', withinMs: 2000 } },
    { name: 'PNG whose IHDR claims 7000x7000 (49 MP, under the limit) over a 64-byte IDAT', body: pngClaiming(7000, 7000), contentType: 'image/png', filename: 'under.png', expect: { status: 422, code: 'PP_UNDECODABLE', withinMs: 2000 } },
    {
      name: 'GIF with 3000 frames of 2x2',
      body: manyFrameGif(3000),
      contentType: 'image/gif',
      filename: 'frames.gif',
      expect: { statuses: [200, ...clientErrors], mime: 'image/gif', withinMs: 10_000 },
    },
    svg('SVG with an external entity (file:///etc/passwd)', svgs.externalEntity(), noLeak),
    svg('SVG with XInclude of file:///etc/passwd as text', svgs.xinclude(), noLeak),
    svg('SVG <image href="file:///etc/passwd">', svgs.fileImage('file:///etc/passwd'), noLeak),
    svg('SVG <image href="http://127.0.0.1:…/x.png"> (SSRF)', svgs.remoteImage(options.ssrfUrl ?? 'http://127.0.0.1:9/x.png'), noLeak),
    svg('SVG entity expansion (billion laughs)', svgs.billionLaughs(), {
      statuses: [200, ...clientErrors],
      mime: 'image/png',
      documented: { status: 415, code: 'PP_UNSAFE_SVG' },
    }),
    // A real local PNG when there is one, so a 200 that rendered it could not pass as blank.
    svg('gzip-compressed SVG (svgz) with <image> of a local file', zlib.gzipSync(svgs.fileImage(`file://${localPng ?? '/etc/passwd'}`)), noLeak),
    svg('SVG with a CSS-escaped url(file:///etc/passwd)', svgs.cssEscapedUrl('file:///etc/passwd'), noLeak),
    svg('gzip-compressed SVG (svgz) holding a 300 MB comment', await svgzBomb(300), { statuses: clientErrors }),
    svg('SVG with a 200000x200000 canvas', svgs.hugeCanvas(), { status: 413, code: 'PP_TOO_MANY_PIXELS' }),
    {
      name: 'polyglot: JPEG with <script> in a COM segment',
      body: jpegWithComment(jpeg, '*/=1;<html><body><script>alert(document.domain)</script></body></html><!--'),
      contentType: 'image/jpeg',
      filename: 'polyglot.jpg',
      expect: { status: 200, mime: 'image/jpeg' },
    },
    {
      name: 'polyglot: GIF with HTML in a comment extension',
      body: buildGif(4, 4, [[0, 1, 2, 3, 1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2]], { comment: '<html><script>alert(document.domain)</script></html>' }),
      contentType: 'image/gif',
      filename: 'polyglot.gif',
      expect: { status: 200, mime: 'image/gif' },
    },
  ];
  if (localPng) {
    inputs.splice(inputs.findIndex((input) => input.name.startsWith('SVG entity')), 0, svg('SVG <image> of a real local PNG (file://…/favicon-32x32.png)', svgs.fileImage(`file://${localPng}`), noLeak));
  }
  return inputs;
}

/** Whole request bodies with their Content-Type: multipart structure and request-type abuse. */
export async function hostileRequests(): Promise<HostileInput[]> {
  const jpeg = await photo(64, 48);
  const file = (name: string): FormPart => ({ name, data: jpeg, filename: 'a.jpg', contentType: 'image/jpeg' });
  const good = buildMultipart([file('img')]);
  const request = (name: string, form: { body: Buffer; contentType: string }, expect: Expectation): HostileInput => ({ name, ...form, expect });
  const mismatched = buildMultipart([file('img')], 'the-body-uses-this-boundary');
  return [
    request('multipart with no file part (text field only)', buildMultipart([{ name: 'note', data: 'hello' }]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart with no parts at all', buildMultipart([]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart with two files in img', buildMultipart([file('img'), file('img')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with files in img and image', buildMultipart([file('img'), file('image')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with files in file and img, text field between', buildMultipart([file('file'), { name: 'note', data: 'x' }, file('img')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with the file in the wrong field (upload)', buildMultipart([file('upload')]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart body truncated mid-file', { body: good.body.subarray(0, Math.floor(good.body.length * 0.6)), contentType: good.contentType }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart body truncated before the closing boundary', { body: good.body.subarray(0, good.body.length - 10), contentType: good.contentType }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart Content-Type boundary that does not match the body', { body: mismatched.body, contentType: `multipart/form-data; boundary=${BOUNDARY}` }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart Content-Type without a boundary', { body: good.body, contentType: 'multipart/form-data' }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('application/json with JSON', { body: Buffer.from(JSON.stringify({ image: 'data:image/png;base64,AAAA' })), contentType: 'application/json' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
    request('text/plain with text', { body: Buffer.from('just some text, not an image\n'), contentType: 'text/plain' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
    request('application/x-www-form-urlencoded', { body: Buffer.from('img=%FF%D8%FF%E0'), contentType: 'application/x-www-form-urlencoded' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
  ];
}

/** Largest per-channel spread (max - min) of the image flattened on white: 0 for one flat colour. */
export async function colourSpread(image: Buffer): Promise<number> {
  const { data, info } = await sharp(image).flatten({ background: '#ffffff' }).raw().toBuffer({ resolveWithObject: true });
  let spread = 0;
  for (let c = 0; c < info.channels; c++) {
    let min = 255;
    let max = 0;
    for (let i = c; i < data.length; i += info.channels) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    spread = Math.max(spread, max - min);
  }
  return spread;
}
