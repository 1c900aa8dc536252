/**
 * The decoder pool's worker thread: one decode at a time, under the WebAssembly memory cap the task carries. The pool
 * terminates this thread when a decode outlives its deadline; its JavaScript heap is bounded by resourceLimits.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { decodeBmp, decodeIcoEntry } from './bitmap.js';
import { DecodeFailure } from './failure.js';
import { decodeHeif, forgetLibheif } from './heif.js';
import { resetWasmMemoryRefused, setWasmMemoryCap, wasmMemoryRefused } from './memory-cap.js';
import { decodePdf, forgetPdfium } from './pdf.js';
import type { ContainerInfo, DecodeReply, DecodeTask, RawImage } from './types.js';

/** An ICO's PNG entry goes back encoded: sharp decodes PNG itself, under its own limits. */
export type WorkerReply = DecodeReply | { ok: true; info: undefined; png: Uint8Array };

async function run(task: DecodeTask): Promise<{ info: ContainerInfo | undefined; image: RawImage | undefined } | { png: Uint8Array }> {
  switch (task.format) {
    case 'heic':
      return { info: undefined, image: await decodeHeif(task) };
    case 'pdf':
      return decodePdf(task);
    case 'bmp':
      return { info: undefined, image: decodeBmp(task) };
    case 'ico': {
      const result = decodeIcoEntry(task);
      return 'png' in result ? result : { info: undefined, image: result };
    }
  }
}

/** Hand the pixels over to the main thread instead of copying them (a 50 MP decode is 200 MB). */
function handOver(reply: WorkerReply, data: Uint8Array): WorkerReply {
  const movable = { [transferableSymbol]: [data.buffer], [valueSymbol]: reply };
  return move(movable as unknown as ArrayBuffer) as unknown as WorkerReply;
}

export default async function decode(task: DecodeTask): Promise<WorkerReply> {
  setWasmMemoryCap(task.wasmMemoryBytes);
  resetWasmMemoryRefused();
  try {
    const result = await run(task);
    if ('png' in result) return handOver({ ok: true, info: undefined, png: result.png }, result.png);
    const reply: DecodeReply = { ok: true, info: result.info!, image: result.image };
    return result.image ? handOver(reply, result.image.data) : reply;
  } catch (err) {
    // A refused memory grow surfaces as the codec's own allocation error, or as an abort: either way it is the cap.
    const overBudget = wasmMemoryRefused;
    if (err instanceof DecodeFailure && !overBudget) return { ok: false, code: err.code, detail: err.detail };
    // A codec that failed outside its own error handling (an Emscripten abort, a refused memory grow) may have left
    // its memory in any state: the next decode in this thread gets a fresh instance.
    forgetLibheif();
    forgetPdfium();
    if (overBudget) return { ok: false, code: 'PP_TOO_MANY_PIXELS', detail: 'Decoding the image needs more memory than the decoder limit allows' };
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, code: 'PP_UNDECODABLE', detail: `The image could not be decoded: ${message}` };
  }
}
