import { fixture } from '/work/main/bench/fixtures.ts';
import sharp from 'sharp';
for (const n of ['w1','w2','w3','w4'] as const) {
  const t = performance.now();
  const f = await fixture(n);
  const m = await sharp(f.data).metadata();
  console.log(n, (performance.now()-t).toFixed(0)+'ms', f.data.length, m.width, m.height, m.orientation, m.hasProfile, m.space, m.chromaSubsampling, m.icc ? (await sharp(f.data).metadata()).icc?.length : 0);
}
