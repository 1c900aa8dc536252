#!/usr/bin/env bash
# Debian tools the tests compare against or drive: Chromium for the /docs browser test (playwright's own browser
# download cannot work offline) and Pillow for the filter references. Install what is missing when we may; otherwise
# say so: those tests fail under CI=true and skip elsewhere.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pretest: installing Debian's ${missing[*]} for the tests" >&2
  (apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1) || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "pretest: ${missing[*]} missing and cannot be installed here (run as root: apt-get install ${missing[*]})" >&2
fi
