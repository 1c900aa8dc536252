#!/usr/bin/env bash
# Debian tools the tests compare against or drive: Chromium for the /docs browser test (playwright's own browser
# download cannot work offline), Pillow and a camera photograph (mate-backgrounds) for the filter references, and the decoder references heif-enc/heif-convert
# (libheif-examples, with the x265/libde265 plugins where the release splits them out), pdftoppm (poppler-utils) and
# ImageMagick, and tmux: a real terminal for the CLI's progress bar. Install whatever is missing when we may; otherwise say so: those tests fail under CI=true and skip
# loudly elsewhere.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || need+=(python3-pil)
[ -x /usr/bin/heif-enc ] && [ -x /usr/bin/heif-convert ] || need+=(libheif-examples)
[ -x /usr/bin/pdftoppm ] || need+=(poppler-utils)
[ -x /usr/bin/convert ] || need+=(imagemagick)
# librsvg's rsvg-convert: the SVG reference (ImageMagick 6 on Debian has no working SVG reader without a delegate).
[ -x /usr/bin/rsvg-convert ] || need+=(librsvg2-bin)
command -v tmux >/dev/null || need+=(tmux)
# jemalloc, which scripts/start.mjs preloads: the allocator test checks the settings it is started with.
[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || [ -f /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 ] || need+=(libjemalloc2)
# ICC profiles for the output-fidelity references: Adobe RGB-compatible and sRGB, and Ghostscript's CMYK (SWOP).
[ -f /usr/share/color/icc/compatibleWithAdobeRGB1998.icc ] || need+=(icc-profiles-free)
[ -f /usr/share/color/icc/ghostscript/default_cmyk.icc ] || need+=(libgs-common)
# A real camera photograph for the filter references (the bench uses the same package).
[ -f /usr/share/backgrounds/mate/nature/Storm.jpg ] || need+=(mate-backgrounds)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pretest: installing Debian's ${need[*]} for the tests" >&2
  install() { apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }
  install "${need[@]}" || { apt-get update >/dev/null && install "${need[@]}"; }
  # Debian 13 and later ship libheif's codecs as plugins; bookworm links them in and has no such packages.
  if [[ " ${need[*]} " == *" libheif-examples "* ]] && apt-cache show libheif-plugin-x265 >/dev/null 2>&1; then
    install libheif-plugin-x265 libheif-plugin-libde265 || true
  fi
else
  echo "pretest: ${need[*]} missing and cannot be installed here (run as root: apt-get install ${need[*]})" >&2
fi
