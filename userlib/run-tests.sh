#!/usr/bin/env bash
# Configure, build and test userlib.  usage: run-tests.sh [--sanitize]
#   BUILD_DIR  build directory (default ../build/userlib relative to this
#              script, ../build/userlib-sanitize with --sanitize)
#   JOBS       parallel build/test jobs (default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sanitize=OFF
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=ON ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
default=$here/../build/userlib
[ "$sanitize" = ON ] && default=$default-sanitize
build=${BUILD_DIR:-$default}
jobs=${JOBS:-2}

generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S "$here" -B "$build" "${generator[@]}" -DDAXVM_SANITIZE="$sanitize"
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
