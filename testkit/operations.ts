/** Checks every operation test makes the same way: its route and its pipeline step agree, and /docs describes it. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { postRaw } from './http.js';
import { decode, psnr } from './images.js';

/** POST /<name>?<params> and the pipeline step {operation: name, params} give identical PNG pixels; /docs matches `documented`. */
export async function assertStepLikeRoute(app: FastifyInstance, name: string, params: Record<string, string | number>, input: Buffer, documented: RegExp): Promise<void> {
  const query = new URLSearchParams(Object.entries({ ...params, type: 'png' }).map(([key, value]) => [key, String(value)]));
  const route = await postRaw(app, `/${name}?${query}`, input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: name, params: { ...params, type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths[`/${name}`]?.post?.description ?? '', documented);
}
