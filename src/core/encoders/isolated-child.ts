/**
 * The child process of isolated.ts: runs one request at a time with the ordinary pipeline, in this process, and answers
 * with the encoded result or the error. The parent kills it with SIGKILL when the request's deadline passes.
 */
import { setPriority } from 'node:os';
import sharp from 'sharp';
import { withAutoAvifBudget } from '../encode.js';
import { isImageError } from '../errors.js';
import { executeJob } from '../pipeline.js';
import type { IsolatedReply, IsolatedRequest } from './isolated.js';

// Each upload is new: libvips' cache would only hold memory (as in the server).
sharp.cache(false);

// The AVIF pool's children yield the CPU to the server's other work. Set before any image work, so that the libuv and
// libvips threads, created on first use by this thread, inherit it (Linux nice values are per thread).
if (process.env.PP_ISOLATED_NICE) setPriority(Number(process.env.PP_ISOLATED_NICE));

async function handle(request: IsolatedRequest): Promise<IsolatedReply> {
  if (sharp.concurrency() !== request.concurrency) sharp.concurrency(request.concurrency);
  try {
    return { ok: true, result: await withAutoAvifBudget(request.autoAvifMaxPixels, () => executeJob(request.job, request.remainingMs)) };
  } catch (err) {
    if (isImageError(err)) return { ok: false, code: err.code, detail: err.detail, stack: undefined };
    const error = err instanceof Error ? err : new Error(String(err));
    return { ok: false, code: undefined, detail: error.message, stack: error.stack };
  }
}

process.on('message', (request: IsolatedRequest) => {
  void handle(request).then((reply) => process.send!(reply));
});
// The parent alone ends this process: by SIGKILL, or by going away, which closes the channel.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group; the parent's graceful shutdown still needs its children.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
