/**
 * Benchmark inputs, drawn with sharp from a fixed seed (no binaries in git) and cached in bench/.fixtures/.
 * They should compress and decode like photographs, not like flat test cards: a flat image is far cheaper to
 * decode and encode and would flatter every server. So: smooth colour gradients (sky, light falloff), soft-edged
 * shapes at several sizes (objects, bokeh), and mild per-channel noise (sensor noise), saved at quality 90.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { prng } from '../testkit/prng.js';

/** Bump when the drawing changes, so cached files from an older recipe are not reused. */
const RECIPE = 1;
const dir = new URL('./.fixtures/', import.meta.url).pathname;

export interface Fixture {
  name: string;
  file: string;
  data: Buffer;
  width: number;
  height: number;
  mime: 'image/jpeg' | 'image/png';
  /** What the table says about it. */
  note: string;
}

interface Spec {
  name: string;
  width: number;
  height: number;
  format: 'jpeg' | 'png';
  seed: number;
  /** EXIF orientation to store; 6 = taken in portrait, so autorotate has real work to do. */
  orientation?: number;
  note: string;
}

/** 2560x1600 (4.1 MP) JPEG for W1; P3 profile like a phone photo, so sRGB conversion/keeping is exercised. */
const specs = {
  w1: { name: 'w1', width: 2560, height: 1600, format: 'jpeg', seed: 1, note: '2560x1600 JPEG q90, Display P3 ICC' },
  w2: { name: 'w2', width: 450, height: 300, format: 'png', seed: 2, note: '450x300 RGB PNG (no alpha)' },
  // 5496x3664 = 20.1 MP: a 20 MP camera frame, stored landscape with EXIF orientation 6 (portrait shot).
  w3: { name: 'w3', width: 5496, height: 3664, format: 'jpeg', seed: 3, orientation: 6, note: '5496x3664 (20.1 MP) JPEG q90, Display P3 ICC, EXIF orientation 6' },
  w4: { name: 'w4', width: 2464, height: 1640, format: 'jpeg', seed: 4, note: '2464x1640 (4.0 MP) JPEG q90, Display P3 ICC' },
} satisfies Record<string, Spec>;

export type FixtureName = keyof typeof specs;

async function draw(spec: Spec): Promise<Buffer> {
  const { width, height } = spec;
  const random = prng(spec.seed);
  const byte = () => Math.floor(random() * 256);
  // Photo colours are muted: pull each random colour halfway towards a warm grey.
  const colour = () => `rgb(${[150, 140, 125].map((grey) => Math.round((grey + byte()) / 2)).join(',')})`;
  const unit = Math.min(width, height);

  /**
   * A w x h grid of random values upscaled to full size: a smooth field of that frequency. Values spread
   * `amplitude` of the way from mid-grey towards 0..255, so blended texture layers stay subtle.
   */
  const field = (w: number, h: number, channels: 1 | 3, amplitude: number) =>
    sharp(Buffer.from(Array.from({ length: w * h * channels }, () => Math.round(128 + (byte() - 128) * amplitude))), { raw: { width: w, height: h, channels } })
      .resize(width, height, { kernel: 'cubic', fit: 'fill' })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer();

  /** Shapes as SVG: ellipses (objects, bokeh) and polygons (buildings, leaves). */
  const shapes = (count: number, scale: number, sizeMin: number, sizeMax: number) => {
    const items: string[] = [];
    for (let i = 0; i < count; i++) {
      const x = random() * width * scale, y = random() * height * scale, r = unit * scale * (sizeMin + random() * (sizeMax - sizeMin));
      const style = `fill="${colour()}" opacity="${(0.4 + random() * 0.5).toFixed(2)}"`;
      if (random() < 0.5) {
        items.push(`<ellipse cx="${x}" cy="${y}" rx="${r}" ry="${r * (0.4 + random())}" ${style}/>`);
      } else {
        const points = Array.from({ length: 3 + Math.floor(random() * 5) }, () => `${x + (random() - 0.5) * 2 * r},${y + (random() - 0.5) * 2 * r}`);
        items.push(`<polygon points="${points.join(' ')}" ${style}/>`);
      }
    }
    const w = Math.round(width * scale), h = Math.round(height * scale);
    return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${items.join('')}</svg>`);
  };

  // Background: large smooth colour gradients (sky, walls, light falloff).
  const background = await field(5, 4, 3, 0.7);
  // Out-of-focus shapes: drawn at 1/8 size and upscaled, which blurs them far more cheaply than an SVG filter.
  const far = await sharp(shapes(25, 1 / 8, 0.05, 0.3)).resize(width, height, { fit: 'fill' }).png().toBuffer();
  // Texture: two octaves of grey value noise (foliage, fabric, gravel) plus per-pixel sensor noise.
  const textureCoarse = await field(Math.round(width / 24), Math.round(height / 24), 1, 0.5);
  const textureFine = await field(Math.round(width / 4), Math.round(height / 4), 1, 0.3);
  const grain = Buffer.alloc(width * height);
  for (let i = 0; i < grain.length; i++) grain[i] = 128 + Math.round((random() + random() - 1) * 16);
  const grey = (data: Buffer) => ({ input: data, raw: { width, height, channels: 1 as const }, blend: 'soft-light' as const });

  const { data, info } = await sharp(background, { raw: { width, height, channels: 3 } })
    .composite([
      { input: far },
      { input: shapes(30, 1, 0.01, 0.12) }, // in-focus objects with sharp edges
      grey(textureCoarse),
      grey(textureFine),
      grey(grain),
    ])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Re-open the flattened pixels so the metadata options below apply to the output only.
  let image = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
  if (spec.format === 'png') return image.png({ compressionLevel: 6 }).toBuffer();
  image = image.withIccProfile('p3');
  if (spec.orientation) image = image.withMetadata({ orientation: spec.orientation });
  return image.jpeg({ quality: 90 }).toBuffer();
}

/** Load a fixture from the cache, drawing and saving it first if missing. */
export async function fixture(name: FixtureName): Promise<Fixture> {
  const spec: Spec = specs[name];
  const file = `${dir}${spec.name}-r${RECIPE}.${spec.format === 'png' ? 'png' : 'jpg'}`;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, await draw(spec));
  }
  return {
    name,
    file,
    data: readFileSync(file),
    width: spec.width,
    height: spec.height,
    mime: spec.format === 'png' ? 'image/png' : 'image/jpeg',
    note: spec.note,
  };
}
