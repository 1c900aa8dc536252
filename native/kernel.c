/*
 * Pillow's ImagingFilter (libImaging/Filter.c) for 8-bit images: the kernel's first row is applied to the image row
 * below the pixel, each kernel row is summed left to right in float32 and added to the running sum, and the result is
 * clipped and truncated. The order of the float32 operations is Pillow's, and the build turns off FMA contraction
 * (-ffp-contract=off), so the bytes are Pillow's. src/core/pillow/kernels.ts is the same in TypeScript.
 */
#include "kernel.h"

static inline uint8_t clip8(float v) {
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(int)v;
}

static void row3(const uint8_t *src, uint8_t *dst, size_t y, size_t stride, size_t channels, const float *k,
                 float offset) {
  const uint8_t *below = src + (y + 1) * stride, *here = src + y * stride, *above = src + (y - 1) * stride;
  uint8_t *out = dst + y * stride;
  for (size_t i = channels; i < stride - channels; i++) {
    size_t l = i - channels, r = i + channels;
    float ss = offset + ((below[l] * k[0] + below[i] * k[1]) + below[r] * k[2]);
    ss = ss + ((here[l] * k[3] + here[i] * k[4]) + here[r] * k[5]);
    ss = ss + ((above[l] * k[6] + above[i] * k[7]) + above[r] * k[8]);
    out[i] = clip8(ss);
  }
}

static void row5(const uint8_t *src, uint8_t *dst, size_t y, size_t stride, size_t channels, const float *k,
                 float offset) {
  size_t c2 = 2 * channels;
  uint8_t *out = dst + y * stride;
  for (size_t i = c2; i < stride - c2; i++) {
    float ss = offset;
    for (int row = 0; row < 5; row++) {
      const uint8_t *p = src + (y + 2 - row) * stride + i;
      const float *kk = k + row * 5;
      ss = ss + ((((p[-c2] * kk[0] + p[-channels] * kk[1]) + p[0] * kk[2]) + p[channels] * kk[3]) + p[c2] * kk[4]);
    }
    out[i] = clip8(ss);
  }
}

void kernel_rows(const uint8_t *src, uint8_t *dst, size_t width, size_t height, size_t channels, int size,
                 const float *k, float offset, size_t y0, size_t y1) {
  size_t half = (size_t)(size / 2);
  if (width < (size_t)size || height < (size_t)size) return;
  size_t stride = width * channels;
  if (y0 < half) y0 = half;
  if (y1 > height - half) y1 = height - half;
  for (size_t y = y0; y < y1; y++) {
    if (size == 3) row3(src, dst, y, stride, channels, k, offset);
    else row5(src, dst, y, stride, channels, k, offset);
  }
}
