/** The OpenAPI document: valid by a real validator, generated from the registry, and matching the routes served. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { operations } from '../../src/core/operations/index.js';
import { statusOf } from '../../src/http/problem.js';
import { testApp } from '../../testkit/http.js';

let app: FastifyInstance;
let document: { paths: Record<string, Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, unknown> } }>> };
before(async () => {
  app = await testApp();
  document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
after(() => app.close());

test('is a valid OpenAPI 3 document', async () => {
  // validate() dereferences in place, so give it a copy.
  await SwaggerParser.validate(structuredClone(document) as never);
});

test('lists every operation in the registry and every route the app serves', async () => {
  const expected = ['/', '/health', '/ready', '/metrics', '/problems/{code}', '/info', '/pipeline', '/preset/{name}', '/placeholder', ...operations.filter((o) => o.path !== '/').map((o) => o.path)];
  assert.deepEqual(Object.keys(document.paths).sort(), expected.sort());
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const method of Object.keys(methods)) {
      // OpenAPI writes a path parameter {name}, Fastify :name.
      assert.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method.toUpperCase()} ${path} is served`);
    }
  }
});

test('every image route offers a file picker (multipart binary) and the raw-body form', () => {
  for (const [path, methods] of Object.entries(document.paths)) {
    const body = methods.post?.requestBody;
    if (!body) continue;
    const form = body.content['multipart/form-data'] as { schema: { properties: Record<string, { format: string }> } };
    const field = operations.find((operation) => operation.path === path)?.field ?? 'file';
    assert.equal(form.schema.properties[field]?.format, 'binary', path);
    assert.ok(body.content['application/octet-stream'], path);
  }
});

test("parameters come from each operation's declaration, with no pre-filled examples on optional ones", () => {
  assert.equal((document.paths['/']!.post as { operationId?: string }).operationId, 'pillowblur', 'the seed route is the registry entry whose path is /');
  for (const operation of operations) {
    const parameters = document.paths[operation.path]!.post!.parameters!;
    assert.deepEqual(parameters.map((p) => p.name), Object.keys(operation.params));
    for (const parameter of parameters) {
      assert.equal(parameter.schema.example, undefined, `${operation.name}.${parameter.name}`);
      assert.equal(parameter.schema.type, (operation.params[parameter.name]!.check.schema as { type: string }).type);
    }
  }
});

test('Swagger UI is served at /docs', async () => {
  const page = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /swagger-ui/i);
});

type Responses = Record<string, { content?: Record<string, { example?: { code: string; status: number }; schema?: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }> }>;

test('operationIds are unique across the document', () => {
  const ids = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((op) => (op as { operationId: string }).operationId));
  assert.equal(new Set(ids).size, ids.length, `duplicates: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')}`);
});

test('each error response shows an example with a code of its own status, and lists only such codes', () => {
  let checked = 0;
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      for (const [status, response] of Object.entries((op as { responses: Responses }).responses)) {
        const problem = response.content?.['application/problem+json'];
        if (!problem) continue;
        checked++;
        assert.equal(problem.example?.status, Number(status), `${method} ${path} ${status}`);
        assert.equal(statusOf[problem.example!.code as keyof typeof statusOf], Number(status), `${method} ${path} ${status}: ${problem.example!.code}`);
        for (const code of problem.schema!.allOf![1]!.properties!.code!.enum) assert.equal(statusOf[code as keyof typeof statusOf], Number(status), `${code} under ${status}`);
      }
    }
  }
  assert.ok(checked > 50, `checked ${checked} error responses`);
});

test('/docs loads /openapi.json (the document the README names) in its top bar', async () => {
  const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
  assert.equal(initializer.statusCode, 200);
  assert.match(initializer.body, /"url":"\/openapi\.json"/);
  assert.doesNotMatch(initializer.body, /\/docs\/json/);
});

type Operations = Record<string, Record<string, { security?: unknown[]; responses: Record<string, { description?: string }> }>>;

/** The security requirements Swagger UI applies to each operation: its own, else the document's. */
function requirements(doc: { security?: unknown[]; paths: Operations }): Map<string, unknown[]> {
  return new Map(Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op.security ?? doc.security ?? []] as [string, unknown[]])));
}

test('without PP_API_KEY nothing is locked and no key is offered', () => {
  const doc = document as unknown as { security?: unknown[]; paths: Operations; components: { securitySchemes?: unknown } };
  assert.equal(doc.components.securitySchemes, undefined, 'no Authorize button');
  const locked = [...requirements(doc)].filter(([, security]) => security.some((entry) => Object.keys(entry as object).length > 0));
  assert.deepEqual(locked, []);
});

test('with PP_API_KEY exactly the routes the key guards are locked: every one but the probes', async () => {
  const keyed = await testApp({ access: { apiKey: 'playground-test-key' } });
  try {
    const doc = (await keyed.inject({ method: 'GET', url: '/openapi.json' })).json() as { security?: unknown[]; paths: Operations };
    await SwaggerParser.validate(structuredClone(doc) as never);
    for (const [route, security] of requirements(doc)) {
      const [method, path] = route.split(' ') as [string, string];
      // What the access plugin does with no key: the lock must say the same.
      const url = path.replace('{name}', 'none').replace('{code}', 'PP_NOT_FOUND');
      const status = (await keyed.inject({ method: method as 'GET', url })).statusCode;
      assert.equal(security.length > 0, status === 401, `${route}: lock ${JSON.stringify(security)}, answered ${status} without the key`);
      if (security.length > 0) assert.deepEqual(security, [{ apiKey: [] }], route);
    }
    assert.deepEqual(requirements(doc).get('GET /health'), []);
    assert.deepEqual(requirements(doc).get('POST /resize'), [{ apiKey: [] }]);
  } finally {
    await keyed.close();
  }
});

test('401, 403, 413, 415, 422 and 503 are documented on every image route, and 401 wherever a key is asked for', () => {
  const paths = document.paths as unknown as Operations;
  let imageRoutes = 0;
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const statuses = Object.keys(op.responses);
      if (method === 'post') {
        imageRoutes++;
        for (const status of ['401', '403', '413', '415', '422', '503']) assert.ok(statuses.includes(status), `POST ${path} documents ${status}`);
        assert.match(op.responses['401']!.description!, /only when the server sets PP_API_KEY/);
      } else if (path === '/health' || path === '/ready') {
        assert.ok(!statuses.includes('401'), `${path} is open to probes`);
      } else {
        assert.ok(statuses.includes('401'), `GET ${path} documents 401`);
      }
    }
  }
  assert.ok(imageRoutes > 30, `${imageRoutes} image routes`);
});

test('each registry operation is marked with its pipeline name, and nothing else is (the playground reads this)', () => {
  const marked = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.values(methods).flatMap((op) => ((op as Record<string, unknown>)['x-pipeline-operation'] ? [[path, (op as Record<string, unknown>)['x-pipeline-operation']]] : [])));
  assert.deepEqual(marked.sort(), operations.map((o) => [o.path, o.name]).sort());
});

test('GET /problems/{code} is documented as served', async () => {
  const response = await app.inject({ url: '/problems/PP_UNDECODABLE' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(Object.keys(response.json()).sort(), ['code', 'description', 'status', 'title']);
  assert.equal((await app.inject({ url: '/problems/NOPE' })).statusCode, 404);
});
