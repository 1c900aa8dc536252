/**
 * Mutated HEIC, PDF, BMP and ICO files (seeded byte flips, truncations, inserted garbage): every answer is pixels of a
 * size within the limits or an ImageError with a 4xx code; never another exception, never past the time limit.
 */
import { prng as random } from '../../testkit/prng.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeDecoderPool, decodeToRaw, probeContainer } from '../../src/core/decoders/index.js';
import { isImageError } from '../../src/core/errors.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { photo } from '../../testkit/images.js';
import { artContent, buildPdf, heifEncode, magick, missingTools } from './tools.js';

const skip = missingTools('heifEnc', 'magick');
const limits: Limits = { ...defaultLimits, processTimeoutSeconds: 5 };
const clientErrors = new Set(['PP_UNDECODABLE', 'PP_UNSUPPORTED_MEDIA', 'PP_TOO_MANY_PIXELS', 'PP_INVALID_PARAM', 'PP_TIMEOUT']);
const bases: Record<string, Buffer> = {};
// PP_FUZZ_CASES runs more, e.g. 500 before a release.
const casesPerFormat = Number(process.env.PP_FUZZ_CASES ?? 40);

before(async () => {
  if (skip) return;
  const png = await photo(64, 48, 'png');
  bases.heic = await heifEncode(png, { thumb: 32 });
  bases.pdf = buildPdf([{ content: artContent(), compress: true }, { content: artContent(2) }]);
  bases.bmp = await magick(png, 'in.png', 'BMP3:out.bmp', ['-colors', '200', '-type', 'Palette', '-compress', 'RLE']);
  bases.ico = await magick(png, 'in.png', 'out.ico', ['-define', 'icon:auto-resize=48,16']);
});
after(() => closeDecoderPool());


function mutate(base: Buffer, seed: number): Buffer {
  const rnd = random(seed);
  const out = Buffer.from(base);
  switch (seed % 3) {
    case 0: // flip bytes, biased towards the header where lengths and offsets live
      for (let i = 0; i < 1 + Math.floor(rnd() * 8); i++) out[Math.floor(rnd() ** 3 * out.length)] = Math.floor(rnd() * 256);
      return out;
    case 1:
      return out.subarray(0, Math.floor(rnd() * out.length));
    default: {
      const at = Math.floor(rnd() ** 2 * out.length);
      return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))), out.subarray(at)]);
    }
  }
}

for (const format of ['heic', 'pdf', 'bmp', 'ico']) {
  test(`mutated ${format} files get pixels or a 4xx, nothing else`, { skip, timeout: 300_000 }, async () => {
    for (let seed = 1; seed <= casesPerFormat; seed++) {
      const input = mutate(bases[format]!, seed * 7919);
      const started = performance.now();
      try {
        await probeContainer(input, { limits });
        const image = await decodeToRaw(input, { limits, targetWidth: 32 });
        assert.ok(image.width * image.height <= limits.maxInputPixels);
      } catch (err) {
        assert.ok(isImageError(err) && clientErrors.has(err.code), `${format} seed ${seed * 7919}: ${isImageError(err) ? err.code : String(err)}`);
      }
      assert.ok(performance.now() - started < (limits.processTimeoutSeconds + 2) * 1000, `${format} seed ${seed * 7919} took too long`);
    }
  });
}
