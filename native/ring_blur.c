/*
 * Pillow's ImageFilter.BLUR, bit for bit: out = (sum of the 16 taps on the outer ring of the 5x5 window + 8) >> 4,
 * with the 2-pixel border copied unchanged.
 *
 * Per output row y, with r0..r4 the source rows y-2..y+2 and i a byte index (channels interleaved, neighbour = +-c):
 *   A[i] = r0[i] + r4[i]                       (top and bottom of the ring, one column)
 *   T[i] = r0[i] + r1[i] + r2[i] + r3[i] + r4[i] (a full 5-tall column: the ring's left and right sides)
 *   out[i] = (T[i-2c] + T[i+2c] + A[i-c] + A[i] + A[i+c] + 8) >> 4
 * Every sum fits in 16 bits (at most 16*255+8 = 4088), so the loops are plain uint16 arithmetic that GCC -O3
 * vectorises; on x86-64 the one hot function is compiled for AVX2 and for baseline SSE2 and picked at load time.
 */
#include "ring_blur.h"

#include <string.h>

size_t ring_blur_scratch_bytes(size_t width, size_t channels) { return 2 * width * channels * sizeof(uint16_t); }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && !defined(RB_NO_DISPATCH)
#define RB_DISPATCH 1
#define RB_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RB_CLONES
#endif

RB_CLONES
static void blur_row(const uint8_t *restrict r0, const uint8_t *restrict r1, const uint8_t *restrict r2,
                     const uint8_t *restrict r3, const uint8_t *restrict r4, uint8_t *restrict out, size_t n, size_t c,
                     uint16_t *restrict a, uint16_t *restrict t) {
  for (size_t i = 0; i < n; i++) {
    uint16_t top = (uint16_t)(r0[i] + r4[i]);
    a[i] = top;
    t[i] = (uint16_t)(top + r1[i] + r2[i] + r3[i]);
  }
  const uint16_t *restrict tl = t, *restrict tr = t + 4 * c, *restrict al = a + c, *restrict am = a + 2 * c,
                           *restrict ar = a + 3 * c;
  uint8_t *restrict o = out + 2 * c;
  for (size_t i = 0, m = n - 4 * c; i < m; i++) {
    o[i] = (uint8_t)((uint16_t)(tl[i] + tr[i] + al[i] + am[i] + ar[i] + 8) >> 4);
  }
}

void ring_blur_rows(const uint8_t *src, uint8_t *dst, size_t width, size_t height, size_t channels, size_t y0, size_t y1,
                    uint16_t *scratch) {
  const size_t stride = width * channels;
  if (y1 > height) y1 = height;
  for (size_t y = y0; y < y1; y++) {
    const uint8_t *row = src + y * stride;
    uint8_t *out = dst + y * stride;
    if (width < 5 || height < 5 || y < 2 || y + 2 >= height) {
      memcpy(out, row, stride);
      continue;
    }
    memcpy(out, row, 2 * channels);
    memcpy(out + stride - 2 * channels, row + stride - 2 * channels, 2 * channels);
    blur_row(row - 2 * stride, row - stride, row, row + stride, row + 2 * stride, out, stride, channels, scratch,
             scratch + stride);
  }
}

size_t ring_blur_in_place_scratch_bytes(size_t width, size_t channels) {
  return ring_blur_scratch_bytes(width, channels) + 3 * width * channels;
}

void ring_blur_in_place(uint8_t *image, size_t width, size_t height, size_t channels, uint16_t *scratch) {
  /* Small images, the 2-row top and bottom borders and the 2-pixel side borders keep their bytes: nothing to do. */
  if (width < 5 || height < 5) return;
  const size_t stride = width * channels;
  /* saved + (k % 3) * stride holds source row k for the rows y-2, y-1 and y that the outputs so far overwrote. */
  uint8_t *saved = (uint8_t *)(scratch + 2 * stride);
  memcpy(saved, image, stride);
  memcpy(saved + stride, image + stride, stride);
  for (size_t y = 2; y + 2 < height; y++) {
    uint8_t *row = image + y * stride;
    uint8_t *copy = saved + (y % 3) * stride;
    memcpy(copy, row, stride);
    blur_row(saved + ((y - 2) % 3) * stride, saved + ((y - 1) % 3) * stride, copy, row + stride, row + 2 * stride, row,
             stride, channels, scratch, scratch + stride);
  }
}

#ifdef RB_DISPATCH
const char *ring_blur_isa(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
}
#else
const char *ring_blur_isa(void) { return "generic"; }
#endif
