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

/** Samples per slice: about 1-3 ms of the heaviest kernel here. */
const SAMPLES_PER_SLICE = 1 << 17;

export type Between = () => void;

/**
 * Run `row(y)` for y from 0 to rows - 1, yielding to the event loop between slices and calling `between` there (the
 * deadline check). A "row" is whatever unit the caller walks: `samplesPerRow` says how much work one is.
 */
export async function eachRow(raster: Pick<Raster, 'width' | 'height' | 'channels'>, between: Between, row: (y: number) => void, rows = raster.height, samplesPerRow = raster.width * raster.channels): Promise<void> {
  const perSlice = Math.max(1, Math.floor(SAMPLES_PER_SLICE / Math.max(1, samplesPerRow)));
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
