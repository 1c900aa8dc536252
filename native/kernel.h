/* Pillow's ImageFilter.Kernel for 3x3 and 5x5 kernels on 8-bit images, bit for bit (see kernel.c). */
#ifndef PIXELPRESS_KERNEL_H
#define PIXELPRESS_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes rows [y0, y1) of dst, leaving the border (size/2 pixels on each side) untouched: the caller fills dst with a
 * copy of src first, as Pillow copies the border. `k` holds size*size weights already divided by the scale in float32,
 * `offset` is Pillow's offset + 0.5.
 */
void kernel_rows(const uint8_t *src, uint8_t *dst, size_t width, size_t height, size_t channels, int size,
                 const float *k, float offset, size_t y0, size_t y1);

#endif
