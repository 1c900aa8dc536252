/** sRGB and CIE Lab (D65) by the textbook formulas, for references computed in tests independently of libvips. */
export const toLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
export const toGamma = (c: number): number => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);

const white = [0.95047, 1, 1.08883] as const;
const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
const fInverse = (t: number) => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));

/** 8-bit sRGB to L*a*b*. */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const [R, G, B] = [r, g, b].map((v) => toLinear(v / 255)) as [number, number, number];
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / white[0];
  const y = (0.2126 * R + 0.7152 * G + 0.0722 * B) / white[1];
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / white[2];
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** L*a*b* to 8-bit sRGB, clipped and rounded. */
export function labToRgb(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const x = fInverse(fy + a / 500) * white[0];
  const y = fInverse(fy) * white[1];
  const z = fInverse(fy - b / 200) * white[2];
  const linear = [3.2406 * x - 1.5372 * y - 0.4986 * z, -0.9689 * x + 1.8758 * y + 0.0415 * z, 0.0557 * x - 0.204 * y + 1.057 * z];
  return linear.map((v) => Math.max(0, Math.min(255, Math.round(toGamma(Math.max(0, v)) * 255)))) as [number, number, number];
}
