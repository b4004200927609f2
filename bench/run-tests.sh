#!/bin/sh
# Configure, build (-j2) and run the benchmark tests in $BUILD_DIR
# (default /work/main/build/bench, i.e. build/bench of this checkout).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
BUILD_DIR=${BUILD_DIR:-$here/../build/bench}
gen=
command -v ninja >/dev/null 2>&1 && [ ! -e "$BUILD_DIR/CMakeCache.txt" ] && gen="-G Ninja"
cmake -S "$here" -B "$BUILD_DIR" $gen >/dev/null
cmake --build "$BUILD_DIR" -j2
cd "$BUILD_DIR"
ctest --output-on-failure -j1 "$@"
