/*
 * Node-API binding for ring_blur.c (plain C Node-API: no npm dependency, ABI-stable across Node versions).
 *
 *   blurSync(src, dst, width, height, channels): undefined          blur on the calling thread
 *   blur(src, dst, width, height, channels, parts): Promise<void>   blur on the libuv threadpool, rows split in `parts`
 *   blurInPlace(image, width, height, channels): Promise<void>      blur written over its input, on the threadpool
 *   isa: string                                                     the instruction set the kernel runs ("avx2", ...)
 *   convolve(src, dst, width, height, channels, weights, offset, parts): Promise<void>
 *                                                                   Pillow's 3x3/5x5 ImageFilter.Kernel (kernel.c) on
 *                                                                   the threadpool; weights a Float32Array of 9 or 25
 *
 * src and dst are Uint8Arrays (Buffers) of at least width*height*channels bytes that must not overlap. For blur(),
 * both are kept alive until the promise settles, and the caller must not touch them until then.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdint.h>
#include <stdlib.h>

#include "kernel.h"
#include "ring_blur.h"

#define MAX_PARTS 16

typedef struct {
  const uint8_t *src;
  uint8_t *dst;
  size_t width, height, channels;
} image_args;

typedef struct {
  image_args image;
  /* blurInPlace: image.src == image.dst, one part. */
  int in_place;
  /* convolve: the kernel's size (3 or 5; 0 for the ring blur), its weights and offset. */
  int kernel_size;
  float kernel[25];
  float offset;
  napi_deferred deferred;
  napi_ref src_ref, dst_ref;
  int remaining;
  int failed;
} blur_task;

typedef struct {
  blur_task *task;
  napi_async_work work;
  size_t y0, y1;
  int failed;
} blur_part;

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array && type != napi_uint8_clamped_array) return 0;
  *data = ptr;
  return 1;
}

static int get_dimension(napi_env env, napi_value value, double max, size_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return 0;
  if (!(number >= 1 && number <= max) || number != (double)(int64_t)number) return 0;
  *out = (size_t)number;
  return 1;
}

/* Checks the arguments shared by blur and blurSync; throws and returns 0 if they are wrong. */
static int parse_image(napi_env env, napi_value *argv, image_args *image) {
  uint8_t *src, *dst;
  size_t src_length, dst_length;
  if (!get_bytes(env, argv[0], &src, &src_length) || !get_bytes(env, argv[1], &dst, &dst_length)) {
    throw_type(env, "ring-blur: src and dst must be Uint8Arrays");
    return 0;
  }
  if (!get_dimension(env, argv[2], 1 << 30, &image->width) || !get_dimension(env, argv[3], 1 << 30, &image->height) ||
      !get_dimension(env, argv[4], 1 << 20, &image->channels)) {
    throw_type(env, "ring-blur: width, height and channels must be positive integers");
    return 0;
  }
  if (image->width > SIZE_MAX / image->channels) {
    throw_type(env, "ring-blur: image too large");
    return 0;
  }
  size_t stride = image->width * image->channels;
  if (image->height > SIZE_MAX / stride) {
    throw_type(env, "ring-blur: image too large");
    return 0;
  }
  size_t length = stride * image->height;
  if (src_length < length || dst_length < length) {
    throw_type(env, "ring-blur: src or dst is shorter than width*height*channels");
    return 0;
  }
  uintptr_t s = (uintptr_t)src, d = (uintptr_t)dst;
  if (s < d + length && d < s + length) {
    throw_type(env, "ring-blur: src and dst must not overlap");
    return 0;
  }
  image->src = src;
  image->dst = dst;
  return 1;
}

static int run_rows(const image_args *image, size_t y0, size_t y1) {
  uint16_t *scratch = malloc(ring_blur_scratch_bytes(image->width, image->channels));
  if (scratch == NULL) return 0;
  ring_blur_rows(image->src, image->dst, image->width, image->height, image->channels, y0, y1, scratch);
  free(scratch);
  return 1;
}

static napi_value blur_sync(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  image_args image;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) return throw_type(env, "ring-blur: blurSync(src, dst, width, height, channels)");
  if (!parse_image(env, argv, &image)) return NULL;
  if (!run_rows(&image, 0, image.height)) napi_throw_error(env, NULL, "ring-blur: out of memory");
  return NULL;
}

static int run_in_place(const image_args *image) {
  uint16_t *scratch = malloc(ring_blur_in_place_scratch_bytes(image->width, image->channels));
  if (scratch == NULL) return 0;
  ring_blur_in_place(image->dst, image->width, image->height, image->channels, scratch);
  free(scratch);
  return 1;
}

static void execute_part(napi_env env, void *data) {
  (void)env;
  blur_part *part = data;
  const blur_task *task = part->task;
  const image_args *image = &task->image;
  if (task->kernel_size) {
    kernel_rows(image->src, image->dst, image->width, image->height, image->channels, task->kernel_size, task->kernel,
                task->offset, part->y0, part->y1);
    return;
  }
  if (!(task->in_place ? run_in_place(image) : run_rows(image, part->y0, part->y1))) part->failed = 1;
}

/* Releases the buffers and resolves or rejects the promise: on the main thread, once every part is done. */
static void settle(napi_env env, blur_task *task) {
  napi_delete_reference(env, task->src_ref);
  napi_delete_reference(env, task->dst_ref);
  napi_value result;
  if (task->failed) {
    napi_value message;
    napi_create_string_utf8(env, "ring-blur: the threadpool job failed (out of memory or cancelled)", NAPI_AUTO_LENGTH,
                            &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, task->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, task->deferred, result);
  }
  free(task);
}

static void complete_part(napi_env env, napi_status status, void *data) {
  blur_part *part = data;
  blur_task *task = part->task;
  if (status != napi_ok || part->failed) task->failed = 1;
  napi_delete_async_work(env, part->work);
  free(part);
  if (--task->remaining == 0) settle(env, task);
}

/* Queues the blur of `image` in `parts` threadpool jobs and returns the promise; argv[0] and argv[1] are kept alive. */
static napi_value start_task(napi_env env, napi_value *argv, image_args image, size_t parts, int in_place,
                             const blur_task *kernel) {
  if (parts > image.height) parts = image.height;

  /* Everything that can fail is set up before anything is queued, so a failure here just throws. */
  blur_task *task = calloc(1, sizeof *task);
  blur_part *list[MAX_PARTS] = {0};
  size_t created = 0;
  napi_value promise = NULL, name;
  int ok = task != NULL && napi_create_string_utf8(env, "pixelpress:ring-blur", NAPI_AUTO_LENGTH, &name) == napi_ok;
  for (; ok && created < parts; created++) {
    blur_part *part = calloc(1, sizeof *part);
    if (part == NULL) {
      ok = 0;
      break;
    }
    part->task = task;
    part->y0 = image.height * created / parts;
    part->y1 = image.height * (created + 1) / parts;
    if (napi_create_async_work(env, NULL, name, execute_part, complete_part, part, &part->work) != napi_ok) {
      free(part);
      ok = 0;
      break;
    }
    list[created] = part;
  }
  if (ok) ok = napi_create_promise(env, &task->deferred, &promise) == napi_ok;
  if (!ok) {
    for (size_t k = 0; k < created; k++) {
      napi_delete_async_work(env, list[k]->work);
      free(list[k]);
    }
    free(task);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "ring-blur: could not start the threadpool job");
    return NULL;
  }
  task->image = image;
  task->in_place = in_place;
  if (kernel != NULL) {
    task->kernel_size = kernel->kernel_size;
    for (int i = 0; i < 25; i++) task->kernel[i] = kernel->kernel[i];
    task->offset = kernel->offset;
  }
  task->remaining = (int)parts;
  napi_create_reference(env, argv[0], 1, &task->src_ref);
  napi_create_reference(env, argv[1], 1, &task->dst_ref);
  for (size_t k = 0; k < parts; k++) {
    if (napi_queue_async_work(env, list[k]->work) != napi_ok) {
      /* Not expected; count it as done and failed so the promise still settles once the queued parts finish. */
      task->failed = 1;
      napi_delete_async_work(env, list[k]->work);
      free(list[k]);
      if (--task->remaining == 0) settle(env, task);
    }
  }
  return promise;
}

static napi_value blur_async(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  image_args image;
  size_t parts = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) return throw_type(env, "ring-blur: blur(src, dst, width, height, channels, parts?)");
  if (!parse_image(env, argv, &image)) return NULL;
  if (argc >= 6 && !get_dimension(env, argv[5], MAX_PARTS, &parts)) {
    return throw_type(env, "ring-blur: parts must be an integer from 1 to 16");
  }
  return start_task(env, argv, image, parts, 0, NULL);
}

static napi_value blur_in_place(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[5];
  image_args image;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) return throw_type(env, "ring-blur: blurInPlace(image, width, height, channels)");
  /* Checked as blur(src, dst, ...) is, with a scratch view standing for dst: the same length rules apply. */
  napi_value with_dst[5] = {argv[0], argv[0], argv[1], argv[2], argv[3]};
  uint8_t *data;
  size_t length;
  if (!get_bytes(env, argv[0], &data, &length)) return throw_type(env, "ring-blur: image must be a Uint8Array");
  if (!get_dimension(env, argv[1], 1 << 30, &image.width) || !get_dimension(env, argv[2], 1 << 30, &image.height) ||
      !get_dimension(env, argv[3], 1 << 20, &image.channels)) {
    return throw_type(env, "ring-blur: width, height and channels must be positive integers");
  }
  if (image.width > SIZE_MAX / image.channels || image.height > SIZE_MAX / (image.width * image.channels) ||
      length < image.width * image.channels * image.height) {
    return throw_type(env, "ring-blur: image is shorter than width*height*channels");
  }
  image.src = data;
  image.dst = data;
  return start_task(env, with_dst, image, 1, 1, NULL);
}

static napi_value convolve(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  image_args image;
  blur_task kernel = {0};
  size_t parts = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 7) return throw_type(env, "kernel: convolve(src, dst, width, height, channels, weights, offset, parts?)");
  if (!parse_image(env, argv, &image)) return NULL;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t count = 0;
  void *weights = NULL;
  if (napi_is_typedarray(env, argv[5], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[5], &type, &count, &weights, NULL, NULL) != napi_ok ||
      type != napi_float32_array || (count != 9 && count != 25)) {
    return throw_type(env, "kernel: weights must be a Float32Array of 9 or 25");
  }
  double offset;
  if (napi_get_value_double(env, argv[6], &offset) != napi_ok) return throw_type(env, "kernel: offset must be a number");
  if (argc >= 8 && !get_dimension(env, argv[7], MAX_PARTS, &parts)) {
    return throw_type(env, "kernel: parts must be an integer from 1 to 16");
  }
  kernel.kernel_size = count == 9 ? 3 : 5;
  for (size_t i = 0; i < count; i++) kernel.kernel[i] = ((const float *)weights)[i];
  kernel.offset = (float)offset;
  return start_task(env, argv, image, parts, 0, &kernel);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn_sync, fn_async, fn_in_place, isa;
  napi_create_function(env, "blurSync", NAPI_AUTO_LENGTH, blur_sync, NULL, &fn_sync);
  napi_create_function(env, "blur", NAPI_AUTO_LENGTH, blur_async, NULL, &fn_async);
  napi_create_string_utf8(env, ring_blur_isa(), NAPI_AUTO_LENGTH, &isa);
  napi_set_named_property(env, exports, "blurSync", fn_sync);
  napi_set_named_property(env, exports, "blur", fn_async);
  napi_create_function(env, "blurInPlace", NAPI_AUTO_LENGTH, blur_in_place, NULL, &fn_in_place);
  napi_set_named_property(env, exports, "blurInPlace", fn_in_place);
  napi_set_named_property(env, exports, "isa", isa);
  napi_value fn_convolve;
  napi_create_function(env, "convolve", NAPI_AUTO_LENGTH, convolve, NULL, &fn_convolve);
  napi_set_named_property(env, exports, "convolve", fn_convolve);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
