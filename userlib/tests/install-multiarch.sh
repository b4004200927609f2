#!/bin/sh
# Builds the library and examples with a Debian-style multiarch libdir
# (lib/x86_64-linux-gnu, what GNUInstallDirs picks there for prefix /usr),
# then runs install-check.sh on that build.
#   usage: install-multiarch.sh BUILD_DIR EXTRA_FLAGS [CMAKE_ARGS...]
set -eu
build=$1
flags=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build"
log=$build/multiarch.log
{ cmake -S "$here/.." -B "$build" "$@" -DDAXVM_BUILD_TESTS=OFF \
    -DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu && cmake --build "$build"; } >"$log" 2>&1 ||
  { cat "$log"; exit 1; }
exec "$here/install-check.sh" "$build" "$flags"
