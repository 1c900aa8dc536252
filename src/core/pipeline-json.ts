/**
 * imaginary's `operations` JSON: [{"operation": "...", "params": {...}, "ignore_failure": bool}].
 * Keys match case-insensitively and unknown keys are refused, as Go's decoder with DisallowUnknownFields does.
 */
import { ImageError } from './errors.js';
import type { Step } from './pipeline.js';

function fail(detail: string): never {
  throw new ImageError('PP_INVALID_PIPELINE', `Invalid operations: ${detail}`);
}

export function parseOperations(json: string): Step[] {
  if (json.trim().length < 2) throw new ImageError('PP_INVALID_PIPELINE', 'Missing or invalid pipeline operations JSON');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) fail('expected a JSON array of {"operation", "params", "ignore_failure"} objects');
  return value.map((entry: unknown, index): Step => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`step ${index} is not an object`);
    const step: Step = { operation: '' };
    for (const [key, field] of Object.entries(entry)) {
      switch (key.toLowerCase()) {
        case 'operation':
          if (typeof field !== 'string') fail(`step ${index}: "operation" must be a string`);
          step.operation = field;
          break;
        case 'params':
          if (field === null) break;
          if (typeof field !== 'object' || Array.isArray(field)) fail(`step ${index}: "params" must be an object`);
          step.params = field as Record<string, unknown>;
          break;
        case 'ignore_failure':
          if (typeof field !== 'boolean') fail(`step ${index}: "ignore_failure" must be true or false`);
          step.ignoreFailure = field;
          break;
        default:
          fail(`step ${index}: unknown field ${JSON.stringify(key)}`);
      }
    }
    if (!step.operation) fail(`step ${index}: "operation" is required`);
    return step;
  });
}
