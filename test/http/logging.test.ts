/** Logs carry what operators need and never secrets or image bytes. */
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import sharp from 'sharp';
import { redactUrl } from '../../src/http/logging.js';
import { photo } from '../../testkit/images.js';
import { postFile, postRaw, testApp } from '../../testkit/http.js';

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

test('redaction reads parameter names as the query parsers do: decoded, any case, any split, every copy', () => {
  const cases: [string, string][] = [
    ['/?key=s3cret&sign=s3cret', '/?key=[redacted]&sign=[redacted]'],
    ['/resize?width=1&k%65y=s3cret', '/resize?width=1&k%65y=[redacted]'],
    ['/?%6Bey=s3cret&%6b%65%79=s3cret', '/?%6Bey=[redacted]&%6b%65%79=[redacted]'],
    ['/?si%67n=s3cret&width=1', '/?si%67n=[redacted]&width=1'],
    ['/?key=s3cret-one&key=s3cret-two', '/?key=[redacted]&key=[redacted]'],
    ['/?KEY=s3cret&Sign=s3cret', '/?KEY=[redacted]&Sign=[redacted]'],
    // Fastify's router starts the query at `#` too, and a value runs to the next `&`, past `#` and `?`.
    ['/resize#key=s3cret', '/resize#key=[redacted]'],
    ['/?width=1&key=s3cret#s3cret?s3cret&x=1', '/?width=1&key=[redacted]&x=1'],
    ['/?width=1?sign=s3cret', '/?width=1?sign=[redacted]'],
    ['/?key+=s3cret&%20sign=s3cret', '/?key+=[redacted]&%20sign=[redacted]'],
    ['/?monkey=1&keys=1&signature=1&key', '/?monkey=1&keys=1&signature=1&key'],
    ['/resize?width=1', '/resize?width=1'],
  ];
  for (const [url, expected] of cases) assert.equal(redactUrl(url), expected, url);
});

test('a key in a percent-encoded parameter name is accepted as the key and never logged', async () => {
  const lines: string[] = [];
  const key = 'api-key-s3cret-0123456789';
  const app = await testApp({ access: { apiKey: key }, logger: { level: 'info', stream: { write: (line) => lines.push(line) } } });
  const input = await photo(64, 48);
  for (const name of ['k%65y', '%6Bey', '%6b%65%79']) {
    const response = await postRaw(app, `/resize?width=10&${name}=${key}`, input);
    assert.equal(response.statusCode, 200, `${name} is read as key: ${response.body}`);
  }
  await postRaw(app, `/resize?width=10&si%67n=s3cret-sign&key=${key}&key=${key}`, input);
  // inject() drops a fragment; a raw client can send one, and Fastify then reads the query from the `#`.
  await app.listen({ host: '127.0.0.1', port: 0 });
  const fragment = await new Promise<string>((resolve) => {
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1', () => {
      socket.write(`POST /resize#width=10&key=${key} HTTP/1.1\r\nHost: a\r\nContent-Type: image/jpeg\r\nContent-Length: ${input.length}\r\nConnection: close\r\n\r\n`);
      socket.write(input);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
  });
  assert.match(fragment, /^HTTP\/1\.1 200 /, 'the key after # is read as the key');
  await app.close();
  const log = lines.join('');
  assert.match(log, /"url":"\/resize\?width=10&k%65y=\[redacted\]"/);
  assert.match(log, /"url":"\/resize\?width=10&si%67n=\[redacted\]&key=\[redacted\]&key=\[redacted\]"/);
  assert.match(log, /"url":"\/resize#width=10&key=\[redacted\]"/);
  assert.doesNotMatch(log, /s3cret/);
});
