/** Test images made on the fly, and independent pixel references: nothing here calls the code under test. */
import sharp from 'sharp';

export interface Raw {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** A photo-like RGB image: smooth gradients, a few shapes with edges, and mild noise (JPEG-friendly, not flat). */
export async function photo(width: number, height: number, format: 'jpeg' | 'png' | 'webp' = 'jpeg'): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed % 17) - 8;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inDisc = (x - width * 0.35) ** 2 + (y - height * 0.5) ** 2 < (Math.min(width, height) * 0.25) ** 2;
      const inBar = x > width * 0.6 && x < width * 0.8;
      const base = [255 * (x / width), 255 * (y / height), 128 + 100 * Math.sin(x / 23 + y / 31)];
      const tint = inDisc ? [220, 60, 40] : inBar ? [30, 40, 200] : null;
      for (let c = 0; c < 3; c++) {
        const v = (tint ? tint[c]! * 0.8 + base[c]! * 0.2 : base[c]!) + noise();
        data[i + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  // A light blur stands in for camera optics: real photos have no one-pixel colour steps.
  const image = sharp(await sharp(data, { raw: { width, height, channels: 3 } }).blur(1.2).raw().toBuffer(), { raw: { width, height, channels: 3 } });
  if (format === 'png') return image.png().toBuffer();
  if (format === 'webp') return image.webp({ quality: 95 }).toBuffer();
  return image.jpeg({ quality: 95 }).toBuffer();
}

/** Decode to raw 8-bit pixels with sharp (the reference side decodes; the comparison math is ours). */
export async function decode(input: Buffer, options: { flattenWhite?: boolean; autoOrient?: boolean } = {}): Promise<Raw> {
  let pipeline = sharp(input, { autoOrient: options.autoOrient ?? false });
  if (options.flattenWhite) pipeline = pipeline.flatten({ background: '#ffffff' });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * Pillow's ImageFilter.BLUR written the direct way: for each pixel, sum the 16 ring taps of the 5x5 kernel,
 * divide by 16, round half up; the 2-pixel border is copied. Deliberately not the separable method under test.
 */
export function referenceRingBlur(src: Raw): Raw {
  const { width, height, channels } = src;
  const out = new Uint8Array(src.data);
  for (let y = 2; y < height - 2; y++) {
    for (let x = 2; x < width - 2; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            if (Math.abs(dx) === 2 || Math.abs(dy) === 2) sum += src.data[((y + dy) * width + (x + dx)) * channels + c]!;
          }
        }
        out[(y * width + x) * channels + c] = Math.floor(sum / 16 + 0.5);
      }
    }
  }
  return { ...src, data: out };
}

/** Peak signal-to-noise ratio in dB over all channels; Infinity for identical images. */
export function psnr(a: Raw, b: Raw): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`size mismatch: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`);
  }
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    sum += d * d;
  }
  if (sum === 0) return Infinity;
  return 10 * Math.log10((255 * 255) / (sum / a.data.length));
}

/** Mean colour of a rectangle, per channel. */
export function meanColour(img: Raw, left: number, top: number, width: number, height: number): number[] {
  const sums = new Array<number>(img.channels).fill(0);
  for (let y = top; y < top + height; y++) {
    for (let x = left; x < left + width; x++) {
      for (let c = 0; c < img.channels; c++) sums[c]! += img.data[(y * img.width + x) * img.channels + c]!;
    }
  }
  return sums.map((s) => s / (width * height));
}

/** Reference geometric transforms on raw pixels, for checking flips, rotations and crops. */
export function mapPixels(src: Raw, width: number, height: number, from: (x: number, y: number) => [number, number]): Raw {
  const out = new Uint8Array(width * height * src.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = from(x, y);
      for (let c = 0; c < src.channels; c++) out[(y * width + x) * src.channels + c] = src.data[(sy * src.width + sx) * src.channels + c]!;
    }
  }
  return { data: out, width, height, channels: src.channels };
}

/** Quadrants of four distinct colours: orientation mistakes show up as the wrong colour in a corner. */
export async function quadrants(width: number, height: number): Promise<Buffer> {
  const colours = [[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20]];
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = (y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1);
      data.set(colours[q]!, (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
