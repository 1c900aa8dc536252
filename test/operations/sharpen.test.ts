/**
 * sharpen, an operation added as one file: it is a route, an OpenAPI path, a CLI command, a pipeline step and a library
 * operation, and its pixels match unsharp masking computed here from the definition (Lab lightness, Gaussian mask
 * cut at 10% of its peak, m1 below a difference of 2, m2 above, capped at +10 / -20), without sharp's sharpen.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { run } from '../../src/index.js';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { prng } from '../../testkit/prng.js';
import { rgbToLab, labToRgb } from '../../testkit/colour.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(320, 240, 'png');
});
after(() => app.close());

/** Unsharp masking of Lab lightness as defined above; edges repeat their last pixel. */
function referenceSharpen(src: Raw, sigma: number, m1: number, m2: number): Raw {
  const { width, height } = src;
  const lab = Array.from({ length: width * height }, (_, i) => rgbToLab(src.data[i * 3]!, src.data[i * 3 + 1]!, src.data[i * 3 + 2]!));
  const reach = Math.floor(sigma * Math.sqrt(2 * Math.log(10)));
  const weights = Array.from({ length: 2 * reach + 1 }, (_, k) => Math.exp(-((k - reach) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((sum, w) => sum + w, 0);
  const clampAt = (v: number, max: number) => Math.max(0, Math.min(max - 1, v));
  const pass = (values: Float64Array, horizontal: boolean) => {
    const out = new Float64Array(values.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -reach; k <= reach; k++) {
          const at = horizontal ? y * width + clampAt(x + k, width) : clampAt(y + k, height) * width + x;
          sum += weights[k + reach]! * values[at]!;
        }
        out[y * width + x] = sum / total;
      }
    }
    return out;
  };
  const lightness = Float64Array.from(lab, ([L]) => L);
  const blurred = pass(pass(lightness, true), false);
  const data = new Uint8Array(width * height * 3);
  lab.forEach(([L, a, b], i) => {
    const d = L - blurred[i]!;
    let y = Math.abs(d) < 2 ? d * m1 : Math.sign(d) * (2 * m1 + (Math.abs(d) - 2) * m2);
    y = Math.max(-20, Math.min(10, y));
    data.set(labToRgb(Math.max(0, Math.min(100, L + y)), a, b), i * 3);
  });
  return { data, width, height, channels: 3 };
}

/** The same comparison away from the border, where libvips and this reference extend the image differently. */
function interior(image: Raw, margin: number): Raw {
  const width = image.width - 2 * margin;
  const height = image.height - 2 * margin;
  const data = new Uint8Array(width * height * image.channels);
  for (let y = 0; y < height; y++) {
    const from = ((y + margin) * image.width + margin) * image.channels;
    data.set(image.data.subarray(from, from + width * image.channels), y * width * image.channels);
  }
  return { data, width, height, channels: image.channels };
}

test('POST /sharpen matches unsharp masking computed from its definition, and differs from the input', async () => {
  const response = await postRaw(app, '/sharpen?sigma=1.5&m1=1&m2=3&type=png', input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/png');
  const original = await decode(input);
  const reference = interior(referenceSharpen(original, 1.5, 1, 3), 8);
  const got = interior(await decode(response.rawPayload), 8);
  const toReference = psnr(got, reference);
  const toInput = psnr(got, interior(original, 8));
  // Measured 55.7 dB against 38.1 to the input: libvips works in 16-bit Lab with an integer mask, this reference in floats.
  assert.ok(toReference > 38, `close to the reference: ${toReference.toFixed(1)} dB`);
  assert.ok(toReference > toInput + 6, `nearer the reference (${toReference.toFixed(1)} dB) than the unsharpened input (${toInput.toFixed(1)} dB)`);
});

test('the same step gives the same pixels through the pipeline, the library and the CLI', async () => {
  const route = await postRaw(app, '/sharpen?sigma=1.5&type=png', input, 'image/png');
  const operations = encodeURIComponent(JSON.stringify([{ operation: 'sharpen', params: { sigma: 1.5, type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${operations}`, input, 'image/png');
  const library = await run(input, [{ operation: 'sharpen', params: { sigma: 1.5, type: 'png' } }]);
  const cli = await new Promise<Buffer>((resolve, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sharpen', '--sigma', '1.5', '--type', 'png'], { encoding: 'buffer', maxBuffer: 1 << 26 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin!.end(input);
  });
  const expected = await decode(route.rawPayload);
  for (const [name, output] of [['pipeline', pipeline.rawPayload], ['library', library.data], ['cli', cli]] as const) {
    assert.equal(psnr(await decode(output), expected), Infinity, name);
  }
});

/** sharp's mild sharpen, from its definition: each channel convolved with 32 at the centre, -1 around it, over 24. */
function referenceMild(src: Raw): Raw {
  const { width, height, channels } = src;
  const data = new Uint8Array(src.data.length);
  const at = (x: number, y: number, c: number) => src.data[(Math.max(0, Math.min(height - 1, y)) * width + Math.max(0, Math.min(width - 1, x))) * channels + c]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let ring = 0;
        for (const [dx, dy] of [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]] as const) ring += at(x + dx, y + dy, c);
        data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round((32 * at(x, y, c) - ring) / 24)));
      }
    }
  }
  return { data, width, height, channels };
}

test('without sigma it is the mild 3x3 sharpen, computed here from its kernel', async () => {
  // Texture, where a 3x3 kernel shows: on smooth gradients it changes next to nothing.
  const random = prng(7);
  const noise = await sharp(Buffer.from(Array.from({ length: 96 * 64 * 3 }, () => 64 + Math.floor(random() * 128))), { raw: { width: 96, height: 64, channels: 3 } }).png().toBuffer();
  const mild = await postRaw(app, '/sharpen?type=png', noise, 'image/png');
  assert.equal(mild.statusCode, 200, mild.body);
  const original = await decode(noise);
  const got = interior(await decode(mild.rawPayload), 2);
  const toReference = psnr(got, interior(referenceMild(original), 2));
  const toInput = psnr(got, interior(original, 2));
  // Measured 51.1 dB against 25.9 to the input: the rounding differs by one level here and there.
  assert.ok(toReference > 50, `matches the kernel: ${toReference.toFixed(1)} dB`);
  assert.ok(toReference > toInput + 6, `nearer the kernel's result (${toReference.toFixed(1)} dB) than the input (${toInput.toFixed(1)} dB)`);
});

test('its parameters are its own: sigma sharpens here, width is ignored and named, bad values are 400s naming the fix', async () => {
  const response = await postRaw(app, '/sharpen?sigma=1&width=10', input, 'image/png');
  assert.equal(response.headers['pp-ignored-params'], 'width');
  assert.equal(response.headers['image-width'], '320', 'width is not sharpen\'s: nothing is resized');
  assertProblem(await postRaw(app, '/sharpen?sigma=11', input, 'image/png'), 400, 'PP_INVALID_PARAM', /sigma/);
  assertProblem(await postRaw(app, '/sharpen?m2=4', input, 'image/png'), 400, 'PP_MISSING_PARAM', 'm1 and m2 need sigma: add sigma (e.g. sigma=1)');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'autorotate' }, { operation: 'sharpen', params: { m1: 2 } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), 400, 'PP_MISSING_PARAM', /^Step 2 \(sharpen\): m1 and m2 need sigma/);
});

test('it is documented: an OpenAPI path with its own parameters and a CLI help page', async () => {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { operationId: string; parameters: { name: string }[] } }> };
  const post = document.paths['/sharpen']?.post;
  assert.equal(post?.operationId, 'sharpen');
  assert.deepEqual(post.parameters.slice(0, 3).map((p) => p.name), ['sigma', 'm1', 'm2']);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'help', 'sharpen']);
  assert.match(stdout, /--m2 +Sharpening of jagged areas/);
});
