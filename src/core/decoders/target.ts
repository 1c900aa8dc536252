/** The scale from a decoder's natural size to the target box: the one place 'inside' and 'cover' are worked out. */
import type { DecodeTask } from './types.js';

/** Undefined without a target; either side alone is enough. */
export function targetScale(width: number, height: number, task: Pick<DecodeTask, 'targetWidth' | 'targetHeight' | 'targetFit'>): number | undefined {
  const scales = [task.targetWidth && task.targetWidth / width, task.targetHeight && task.targetHeight / height].filter(
    (s): s is number => typeof s === 'number' && s > 0,
  );
  if (scales.length === 0) return undefined;
  return task.targetFit === 'cover' ? Math.max(...scales) : Math.min(...scales);
}
