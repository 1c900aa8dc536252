/**
 * The registry: every operation declared in this folder, found by reading it, so that adding an operation is adding
 * its file. Routes, pipeline, docs, CLI and library all read this one list. Each module here other than this one and
 * types must export at least one operation (a helper file would otherwise vanish silently).
 */
import { readdirSync } from 'node:fs';
import { isOperation, type Operation } from './types.js';

export type { DecodeBox, Operation, OperationContext, OperationSpec } from './types.js';
export { defineOperation } from './types.js';

const folder = new URL('./', import.meta.url);
// Built, the folder holds .js (and .d.ts, .map); from source under tsx, .ts.
const moduleFile = /^(?!index\.|types\.)[a-z0-9-]+\.(?:js|ts)$/;

async function discover(): Promise<readonly Operation[]> {
  const files = readdirSync(folder).filter((file) => moduleFile.test(file) && !file.endsWith('.d.ts')).sort();
  const found: Operation[] = [];
  for (const file of files) {
    const exported = Object.values(await import(new URL(file, folder).href) as Record<string, unknown>).filter(isOperation);
    if (exported.length === 0) throw new Error(`src/core/operations/${file} declares no operation: helpers belong outside this folder`);
    found.push(...exported);
  }
  for (const key of ['name', 'path'] as const) {
    const seen = new Set<string>();
    for (const operation of found) {
      if (seen.has(operation[key])) throw new Error(`Two operations share the ${key} ${operation[key]}`);
      seen.add(operation[key]);
    }
  }
  // The docs and the CLI list them by route: POST / first, then alphabetically.
  return Object.freeze(found.sort((a, b) => a.path.localeCompare(b.path)));
}

export const operations: readonly Operation[] = await discover();

const byName = new Map(operations.map((operation) => [operation.name, operation]));

export function findOperation(name: string): Operation | undefined {
  return byName.get(name);
}

/** Every parameter name some operation declares: the CLI's flags. */
export function declaredParamNames(): string[] {
  return [...new Set(operations.flatMap((operation) => Object.keys(operation.params)))];
}

