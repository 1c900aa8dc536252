/**
 * Benchmark inputs, drawn with sharp from a fixed seed (no binaries in git) and cached in bench/.fixtures/.
 * They should compress and decode like photographs, not like flat test cards: a flat image is far cheaper to
 * decode and encode and would flatter every server. So: smooth colour gradients (sky, light falloff), soft-edged
 * shapes at several sizes (objects, bokeh), and mild per-channel noise (sensor noise), saved at quality 90.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';

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

/** mulberry32: a tiny seeded PRNG, so every machine draws the same pictures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function draw(spec: Spec): Promise<Buffer> {
  const { width, height } = spec;
  const random = prng(spec.seed);
  const byte = () => Math.floor(random() * 256);

  // Gradients: a 6x4 grid of random colours, upscaled with a cubic kernel, gives large smooth colour fields.
  const grid = Buffer.from(Array.from({ length: 6 * 4 * 3 }, byte));
  const base = await sharp(grid, { raw: { width: 6, height: 4, channels: 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();

  // Shapes: ellipses and polygons at several sizes, some blurred (out of focus), some sharp-edged.
  const unit = Math.min(width, height);
  const shapes: string[] = [];
  for (let i = 0; i < 40; i++) {
    const x = random() * width, y = random() * height, r = unit * (0.02 + random() * 0.25);
    const fill = `rgb(${byte()},${byte()},${byte()})`;
    const opacity = (0.35 + random() * 0.6).toFixed(2);
    const filter = random() < 0.5 ? ' filter="url(#soft)"' : '';
    if (random() < 0.6) {
      shapes.push(`<ellipse cx="${x}" cy="${y}" rx="${r}" ry="${r * (0.5 + random())}" fill="${fill}" opacity="${opacity}"${filter}/>`);
    } else {
      const points = Array.from({ length: 3 + Math.floor(random() * 4) }, () => `${x + (random() - 0.5) * 2 * r},${y + (random() - 0.5) * 2 * r}`);
      shapes.push(`<polygon points="${points.join(' ')}" fill="${fill}" opacity="${opacity}"${filter}/>`);
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><filter id="soft"><feGaussianBlur stdDeviation="${(unit / 300).toFixed(1)}"/></filter></defs>${shapes.join('')}</svg>`;

  // Noise: per-channel, triangular around mid-grey, blended with "overlay" so it is mild (about +-6 levels).
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = 128 + Math.round((random() + random() - 1) * 12);

  let image = sharp(base, { raw: { width, height, channels: 3 } })
    .composite([
      { input: Buffer.from(svg) },
      { input: noise, raw: { width, height, channels: 3 }, blend: 'overlay' },
    ])
    .removeAlpha();
  // Round-trip through raw so the composite is flattened before metadata and encoding are set.
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  image = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
  if (spec.format === 'png') return image.png({ compressionLevel: 6 }).toBuffer();
  image = image.withIccProfile('p3');
  if (spec.orientation) image = image.withExif({ IFD0: { Orientation: String(spec.orientation) } });
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
