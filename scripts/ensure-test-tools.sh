#!/usr/bin/env bash
# The /docs browser test drives Debian's Chromium (playwright's own browser download cannot work offline).
# Install it when missing and we may; otherwise say so: the test fails under CI=true and skips elsewhere.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pretest: installing Debian's chromium for the browser test" >&2
  (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1) || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
else
  echo "pretest: /usr/bin/chromium is missing and cannot be installed here (run as root: apt-get install chromium)" >&2
fi
