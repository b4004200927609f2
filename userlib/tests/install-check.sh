#!/bin/sh
# Installs the build into a scratch prefix, then builds and runs two
# consumers: a CMake one (find_package(daxvm) -> daxvm::daxvm) and a C one
# via pkg-config (daxvm.pc).  usage: install-check.sh BUILD_DIR [EXTRA_FLAGS]
set -eu
build=$1
flags=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$build/install-check
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"

cmake -S "$here/consumer" -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$work/configure.log"
cmake --build "$work/cmake-consumer" >"$work/build.log"
"$work/cmake-consumer/consumer"

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
pkg-config --exists --print-errors daxvm
libdir=$(pkg-config --variable=libdir daxvm)
# shellcheck disable=SC2046  # pkg-config output is meant to be split
cc -std=c11 -Wall -Wextra -Werror $flags $(pkg-config --cflags daxvm) "$here/consumer/consumer.c" \
  $(pkg-config --libs daxvm) -Wl,-rpath,"$libdir" -o "$work/c-consumer"
"$work/c-consumer"
echo "install check ok"
