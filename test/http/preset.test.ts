/**
 * Presets: named pipelines from the configuration, checked at start-up (a bad one stops the built server with a clear
 * message), served at POST /preset/{name} and usable as a pipeline step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { run } from '../../src/core/pipeline.js';
import { parsePresets, type Presets } from '../../src/core/presets.js';
import { buildApp } from '../../src/http/app.js';
import { configFromEnv } from '../../src/process/config.js';
import { assertProblem, postFile, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr } from '../../testkit/images.js';
import { startServer } from '../../testkit/server-process.js';

const avatarSteps = [
  { operation: 'smartcrop', params: { width: 96, height: 96 } },
  { operation: 'convert', params: { type: 'png' } },
];
const presets: Presets = parsePresets(JSON.stringify({
  avatar: avatarSteps,
  small: [{ operation: 'fit', params: { width: 64, height: 64, type: 'png' } }],
  corner: [{ operation: 'extract', params: { areawidth: 50, areaheight: 50, top: 500, left: 0 } }],
}), 'test');

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp({ presets });
  input = await photo(320, 240);
});
after(() => app.close());

const pipelineUrl = (steps: unknown) => `/pipeline?operations=${encodeURIComponent(JSON.stringify(steps))}`;

test('POST /preset/{name} runs the preset: the pixels of its steps, and of an independent reference', async () => {
  const response = await postFile(app, '/preset/avatar', 'file', input);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/png');
  assert.equal(response.headers['image-width'], '96');
  // The same steps sent as a pipeline: the same bytes, so the same ETag.
  const direct = await postRaw(app, pipelineUrl(avatarSteps), input);
  assert.deepEqual(response.rawPayload, direct.rawPayload);
  assert.equal(response.headers.etag, direct.headers.etag);
  // libvips' attention crop, asked of sharp directly.
  const reference = await sharp(input).resize(96, 96, { fit: 'cover', position: sharp.strategy.attention }).png().toBuffer();
  const similarity = psnr(await decode(response.rawPayload), await decode(reference));
  assert.ok(similarity > 35, `close to sharp's own attention crop: ${similarity.toFixed(1)} dB`);
});

test('a preset is a pipeline step, {"operation":"preset","params":{"name":…}}, with other steps around it', async () => {
  const withPreset = await postRaw(app, pipelineUrl([{ operation: 'preset', params: { name: 'small' } }, { operation: 'rotate', params: { rotate: 90 } }]), input);
  const spelledOut = await postRaw(app, pipelineUrl([{ operation: 'fit', params: { width: 64, height: 64, type: 'png' } }, { operation: 'rotate', params: { rotate: 90 } }]), input);
  assert.equal(withPreset.statusCode, 200, withPreset.body);
  assert.equal(withPreset.headers['image-width'], '48');
  assert.equal(withPreset.headers['image-height'], '64');
  assert.equal(psnr(await decode(withPreset.rawPayload), await decode(spelledOut.rawPayload)), Infinity);
  // The library's run() takes presets too.
  const ran = await run(input, [{ operation: 'preset', params: { name: 'small' } }], { presets });
  assert.equal(ran.width, 64);
});

test('unknown presets: 404 on the route, 400 in a pipeline naming the configured ones; a preset step takes only name', async () => {
  assertProblem(await postRaw(app, '/preset/nope', input), 404, 'PP_NOT_FOUND', 'No preset named "nope"');
  assertProblem(await postRaw(app, pipelineUrl([{ operation: 'preset', params: { name: 'nope' } }]), input), 400, 'PP_INVALID_PIPELINE',
    'Step 1 (preset): unknown preset "nope"; configured: avatar, small, corner');
  assertProblem(await postRaw(app, pipelineUrl([{ operation: 'preset', params: { name: 'small', width: 10 } }]), input), 400, 'PP_INVALID_PIPELINE',
    'Step 1 (preset): a preset step takes only name, not width');
  assertProblem(await postRaw(app, pipelineUrl([{ operation: 'preset' }]), input), 400, 'PP_INVALID_PIPELINE', 'Step 1 (preset): params.name must name a preset');
  const bare = await testApp();
  try {
    assertProblem(await postRaw(bare, pipelineUrl([{ operation: 'preset', params: { name: 'small' } }]), input), 400, 'PP_INVALID_PIPELINE', /none are configured \(PP_PRESETS\)/);
  } finally {
    await bare.close();
  }
});

test("a preset's steps count towards the step limit, its errors name it, and ignore_failure reaches its steps", async () => {
  const eleven = Array.from({ length: 11 }, () => ({ operation: 'preset', params: { name: 'avatar' } }));
  assertProblem(await postRaw(app, pipelineUrl(eleven.slice(0, 6)), input), 400, 'PP_INVALID_PIPELINE',
    'Maximum allowed pipeline operations exceeded: 12 > 10 (counting the steps of its presets)');
  // 500 rows down is outside a 240-row image: found only once the image is read.
  assertProblem(await postRaw(app, '/preset/corner', input), 400, 'PP_INVALID_PARAM', /inside the 320x240 image/);
  const inPipeline = await postRaw(app, pipelineUrl([{ operation: 'autorotate' }, { operation: 'preset', params: { name: 'corner' } }]), input);
  assert.match(inPipeline.json().detail, /^Step 2 \(preset corner: extract\): /);
  const skipped = await postRaw(app, pipelineUrl([{ operation: 'preset', params: { name: 'corner' }, ignore_failure: true }, { operation: 'convert', params: { type: 'png' } }]), input);
  assert.equal(skipped.statusCode, 200, skipped.body);
  assert.equal(skipped.headers['image-width'], '320');
});

test('the query of /preset/{name} is checked and not applied; GET is a 405; /openapi.json lists the presets', async () => {
  const response = await postRaw(app, '/preset/small?width=300', input);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['image-width'], '64');
  assert.equal(response.headers['pp-ignored-params'], 'width');
  assertProblem(await postRaw(app, '/preset/small?width=abc', input), 400, 'PP_INVALID_PARAM', /width/);
  const get = await app.inject({ method: 'GET', url: '/preset/small' });
  assert.equal(get.statusCode, 405);
  assert.equal(get.headers.allow, 'POST');
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const post = document.paths['/preset/{name}'].post;
  assert.deepEqual(post.parameters[0].schema.enum, ['avatar', 'small', 'corner']);
  assert.match(post.description, /`small` = `\[\{"operation":"fit"/);
});

test('bad presets are refused when the app is built, with a message naming the preset and the fault', async () => {
  const refused = async (config: unknown, message: RegExp) => {
    await assert.rejects(buildApp({ presets: parsePresets(JSON.stringify(config), 'PP_PRESETS') }), message);
  };
  await refused({ a: [{ operation: 'fit', params: { width: 10 } }] }, /^Error: Invalid preset "a": Step 1 \(fit\): Missing required params: height, width$/);
  await refused({ a: [{ operation: 'resize', params: { width: 10 } }, { operation: 'sparkle' }] }, /Invalid preset "a": Unsupported operation name: sparkle/);
  await refused({ a: [{ operation: 'resize', params: { widht: 10, width: 10 } }] }, /Invalid preset "a": Step 1 \(resize\) does not use widht/);
  await refused({ a: [{ operation: 'resize', params: { width: -1e9 } }] }, /Invalid preset "a": Step 1 \(resize\): Expected non-negative integer/);
  await refused({ a: [{ operation: 'preset', params: { name: 'b' } }], b: [{ operation: 'autorotate' }] }, /Invalid preset "a": a preset cannot contain a preset step/);
  await refused({ a: Array.from({ length: 11 }, () => ({ operation: 'autorotate' })) }, /Invalid preset "a": Maximum allowed pipeline operations exceeded: 11 > 10/);
  assert.throws(() => parsePresets('{"a": [', 'PP_PRESETS'), /^Error: PP_PRESETS is not valid JSON/);
  assert.throws(() => parsePresets('[]', 'PP_PRESETS'), /PP_PRESETS must be a JSON object of preset names to pipelines/);
  assert.throws(() => parsePresets('{"../x": []}', 'PP_PRESETS'), /preset name "..\/x" must be/);
  assert.throws(() => parsePresets('{"a": {"operation": "fit"}}', 'PP_PRESETS'), /preset "a": Invalid operations: expected a JSON array/);
  assert.throws(() => parsePresets('{"a": []}', 'PP_PRESETS'), /preset "a" has no steps/);
  assert.throws(() => configFromEnv({ PP_PRESETS: '{"a":[{"operation":"autorotate"}]}', PP_PRESETS_FILE: '/nonexistent/presets.json' }), /PP_PRESETS_FILE "\/nonexistent\/presets.json" cannot be read/);
});

test('the built server: a bad preset stops it with exit 1 and one clear line; PP_PRESETS_FILE presets are served', { timeout: 120_000 }, async () => {
  // The default, supervised start: the supervisor checks the configuration before starting any worker.
  await assert.rejects(
    startServer({ PP_PRESETS: JSON.stringify({ thumb: [{ operation: 'fit', params: { width: 128 } }] }) }),
    (err: Error) => {
      assert.match(err.message, /^server exited with 1: /);
      assert.match(err.message, /pixelpress: invalid configuration: Invalid preset "thumb": Step 1 \(fit\): Missing required params: height, width\n/);
      assert.doesNotMatch(err.message, /    at /, 'no stack trace');
      return true;
    },
  );
  const dir = mkdtempSync(join(tmpdir(), 'pixelpress-presets-'));
  const file = join(dir, 'presets.json');
  writeFileSync(file, JSON.stringify({ small: [{ operation: 'fit', params: { width: 64, height: 64, type: 'png' } }] }));
  const server = await startServer({ PP_PRESETS_FILE: file, PP_WORKERS: '1' });
  try {
    const response = await fetch(`${server.base}/preset/small`, { method: 'POST', body: new Uint8Array(input), headers: { 'content-type': 'image/jpeg' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('image-width'), '64');
    const expected = await postRaw(app, '/preset/small', input);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), expected.rawPayload);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
