/**
 * Caps WebAssembly memory in this worker thread. A worker's resourceLimits bound its JavaScript heap only; a codec's
 * linear memory is an ArrayBuffer outside it. Every Emscripten build grows that memory through Memory.prototype.grow,
 * so refusing a grow past the cap makes the codec's malloc fail (an error or an abort, which the worker reports),
 * instead of letting a hostile file take gigabytes. Only this thread's WebAssembly global is patched.
 */
let capBytes = Number.POSITIVE_INFINITY;
const pageBytes = 65_536;

export class WasmMemoryCapExceeded extends Error {}

/** Set the cap every codec memory in this thread is held to, from the next grow on. */
export function setWasmMemoryCap(bytes: number): void {
  capBytes = bytes;
}

/** Whether a grow was refused since the last reset: the codec's own error then means "out of memory". */
export let wasmMemoryRefused = false;
export function resetWasmMemoryRefused(): void {
  wasmMemoryRefused = false;
}

const grow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function cappedGrow(this: WebAssembly.Memory, delta: number): number {
  if (this.buffer.byteLength + delta * pageBytes > capBytes) {
    wasmMemoryRefused = true;
    // Emscripten's resize_heap catches this and reports failure to malloc.
    throw new RangeError(`WebAssembly memory would grow past the cap of ${capBytes} bytes`);
  }
  return grow.call(this, delta);
};
