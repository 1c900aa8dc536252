/**
 * GET /playground in a real browser: Debian's chromium driven by playwright-core, against a server with an API key on a
 * real socket. A camera photograph is dropped on the page, resize then convert to WebP are added as a pipeline, and
 * what the page shows is checked against what the server sent and against sharp's own resize; the curl command the
 * page shows is run and must fetch the same bytes. Nothing may leave the origin, and the page must run under the
 * service's Content-Security-Policy without a violation or a console error.
 *
 * Run: node --import tsx --test test/browser/playground.test.ts
 * Without /usr/bin/chromium (or the mate-backgrounds photograph) the test is skipped, unless CI is set.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { decode, psnr } from '../../testkit/images.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
// A 1920x1280 Canon EOS 400D photograph from Debian's mate-backgrounds, which the filter tests use too.
const PHOTOGRAPH = '/usr/share/backgrounds/mate/nature/Storm.jpg';
// A space and an apostrophe, so the curl command's quoting is tested, not assumed.
const FILE_NAME = "Storm it's.jpg";
const API_KEY = 'playground key with spaces';
const STEP_TIMEOUT = 30_000;

const ready = existsSync(CHROMIUM) && existsSync(PHOTOGRAPH);
const skip = !ready && !process.env.CI ? `${CHROMIUM} or ${PHOTOGRAPH} not found (set CI=1 to turn this into a failure)` : false;

let app: FastifyInstance | undefined;
let browser: Browser | undefined;
let baseUrl = '';
let tempDir = '';

before(async () => {
  if (!ready) return;
  tempDir = await mkdtemp(join(tmpdir(), 'pp-playground-'));
  await copyFile(PHOTOGRAPH, join(tempDir, FILE_NAME));
  app = await buildApp({ access: { apiKey: API_KEY } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object', 'the app listens on a TCP socket');
  baseUrl = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT });
}, { timeout: 60_000 });

after(async () => {
  await browser?.close();
  await app?.close();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, { timeout: 30_000 });

interface Watch {
  page: Page;
  /** Every request the page made, by URL. */
  requests: string[];
  /** Console errors, page errors and CSP violations, in order. */
  problems: string[];
}

async function openPlayground(): Promise<Watch> {
  assert.ok(browser, 'the browser is running');
  const context = await browser.newContext({ viewport: { width: 1400, height: 1300 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const requests: string[] = [];
  const problems: string[] = [];
  // Anything off the origin is refused and recorded: the page must need no CDN, font or other host.
  await context.route((url) => url.origin !== baseUrl, (route) => {
    problems.push(`off-origin request ${route.request().url()}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  // Chromium reports a blocked script, style or image as a securitypolicyviolation event (and a console error).
  await page.exposeFunction('reportViolation', (text: string) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportViolation(text: string): void }).reportViolation(`${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const response = await page.goto(`${baseUrl}/playground`);
  assert.equal(response?.status(), 200, 'GET /playground answers 200 without the key');
  assert.match(response!.headers()['content-security-policy'] ?? '', /script-src 'self'(;|$)/, 'the page is served under the CSP');
  // The operation list is filled from /openapi.json once it has loaded.
  await page.locator('#operation option[value="resize"]').waitFor({ state: 'attached' }).catch((error: Error) => {
    throw new Error(`${error.message}\n${problems.join('\n')}`);
  });
  return { page, requests, problems };
}

/** Drops `path` on the drop zone as a browser does: a drop event whose DataTransfer carries the file. */
async function dropFile(page: Page, path: string, name: string, type: string): Promise<void> {
  const base64 = (await readFile(path)).toString('base64');
  const dataTransfer = await page.evaluateHandle(({ base64, name, type }) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type }));
    return transfer;
  }, { base64, name, type });
  await page.locator('#drop').dispatchEvent('drop', { dataTransfer });
}

/** Picks `operation`, fills its form and submits; returns the /pipeline response the page got. */
async function addStep(page: Page, operation: string, fields: Record<string, string>): Promise<Response> {
  await page.locator('#operation').selectOption(operation);
  for (const [name, value] of Object.entries(fields)) {
    const input = page.locator(`#param-${name}`);
    if (await input.evaluate((element) => element.tagName === 'SELECT')) await input.selectOption(value);
    else await input.fill(value);
  }
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/pipeline' && r.request().method() === 'POST').catch(async (error: Error) => {
      // Say why nothing was sent: the form's own validation, or the page's status line.
      const why = await page.evaluate(() => ({
        status: document.getElementById('status')!.textContent,
        invalid: [...document.querySelectorAll<HTMLInputElement>('#step-form :invalid')].map((e) => `${e.id || e.tagName}: ${e.validationMessage}`),
      }));
      throw new Error(`${error.message}\n${JSON.stringify(why)}`);
    }),
    page.locator('#add-step').click(),
  ]);
  // The page has shown the answer once its status line changes from "Running…".
  await page.waitForFunction(() => !document.getElementById('status')!.textContent!.startsWith('Running'));
  return response;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('/playground in chromium: drop a photograph, resize + convert as a pipeline, the shown curl command', { skip, timeout: 240_000 }, async () => {
  const { page, requests, problems } = await openPlayground();
  try {
    await dropFile(page, join(tempDir, FILE_NAME), FILE_NAME, 'image/jpeg');
    await page.locator('#input-info', { hasText: '1920 × 1280 px' }).waitFor();
    assert.match(await page.locator('#before').getAttribute('src') ?? '', /^blob:/, 'the original is previewed from a blob: URL');

    // Without the key the server refuses, and the page says so without adding the step.
    const refused = await addStep(page, 'resize', { width: '300' });
    assert.equal(refused.status(), 401);
    assert.match(await page.locator('#status').innerText(), /401 PP_UNAUTHORIZED: Invalid or missing API key/);
    assert.equal(await page.locator('#steps li').count(), 0);

    await page.locator('#key').fill(API_KEY);
    const first = await addStep(page, 'resize', { width: '300' });
    assert.equal(first.status(), 200, await first.text());
    assert.equal(first.request().headers()['api-key'], API_KEY, 'the key field is sent as the API-Key header');
    const second = await addStep(page, 'convert', { type: 'webp' });
    assert.equal(second.status(), 200, await second.text());

    // The request: imaginary's pipeline JSON in the query, the photograph as the raw body.
    const sentSteps = JSON.parse(new URL(second.url()).searchParams.get('operations')!);
    assert.deepEqual(sentSteps, [{ operation: 'resize', params: { width: 300 } }, { operation: 'convert', params: { type: 'webp' } }]);
    assert.equal(second.request().headers()['content-type'], 'image/jpeg');
    assert.equal(sha256(second.request().postDataBuffer()!), sha256(await readFile(PHOTOGRAPH)), 'the body is the file, byte for byte');
    assert.equal(await page.locator('#steps li').count(), 2);

    // The bytes the page got, as a user gets them: by clicking its download link. (Chromium does not keep a fetch's
    // body for playwright once the page has read it as a blob.) Decoded by sharp and compared with sharp's own resize.
    const download = page.locator('#download');
    assert.equal(await download.getAttribute('download'), "Storm it's-pixelpress.webp");
    const [saved] = await Promise.all([page.waitForEvent('download'), download.click()]);
    assert.equal(saved.suggestedFilename(), "Storm it's-pixelpress.webp");
    const body = await readFile(await saved.path());
    const headers = second.headers();
    assert.equal(body.length, Number(headers['content-length']), 'the download link holds as many bytes as the server sent');
    assert.equal(headers['content-type'], 'image/webp');
    const meta = await sharp(body).metadata();
    const reference = await sharp(PHOTOGRAPH).resize({ width: 300 }).webp().toBuffer({ resolveWithObject: true });
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', reference.info.width, reference.info.height]);
    assert.deepEqual([headers['image-width'], headers['image-height']], [String(meta.width), String(meta.height)]);
    const similarity = psnr(await decode(body), await decode(reference.data));
    assert.ok(similarity > 30, `the result looks like sharp's own 300 px WebP (PSNR ${similarity.toFixed(1)} dB)`);

    // What the page shows: format, size in bytes, dimensions it decoded itself, time, download.
    assert.match(await page.locator('#result-format').innerText(), /^WEBP \(image\/webp\)$/);
    assert.match(await page.locator('#result-bytes').innerText(), new RegExp(`^${body.length.toLocaleString('en')} bytes`));
    assert.equal(await page.locator('#result-dimensions').innerText(), `${meta.width} × ${meta.height} px`);
    const processMs = Math.round(Number(/process;dur=([\d.]+)/.exec(headers['server-timing'] ?? '')?.[1]));
    assert.ok(Number.isFinite(processMs), `Server-Timing: ${headers['server-timing']}`);
    assert.match(await page.locator('#result-time').innerText(), new RegExp(`^${processMs} ms processing on the server; \\d+ ms round trip`));
    const shown = await page.locator('#after').evaluate(async (element) => {
      const image = element as HTMLImageElement;
      await image.decode();
      return { src: image.src, width: image.naturalWidth, height: image.naturalHeight };
    });
    assert.match(shown.src, /^blob:/);
    assert.deepEqual([shown.width, shown.height], [meta.width, meta.height], 'the <img> decodes to the server\'s dimensions');
    assert.equal(await download.getAttribute('download'), "Storm it's-pixelpress.webp");

    // The curl command: quoted for a POSIX shell, the same URL, body, type and key; run as shown, it gets the same bytes.
    const curl = await page.locator('#curl').innerText();
    assert.ok(curl.startsWith(`curl --data-binary '@Storm it'\\''s.jpg' -H 'Content-Type: image/jpeg'`), curl);
    assert.ok(curl.includes(`-H 'API-Key: ${API_KEY}'`), curl);
    assert.ok(curl.includes(`-o 'Storm it'\\''s-pixelpress.webp'`), curl);
    assert.ok(curl.includes(`'${second.url()}'`), `the command names the URL the page called\n${curl}`);
    await promisify(execFile)('bash', ['-c', curl], { cwd: tempDir, timeout: 60_000 });
    const fetched = await readFile(join(tempDir, "Storm it's-pixelpress.webp"));
    assert.equal(sha256(fetched), sha256(body), 'the curl command fetches the bytes the page got');

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(tempDir, 'playground.png'), fullPage: true });
    const screenshot = await sharp(join(tempDir, 'playground.png')).metadata();
    assert.equal(screenshot.format, 'png');
    if (process.env.PP_SCREENSHOT_DIR) await copyFile(join(tempDir, 'playground.png'), join(process.env.PP_SCREENSHOT_DIR, 'playground.png'));

    assert.deepEqual(requests.filter((url) => new URL(url).origin !== baseUrl), [], 'no request left the origin');
    // The refused first try is the one expected console error: Chromium logs every failed fetch.
    const expected = problems.filter((line) => /status of 401/.test(line));
    assert.equal(expected.length, 1, problems.join('\n'));
    assert.deepEqual(problems.filter((line) => !expected.includes(line)), [], 'no page errors, console errors, CSP violations or off-origin requests');
  } finally {
    await page.context().close();
  }
});

test('/playground steps can be removed, and a bad parameter is explained by the server', { skip, timeout: 120_000 }, async () => {
  const { page, problems } = await openPlayground();
  try {
    await page.locator('#key').fill(API_KEY);
    await page.locator('#file').setInputFiles(join(tempDir, FILE_NAME));
    await page.locator('#input-info', { hasText: '1920 × 1280 px' }).waitFor();
    assert.equal((await addStep(page, 'blur', { sigma: '2' })).status(), 200);
    // A parameter the schema marks required is asked for by the browser's form validation before anything is sent.
    await page.locator('#operation').selectOption('extract');
    await page.locator('#param-areawidth').fill('100');
    await page.locator('#add-step').click();
    assert.equal(await page.locator('#param-areaheight').evaluate((input) => (input as HTMLInputElement).validity.valueMissing), true);
    // "width or height" is the server's to check: its message is shown and the step is not added.
    assert.equal((await addStep(page, 'resize', {})).status(), 400);
    assert.equal(await page.locator('#status').innerText(), '400 PP_MISSING_PARAM: Step 2 (resize): Missing required param: height or width');
    assert.equal(await page.locator('#steps li').count(), 1);
    assert.equal(await page.locator('#result-dimensions').innerText(), '1920 × 1280 px', 'the last good result stays shown');
    await page.locator('#steps li button').click();
    await page.locator('#no-steps').waitFor();
    assert.equal(await page.locator('#curl').innerText(), '', 'no steps, no command');
    assert.equal(await page.locator('#download').isHidden(), true, 'no result, nothing to download');
    assert.equal(await page.locator('#result-info').isHidden(), true);
    assert.deepEqual(problems.filter((line) => !/status of 400/.test(line)), []);
  } finally {
    await page.context().close();
  }
});
