#!/usr/bin/env bash
# The decoder tests compare pixels against independent decoders from Debian: heif-enc/heif-convert (libheif-examples,
# with the x265/libde265 plugins where the release splits them out), pdftoppm (poppler-utils) and ImageMagick.
# Install whatever is missing when we may; otherwise say so: the tests fail under CI=true and skip loudly elsewhere.
set -euo pipefail
need=()
[ -x /usr/bin/heif-enc ] && [ -x /usr/bin/heif-convert ] || need+=(libheif-examples)
[ -x /usr/bin/pdftoppm ] || need+=(poppler-utils)
[ -x /usr/bin/convert ] || need+=(imagemagick)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pretest: installing ${need[*]} for the decoder tests" >&2
  install() { apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }
  install "${need[@]}" || { apt-get update >/dev/null && install "${need[@]}"; }
  # Debian 13 and later ship libheif's codecs as plugins; bookworm links them in and has no such packages.
  if [[ " ${need[*]} " == *" libheif-examples "* ]] && apt-cache show libheif-plugin-x265 >/dev/null 2>&1; then
    install libheif-plugin-x265 libheif-plugin-libde265 || true
  fi
else
  echo "pretest: ${need[*]} missing and cannot be installed here (run as root: apt-get install ${need[*]})" >&2
fi
