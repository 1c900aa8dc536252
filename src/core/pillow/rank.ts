/**
 * Pillow's rank filters (Median, Min, Max: the rank-th smallest of a size x size window over an edge-repeated image) and
 * ModeFilter (the most frequent value of the window inside the image, lowest first on ties, kept only when it occurs
 * more than twice), one band at a time as Pillow applies them.
 */
import { eachRow, sameShape, type Between, type Raster } from '../raster.js';

/** The rank-th smallest of the first n values: min and max by a scan, others by an insertion sort (n is 49 at most). */
function select(values: Uint8Array, n: number, rank: number): number {
  if (rank === 0 || rank === n - 1) {
    let best = values[0]!;
    for (let i = 1; i < n; i++) best = rank === 0 ? Math.min(best, values[i]!) : Math.max(best, values[i]!);
    return best;
  }
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
  return values[rank]!;
}

export async function rankFilter(src: Raster, size: number, rank: number, between: Between): Promise<Raster> {
  const { width, height, channels, data } = src;
  const half = size >> 1;
  const out = new Uint8Array(data.length);
  const window = new Uint8Array(size * size);
  const clampX = (x: number) => (x < 0 ? 0 : x >= width ? width - 1 : x);
  const clampY = (y: number) => (y < 0 ? 0 : y >= height ? height - 1 : y);
  await eachRow(between, (y) => {
    for (let c = 0; c < channels; c++) {
      for (let x = 0; x < width; x++) {
        let n = 0;
        for (let dy = -half; dy <= half; dy++) {
          const row = clampY(y + dy) * width;
          for (let dx = -half; dx <= half; dx++) window[n++] = data[(row + clampX(x + dx)) * channels + c]!;
        }
        out[(y * width + x) * channels + c] = select(window, n, rank);
      }
    }
  }, height);
  return sameShape(src, out);
}

export async function modeFilter(src: Raster, size: number, between: Between): Promise<Raster> {
  const { width, height, channels, data } = src;
  const half = size >> 1;
  const out = new Uint8Array(data.length);
  const buffer = new Uint8Array(size * size);
  await eachRow(between, (y) => {
    for (let c = 0; c < channels; c++) {
      for (let x = 0; x < width; x++) {
        let n = 0;
        for (let yy = Math.max(0, y - half); yy <= Math.min(height - 1, y + half); yy++) {
          for (let xx = Math.max(0, x - half); xx <= Math.min(width - 1, x + half); xx++) buffer[n++] = data[(yy * width + xx) * channels + c]!;
        }
        // Sorted, equal values are runs: the longest run wins, the lowest value on ties (Pillow scans 0..255 with >).
        const window = buffer.subarray(0, n).sort();
        let best = window[0]!;
        let bestCount = 0;
        for (let i = 0; i < n; ) {
          let j = i;
          while (j < n && window[j] === window[i]) j++;
          if (j - i > bestCount) {
            bestCount = j - i;
            best = window[i]!;
          }
          i = j;
        }
        const at = (y * width + x) * channels + c;
        out[at] = bestCount > 2 ? best : data[at]!;
      }
    }
  }, height);
  return sameShape(src, out);
}
