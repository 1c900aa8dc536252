/** Logs carry what operators need and never secrets or image bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { photo } from '../helpers/images.js';
import { postFile, postRaw, testApp } from '../helpers/http.js';

test('request logs redact key= and sign= and never contain image bytes or the API-Key header', async () => {
  const lines: string[] = [];
  const app = await testApp({ logger: { level: 'info', stream: { write: (line) => lines.push(line) } } });
  const input = await photo(64, 48);
  await postFile(app, '/?key=s3cret-key&sign=s3cret-sign', 'img', input, { 'api-key': 'header-s3cret' });
  await postRaw(app, '/resize?width=abc&key=s3cret-key', input);
  await app.close();
  const log = lines.join('');
  assert.match(log, /"url":"\/\?key=\[redacted\]&sign=\[redacted\]"/);
  assert.match(log, /"code":"PP_INVALID_PARAM"/, 'rejections are logged with their code');
  assert.doesNotMatch(log, /s3cret/);
  assert.ok(!log.includes(input.subarray(200, 260).toString('base64')), 'no image bytes (base64)');
  assert.ok(!log.includes(input.subarray(200, 260).toString('latin1')), 'no image bytes (raw)');
});

test('an animation declaring more frames than allowed is refused from the header', async () => {
  const frames = await Promise.all([0, 1, 2, 3].map((i) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 60, g: 0, b: 0 } } }).png().toBuffer()));
  const gif = await sharp(frames, { join: { animated: true } }).gif().toBuffer();
  const app = await testApp({ limits: { maxFrames: 3 } });
  const response = await postFile(app, '/', 'img', gif);
  assert.equal(response.statusCode, 413);
  assert.equal(response.json().detail, 'Image declares 4 frames, over the limit of 3');
  const animation = await testApp({ limits: { maxAnimationPixels: 200 } });
  const spread = await postFile(animation, '/', 'img', gif);
  assert.equal(spread.json().detail, 'Animation has 256 pixels over 4 frames, over the limit of 200');
  await Promise.all([app.close(), animation.close()]);
});
