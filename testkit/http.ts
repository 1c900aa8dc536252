/** Building requests the way real clients do: multipart via the platform's FormData, raw bodies with a type. */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { errorCatalogue } from '../src/core/errors.js';
import { buildApp, type AppOptions } from '../src/http/app.js';

export async function multipart(fields: Record<string, Buffer | string>, filename = 'upload.bin'): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([new Uint8Array(value)]), filename);
  }
  // Response serialises FormData exactly as fetch would put it on the wire, boundary included.
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), headers: { 'content-type': response.headers.get('content-type')! } };
}

export async function postFile(app: FastifyInstance, url: string, field: string, file: Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const form = await multipart({ [field]: file });
  return app.inject({ method: 'POST', url, payload: form.body, headers: { ...form.headers, ...headers } });
}

export function postRaw(app: FastifyInstance, url: string, body: Buffer, contentType = 'application/octet-stream', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': contentType, ...headers } });
}

export async function testApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(options);
  await app.ready();
  return app;
}

/** An RFC 9457 answer with our catalogue's code and title, and imaginary's message key equal to the detail. */
export function assertProblem(response: LightMyRequestResponse, status: number, code: string, detail: RegExp | string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = response.json();
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, `/problems/${code}`);
  assert.equal(body.title, errorCatalogue[code as keyof typeof errorCatalogue].title);
  if (typeof detail === 'string') assert.equal(body.detail, detail);
  else assert.match(body.detail, detail);
  assert.equal(body.message, body.detail, 'imaginary clients read message');
}
