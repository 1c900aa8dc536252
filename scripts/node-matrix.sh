#!/usr/bin/env bash
# Runs the production install, the build and the whole test suite under other Node lines (default 22 and 24), each in
# a clean clone of the committed HEAD so that nothing built by the machine's own Node leaks in.
#
# The node binaries come from the npm registry's `node` package (`npx -p node@22`), so no other download is needed.
# Inside, `npm`'s `#!/usr/bin/env node` picks up that node from PATH: npm ci, the native addon's install script and
# the tests all run on the version under test. That node package has no C headers, so the optional native addon is
# skipped there and the pure-TypeScript ring-blur kernel is what gets tested (the addon is Node-API, version-neutral).
#
#   scripts/node-matrix.sh            # 22 and 24
#   scripts/node-matrix.sh 22         # one line
#   KEEP=1 scripts/node-matrix.sh     # keep the clones (printed) to look at failures
# Logs go to $OUT (default /tmp/pixelpress-node-matrix); the summary is the last lines printed. Exit 1 if any failed.
set -uo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
out=${OUT:-/tmp/pixelpress-node-matrix}
mkdir -p "$out"
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(22 24)
summary=()
failed=0
for version in "${versions[@]}"; do
  dir=$(mktemp -d "/tmp/pixelpress-node$version.XXXXXX")
  log="$out/node$version.log"
  git clone --quiet --no-hardlinks "$repo" "$dir/pixelpress"
  echo "node $version: $dir/pixelpress, log $log" >&2
  start=$(date +%s)
  (
    cd "$dir/pixelpress" &&
      npx --yes -p "node@$version" -- bash -c '
        set -e
        echo "node $(node -v) npm $(npm -v)"
        npm ci --no-audit --no-fund
        npm run build
        npm test' 
  ) >"$log" 2>&1
  status=$?
  seconds=$(( $(date +%s) - start ))
  # TAP (# pass 3) on Node 22, the spec reporter (ℹ pass 3) on Node 24.
  tests=$(grep -E '^(#|ℹ) (tests|pass|fail|skipped|todo) ' "$log" | sed -E 's/^(#|ℹ) //' | tr '\n' ' ')
  if [ $status -eq 0 ]; then summary+=("node $version: passed in ${seconds}s ($tests)"); else summary+=("node $version: FAILED (exit $status) in ${seconds}s ($tests) see $log"); failed=1; fi
  [ "${KEEP:-}" = 1 ] || rm -rf "$dir"
done
printf '%s\n' "${summary[@]}"
exit $failed
