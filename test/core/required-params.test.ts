/**
 * What an operation declares required is what it enforces: each `required` parameter left out, or every `oneOf`
 * parameter left out, is a PP_MISSING_PARAM, and the declared set alone is enough. The OpenAPI document marks them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageError } from '../../src/core/errors.js';
import { defaultLimits } from '../../src/core/limits.js';
import { operations, type Operation } from '../../src/core/operations/index.js';
import { prepare } from '../../src/core/pipeline.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';

/** A value each parameter's own checker accepts and that counts as given (differs from its default). */
function sample(operation: Operation, name: string): string {
  const spec = operation.params[name]!;
  const schema = spec.check.schema as { enum?: string[]; example?: unknown };
  const candidates = [schema.example, ...(schema.enum ?? []), '1', '2', '0.5', '10', 'x', '16:9', '255,255,255'].filter((c): c is string => typeof c === 'string');
  for (const candidate of candidates) {
    try {
      if (spec.check.parse(name, candidate, 'query') !== spec.default) return candidate;
    } catch {
      // Not one this checker accepts: try the next.
    }
  }
  throw new Error(`no sample value for ${operation.name}.${name}: add one its checker accepts`);
}

function missing(operation: string, params: Record<string, string>): boolean {
  try {
    prepare([{ operation, params }], defaultLimits, 'query');
    return false;
  } catch (err) {
    if (err instanceof ImageError && err.code === 'PP_MISSING_PARAM') return true;
    throw err;
  }
}

for (const operation of operations) {
  test(`${operation.name}: required ${JSON.stringify(operation.required)}, one of ${JSON.stringify(operation.oneOf)}`, () => {
    const enough = Object.fromEntries([...operation.required, ...operation.oneOf.slice(0, 1)].map((name) => [name, sample(operation, name)]));
    assert.equal(missing(operation.name, enough), false, 'the declared parameters are enough');
    for (const name of operation.required) {
      const { [name]: _left, ...rest } = enough;
      assert.equal(missing(operation.name, rest), true, `without ${name}`);
    }
    if (operation.oneOf.length > 0) {
      const none = Object.fromEntries(Object.entries(enough).filter(([name]) => !operation.oneOf.includes(name)));
      assert.equal(missing(operation.name, none), true, `without any of ${operation.oneOf.join(', ')}`);
      for (const name of operation.oneOf) assert.equal(missing(operation.name, { ...none, [name]: sample(operation, name) }), false, `with ${name} alone`);
    }
  });
}

test('the OpenAPI document marks exactly the required parameters', () => {
  const paths = (buildOpenApiDocument() as { paths: Record<string, { post?: { parameters?: { name: string; required: boolean }[] } }> }).paths;
  let marked = 0;
  for (const operation of operations) {
    const parameters = paths[operation.path]!.post!.parameters!;
    const required = parameters.filter((p) => p.required).map((p) => p.name);
    assert.deepEqual(required.sort(), [...operation.required].sort(), operation.name);
    marked += required.length;
  }
  assert.ok(marked >= 8, `${marked} parameters marked required`);
});
