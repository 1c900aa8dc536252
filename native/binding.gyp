{
  "targets": [
    {
      "target_name": "ring_blur",
      "sources": ["addon.c", "ring_blur.c", "kernel.c"],
      "cflags": ["-O3", "-std=gnu11", "-Wall", "-Wextra", "-fno-strict-aliasing", "-ffp-contract=off"],
      "defines": ["NAPI_VERSION=8"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=off"] }
    }
  ]
}
