/**
 * 8-bit interleaved pixels as Pillow's filters see them (L, LA, RGB or RGBA: every band is filtered), and the one way
 * these filters stay off the event loop's back: they work a slice of rows at a time and yield between slices, checking
 * the request's deadline, so a 4 MP filter never holds the loop more than a few milliseconds at once.
 */
export interface Raster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Samples per slice: about 1-3 ms of the heaviest kernel here. */
const SAMPLES_PER_SLICE = 1 << 17;

export type Between = () => void;

/** Run `row(y)` for every row, yielding to the event loop between slices and calling `between` (the deadline check). */
export async function eachRow(raster: Raster, between: Between, row: (y: number) => void, rows = raster.height): Promise<void> {
  const perSlice = Math.max(1, Math.floor(SAMPLES_PER_SLICE / Math.max(1, raster.width * raster.channels)));
  for (let start = 0; start < rows; start += perSlice) {
    const end = Math.min(rows, start + perSlice);
    for (let y = start; y < end; y++) row(y);
    if (end < rows) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      between();
    }
  }
}

export function sameShape(raster: Raster, data: Uint8Array): Raster {
  return { data, width: raster.width, height: raster.height, channels: raster.channels };
}
