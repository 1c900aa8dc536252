/** Checks every operation test makes the same way: its route and its pipeline step agree, and /docs describes it. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { assertProblem, postRaw } from './http.js';
import { decode, psnr, type Raw } from './images.js';

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

export interface Refusals {
  /** Query strings (`name=value&…`) each answered 400 PP_INVALID_PARAM naming `names`. */
  invalid: readonly string[];
  names: RegExp;
  /** A query without a required parameter: 400 PP_MISSING_PARAM naming `missingNames` (or `names`). */
  missing?: string;
  missingNames?: RegExp;
  /** A step's params (JSON, so numbers no query can carry) refused in a pipeline, naming `stepNames` (or `names`). */
  step: Record<string, unknown>;
  stepNames?: RegExp;
}

/** Hostile values are 400s on the route and as a pipeline step, with the code that names the problem. */
export async function assertRefusals(app: FastifyInstance, name: string, input: Buffer, refusals: Refusals): Promise<void> {
  for (const query of refusals.invalid) {
    assertProblem(await postRaw(app, `/${name}?${query}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', refusals.names);
  }
  if (refusals.missing !== undefined) {
    const query = refusals.missing === '' ? '' : `?${refusals.missing}`;
    assertProblem(await postRaw(app, `/${name}${query}`, input, 'image/png'), 400, 'PP_MISSING_PARAM', refusals.missingNames ?? refusals.names);
  }
  const steps = encodeURIComponent(JSON.stringify([{ operation: name, params: refusals.step }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', refusals.stepNames ?? refusals.names);
}

/** `param=value` for each value, encoded: the query strings of one parameter's hostile values. */
export const valuesOf = (param: string, values: readonly string[]): string[] => values.map((value) => `${param}=${encodeURIComponent(value)}`);

/**
 * `got` is within `minDb` PSNR of the definition's pixels and 15 dB nearer them than the input's: the operation did
 * what it says, rather than little or nothing.
 */
export function assertNearDefinition(got: Raw, definition: Raw, input: Raw, minDb: number): void {
  const toDefinition = psnr(got, definition);
  const toInput = psnr(got, input);
  assert.ok(toDefinition > minDb, `close to the definition: ${toDefinition.toFixed(1)} dB (input: ${toInput.toFixed(1)} dB)`);
  assert.ok(toDefinition > toInput + 15, `nearer the definition (${toDefinition.toFixed(1)} dB) than the input (${toInput.toFixed(1)} dB)`);
}
