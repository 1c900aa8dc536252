/**
 * Real photographs for the workloads, from Debian's mate-backgrounds package (GPL-2+, camera JPEGs with their EXIF),
 * installed with apt-get when missing, so that a fresh machine gets the same inputs. Photographs decode and
 * compress differently from anything drawn (see docs/benchmarks.md: the drawn W1 cost Pillow 3x more), so the
 * headline figures come from these. Nothing is checked in: the package is the source, the derived W2 PNG is cached.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Fixture } from './fixtures.js';

export const photoPackage = 'mate-backgrounds';
const base = '/usr/share/backgrounds/mate/';
const cacheDir = new URL('./.fixtures/', import.meta.url).pathname;

interface PhotoSpec {
  /** Under /usr/share/backgrounds/mate/. */
  file: string;
  note: string;
}

/**
 * The photographs, as the package ships them (bytes untouched):
 * - TwoWings.jpg: 2560x1600 (4.1 MP) dandelion seeds, Charles Barbin 2008; baseline JPEG, 4:2:0, 0.88 MB.
 * - Elephants_5640x3172.jpg: 17.9 MP, Sony DSC-RX100M4 (EXIF), Wyng Stancikaite 2020; progressive JPEG, 16.4 MB.
 * - Storm.jpg: 1920x1280, Canon EOS 400D (EXIF), Sergey Nazarov 2008: W2 is it scaled to 450x300.
 */
const shipped = {
  w1: { file: 'nature/TwoWings.jpg', note: 'TwoWings.jpg (photo), 2560x1600 (4.1 MP) baseline JPEG, no ICC, 0.88 MB' },
  w3: { file: 'abstract/Elephants_5640x3172.jpg', note: 'Elephants_5640x3172.jpg (Sony RX100 IV photo), 5640x3172 (17.9 MP) progressive JPEG, 16.4 MB' },
  storm: { file: 'nature/Storm.jpg', note: 'Storm.jpg (Canon EOS 400D photo), 1920x1280 JPEG' },
} satisfies Record<string, PhotoSpec>;

/** Bump when the W2 derivation changes. */
const W2_RECIPE = 1;

function installed(): boolean {
  return Object.values(shipped).every((spec) => existsSync(base + spec.file));
}

/**
 * Install the package if its files are missing: apt-get install, then (only if that failed) apt-get update and again.
 * Returns why it could not, or undefined when the photos are there.
 */
export function ensurePhotos(log: (message: string) => void): string | undefined {
  if (installed()) return undefined;
  log(`installing Debian's ${photoPackage} for the real-photograph workloads`);
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!apt(['install', '-y', '--no-install-recommends', photoPackage])) {
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', photoPackage]);
  }
  return installed() ? undefined : `apt-get install ${photoPackage} failed (not root, or no Debian mirror)`;
}

function load(name: string, spec: PhotoSpec): Promise<Fixture> {
  const file = base + spec.file;
  const data = readFileSync(file);
  return sharp(data).metadata().then((meta) => ({ name, file, data, width: meta.width!, height: meta.height!, mime: 'image/jpeg', note: spec.note }));
}

/**
 * W2: Storm.jpg scaled to 450x300 and written as PNG with an sRGB iCCP chunk (as editors and phones export it),
 * so the small-image path sees a real photograph's content and a colour profile.
 */
async function w2(): Promise<Fixture> {
  const file = `${cacheDir}photo-w2-r${W2_RECIPE}.png`;
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(file, await sharp(base + shipped.storm.file).resize(450, 300).withIccProfile('srgb').png({ compressionLevel: 6 }).toBuffer());
  }
  const data = readFileSync(file);
  return { name: 'w2', file, data, width: 450, height: 300, mime: 'image/png', note: `${shipped.storm.note} scaled to 450x300 RGB PNG with an sRGB iCCP chunk, ${(data.length / 1e3).toFixed(0)} kB` };
}

export interface Photos {
  w1: Fixture;
  w2: Fixture;
  w3: Fixture;
  /** W4 and the /resize workload use the same 4 MP photograph as W1. */
  w4: Fixture;
}

export async function photos(): Promise<Photos> {
  const [w1, w2image, w3] = await Promise.all([load('w1', shipped.w1), w2(), load('w3', shipped.w3)]);
  return { w1, w2: w2image, w3, w4: w1 };
}
