/* Pillow's ImageFilter.BLUR, bit for bit, on interleaved 8-bit pixels (any number of channels). See ring_blur.c. */
#ifndef PIXELPRESS_RING_BLUR_H
#define PIXELPRESS_RING_BLUR_H
#include <stddef.h>
#include <stdint.h>

/* Scratch needed by ring_blur_rows: two rows of uint16 sums. */
size_t ring_blur_scratch_bytes(size_t width, size_t channels);

/*
 * Writes output rows [y0, y1) of the blur of src (width x height x channels, tightly packed) into dst.
 * Rows in the 2-pixel border, and the 2-pixel left/right border of the other rows, are copied from src.
 * scratch must hold ring_blur_scratch_bytes(width, channels) bytes, 2-byte aligned. src and dst must not overlap.
 * Disjoint row ranges may run concurrently on different threads (each with its own scratch).
 */
void ring_blur_rows(const uint8_t *src, uint8_t *dst, size_t width, size_t height, size_t channels, size_t y0, size_t y1,
                    uint16_t *scratch);

/* Scratch needed by ring_blur_in_place: the two rows of sums and three saved source rows. */
size_t ring_blur_in_place_scratch_bytes(size_t width, size_t channels);

/*
 * The same blur written over its own input: each row is saved before it is overwritten, and the rows above it are
 * read from the saved copies, so no second image is needed. All rows, on one thread.
 */
void ring_blur_in_place(uint8_t *image, size_t width, size_t height, size_t channels, uint16_t *scratch);

/* The name of the instruction set that the kernel dispatches to on this CPU ("avx2", "sse2", "generic", ...). */
const char *ring_blur_isa(void);
#endif
