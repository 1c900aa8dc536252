/**
 * /docs "Try it out" in a real browser: Debian's chromium driven by playwright-core picks an image file in Swagger UI,
 * clicks Execute and checks the image Swagger UI renders from the response.
 *
 * Run: node --import tsx --test test/browser/docs.test.ts
 * Without /usr/bin/chromium the test is skipped, unless CI is set, in which case it fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const SCREENSHOT = '/tmp/pp-docs.png';
const WIDTH = 64;
const HEIGHT = 48;
const STEP_TIMEOUT = 20_000;

const haveChromium = existsSync(CHROMIUM);
const skip = !haveChromium && !process.env.CI ? `${CHROMIUM} not found (set CI=1 to turn this into a failure)` : false;

let app: FastifyInstance | undefined;
/** The same service with PP_API_KEY set, for the lock icons. */
let keyedApp: FastifyInstance | undefined;
let browser: Browser | undefined;
let baseUrl = '';
let keyedUrl = '';
let tempDir: string | undefined;
let imagePath = '';

/** A 64x48 RGB PNG with a horizontal red and a vertical green gradient, so blurring and resizing have something to do. */
async function gradientPng(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = Math.round((x / (width - 1)) * 255);
      pixels[i + 1] = Math.round((y / (height - 1)) * 255);
      pixels[i + 2] = 128;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

before(async () => {
  if (!haveChromium) return;
  tempDir = await mkdtemp(join(tmpdir(), 'pp-docs-'));
  imagePath = join(tempDir, 'gradient.png');
  await writeFile(imagePath, await gradientPng(WIDTH, HEIGHT));

  app = await buildApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object', 'the app listens on a TCP socket');
  baseUrl = `http://127.0.0.1:${address.port}`;
  keyedApp = await buildApp({ access: { apiKey: 'docs-test-key' } });
  await keyedApp.listen({ host: '127.0.0.1', port: 0 });
  keyedUrl = `http://127.0.0.1:${(keyedApp.server.address() as { port: number }).port}`;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT });
}, { timeout: 30_000 });

after(async () => {
  await browser?.close();
  await app?.close();
  await keyedApp?.close();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}, { timeout: 30_000 });

/** A fresh page on /docs, with everything off-host refused and page errors collected for the failure messages. */
async function openDocs(origin = baseUrl): Promise<{ page: Page; problems: string[] }> {
  assert.ok(browser, 'the browser is running');
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const problems: string[] = [];
  await context.route((url) => url.origin !== origin, (route) => {
    problems.push(`blocked off-host request ${route.request().url()}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  const response = await page.goto(`${origin}/docs`);
  assert.equal(response?.status(), 200, 'GET /docs answers 200');
  await page.locator('.swagger-ui .information-container .title').filter({ hasText: 'pixelpress' }).waitFor();
  return { page, problems };
}

/** The operation block of method + path, expanded, with "Try it out" on. */
async function openOperation(page: Page, method: 'post', path: string): Promise<Locator> {
  const block = page.locator(`.opblock.opblock-${method}`).filter({
    has: page.locator('.opblock-summary-path', { hasText: new RegExp(`^${path.replace(/\//g, '\\/')}$`) }),
  });
  await assert.doesNotReject(block.waitFor(), `Swagger UI shows the ${method.toUpperCase()} ${path} operation`);
  assert.equal(await block.count(), 1, `exactly one ${method.toUpperCase()} ${path} block`);
  await block.locator('.opblock-summary-control').click();
  await block.locator('.opblock-body').waitFor();
  // The app sets tryItOutEnabled: true, so Swagger UI may open the operation in try-out mode already ("Cancel" shown).
  const tryOut = block.getByRole('button', { name: 'Try it out', exact: true });
  const cancel = block.getByRole('button', { name: 'Cancel', exact: true });
  await tryOut.or(cancel).first().waitFor();
  if (await tryOut.isVisible()) await tryOut.click();
  await cancel.waitFor();
  return block;
}

/** Pick the file for the multipart field, press Execute and return the network response and the live response row. */
async function execute(page: Page, block: Locator, field: string, path: string) {
  const bodyField = block.locator('.opblock-section-request-body tr', { has: page.locator('.parameter__name', { hasText: field }) });
  const fileInput = bodyField.locator('input[type=file]');
  assert.equal(
    await block.locator('.opblock-section-request-body input[type=file]').count(),
    1,
    `the request body of POST ${path} offers one file picker (is multipart/form-data the selected body type?)`,
  );
  assert.equal(await fileInput.count(), 1, `the file picker belongs to the multipart field ${JSON.stringify(field)}`);
  await fileInput.setInputFiles(imagePath);

  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST'),
    block.locator('button.execute').click(),
  ]);
  const row = block.locator('.responses-wrapper .live-responses-table tr.response');
  await row.waitFor();
  return { response, row };
}

/** The natural size of the <img> Swagger UI made from the response body, once it has decoded. */
async function shownImageSize(row: Locator): Promise<{ src: string; width: number; height: number }> {
  const img = row.locator('.response-col_description img');
  await img.waitFor();
  return img.evaluate(async (element) => {
    const image = element as HTMLImageElement;
    await image.decode();
    return { src: image.src, width: image.naturalWidth, height: image.naturalHeight };
  });
}

test('/docs Try it out in chromium', { skip, timeout: 60_000 }, async (t) => {
  assert.ok(haveChromium, `${CHROMIUM} is required when CI is set: install Debian's chromium package`);

  await t.test('POST / (field img) shows the blurred JPEG at 64x48', async () => {
    const { page, problems } = await openDocs();
    try {
      const block = await openOperation(page, 'post', '/');
      const { response, row } = await execute(page, block, 'img', '/');

      assert.equal(response.status(), 200, `POST / answered ${response.status()}: ${await response.text().catch(() => '')}`);
      assert.equal(response.headers()['content-type'], 'image/jpeg');
      assert.match(response.request().headers()['content-type'] ?? '', /^multipart\/form-data; boundary=/, 'Swagger UI sent multipart/form-data');
      assert.equal((await row.locator('.response-col_status').innerText()).trim(), '200', 'Swagger UI shows status 200');

      const shown = await shownImageSize(row);
      assert.match(shown.src, /^blob:/, 'the response body is rendered as an <img> with a blob: URL');
      assert.deepEqual({ width: shown.width, height: shown.height }, { width: WIDTH, height: HEIGHT }, 'the shown image is 64x48');

      // The page as the user sees it: the POST / block at the top of the viewport, down to the live response.
      await block.evaluate((element) => element.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: SCREENSHOT });
      assert.deepEqual(problems, [], 'no page errors and no off-host requests');
    } finally {
      await page.context().close();
    }
  });

  // What Swagger UI sent and showed for POST /resize, for the known-issue check below.
  let resizeQuery: Record<string, string> | undefined;
  let resizeShown: { width: number; height: number } | undefined;

  await t.test('POST /resize (field file, width=32) shows a 32 px wide image', async () => {
    const { page, problems } = await openDocs();
    try {
      const block = await openOperation(page, 'post', '/resize');
      const width = block.locator('.parameters tr[data-param-name="width"][data-param-in="query"] input');
      assert.equal(await width.count(), 1, 'POST /resize has a width query parameter input');
      await width.fill('32');
      const { response, row } = await execute(page, block, 'file', '/resize');
      resizeQuery = Object.fromEntries(new URL(response.url()).searchParams);

      assert.equal(response.status(), 200, `POST /resize answered ${response.status()}: ${await response.text().catch(() => '')}`);
      assert.equal(resizeQuery.width, '32', 'Swagger UI sent width=32');
      assert.equal(response.headers()['image-width'], '32');
      assert.equal((await row.locator('.response-col_status').innerText()).trim(), '200', 'Swagger UI shows status 200');

      const shown = await shownImageSize(row);
      resizeShown = { width: shown.width, height: shown.height };
      assert.match(shown.src, /^blob:/, 'the response body is rendered as an <img> with a blob: URL');
      assert.equal(shown.width, 32, 'the shown image is 32 px wide');
      assert.equal(String(shown.height), response.headers()['image-height'], 'the shown height is the Image-Height the server sent');
      assert.deepEqual(problems, [], 'no page errors and no off-host requests');
    } finally {
      await page.context().close();
    }
  });

  await t.test('the top bar names /openapi.json; without PP_API_KEY no lock and no Authorize button', async () => {
    const { page, problems } = await openDocs();
    try {
      assert.equal(await page.locator('.topbar .download-url-wrapper select option:checked, .topbar input.download-url-input').first().evaluate((e) => (e as HTMLInputElement).value), '/openapi.json');
      await page.locator('.opblock').first().waitFor();
      assert.equal(await page.locator('.opblock .authorization__btn').count(), 0, 'no operation shows a lock');
      assert.equal(await page.locator('.auth-wrapper .authorize').count(), 0, 'no Authorize button');
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
    }
  });

  await t.test('with PP_API_KEY a lock on every route the key guards, and none on /health and /ready', async () => {
    const { page, problems } = await openDocs(keyedUrl);
    try {
      await page.locator('.opblock').first().waitFor();
      const blocks = await page.locator('.opblock').evaluateAll((elements) => elements.map((element) => ({
        route: `${element.querySelector('.opblock-summary-method')?.textContent} ${element.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
        locked: element.querySelector('.authorization__btn') !== null,
      })));
      const unlocked = blocks.filter((block) => !block.locked).map((block) => block.route).sort();
      assert.deepEqual(unlocked, ['GET /health', 'GET /ready']);
      assert.ok(blocks.length > 30, `${blocks.length} operations shown`);
      assert.equal(await page.locator('.auth-wrapper .authorize').count(), 1, 'an Authorize button to enter the key');
      assert.deepEqual(problems, []);
    } finally {
      await page.context().close();
    }
  });

  // Swagger UI pre-fills schema examples in Try it out; optional params must carry none, or width=32 comes back 32x18.
  await t.test('POST /resize Try it out sends only what the user filled in (64x48 -> 32x24)', () => {
    assert.ok(resizeQuery && resizeShown, 'the POST /resize check ran');
    assert.deepEqual(resizeQuery, { width: '32' }, 'Swagger UI sent only width=32');
    assert.deepEqual(resizeShown, { width: 32, height: 24 }, 'the image keeps its 4:3 aspect ratio');
  });
});
