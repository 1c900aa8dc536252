/**
 * 8-bit interleaved pixels that an operation works on in TypeScript (Pillow's filters, gamma, duotone, pixelate), and
 * the one way such loops stay off the event loop's back: a slice of rows at a time, yielding between slices and checking
 * the request's deadline there, so a 16 MP image never holds the loop more than a few milliseconds at once.
 */
export interface Raster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Work between two event-loop turns: short enough for /health and other requests not to notice. */
const SLICE_MS = 4;

export type Between = () => void;

/**
 * Run `row(y)` for y from 0 to rows - 1, yielding to the event loop whenever a slice has taken SLICE_MS, and calling
 * `between` there (the deadline check). Timed rather than counted, as one row of a 5x5 mode filter costs a hundred
 * times one of a lookup table.
 */
export async function eachRow(between: Between, row: (y: number) => void, rows: number): Promise<void> {
  let sliceStart = performance.now();
  for (let y = 0; y < rows; y++) {
    row(y);
    if (y + 1 < rows && performance.now() - sliceStart > SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      between();
      sliceStart = performance.now();
    }
  }
}

export function sameShape(raster: Raster, data: Uint8Array): Raster {
  return { data, width: raster.width, height: raster.height, channels: raster.channels };
}
