/** The registry: the single list of operations that routes, pipeline, docs, CLI and library all read. */
import { autorotate } from './autorotate.js';
import { blur } from './blur.js';
import { convert } from './convert.js';
import { crop } from './crop.js';
import { enlarge } from './enlarge.js';
import { extract } from './extract.js';
import { fit } from './fit.js';
import { flip, flop } from './mirror.js';
import { pillowblur } from './pillowblur.js';
import { resize } from './resize.js';
import { rotate } from './rotate.js';
import { smartcrop } from './smartcrop.js';
import { thumbnail } from './thumbnail.js';
import { watermark } from './watermark.js';
import { zoom } from './zoom.js';
import type { Operation } from './types.js';

export type { Operation, OperationContext } from './types.js';

export const operations: readonly Operation[] = Object.freeze([
  resize, fit, enlarge, extract, crop, smartcrop, rotate, autorotate, flip, flop, thumbnail, zoom, convert, blur,
  watermark, pillowblur,
]);

const byName = new Map(operations.map((operation) => [operation.name, operation]));

export function findOperation(name: string): Operation | undefined {
  return byName.get(name);
}
