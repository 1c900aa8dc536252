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

/** A valid value of each parameter, from its checker's schema: the first choice of an enum, 1 for a number, "x" for text. */
function sample(operation: Operation, name: string): string {
  const schema = operation.params[name]!.check.schema as { enum?: string[]; type?: string };
  return schema.enum?.[0] ?? (schema.type === 'string' ? 'x' : '1');
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
