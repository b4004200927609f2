#!/bin/sh
# Installs the build into a scratch prefix, then builds and runs two
# consumers: a CMake one (find_package(daxvm) -> daxvm::daxvm) and a C one
# via pkg-config (daxvm.pc), runs the installed daxvm-info and preloads the
# installed libdaxvm-preload.so (next to libdaxvm) into a program.
#   usage: install-check.sh BUILD_DIR [EXTRA_FLAGS]
set -eu
build=$1
flags=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$build/install-check
prefix=$work/prefix
die() { echo "install-check: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
# Nothing may find the library by accident: only RPATHs and -rpath count.
unset LD_LIBRARY_PATH

# The libdir is whatever GNUInstallDirs chose (lib, lib64,
# lib/x86_64-linux-gnu, ...): find the files instead of assuming it.
find_one() {
  found=$(find "$prefix" -path "$prefix/$1" -type f)
  if [ -z "$found" ] || [ "$(echo "$found" | wc -l)" -ne 1 ]; then
    die "want exactly one $1 in $prefix, found: ${found:-none}"
  fi
  echo "$found"
}
pc=$(find_one '*/pkgconfig/daxvm.pc')
info=$(find_one '*/daxvm-info')

cmake -S "$here/consumer" -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$work/configure.log"
cmake --build "$work/cmake-consumer" >"$work/build.log"
"$work/cmake-consumer/consumer"

PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
pkg-config --exists --print-errors daxvm
libdir=$(pkg-config --variable=libdir daxvm)
[ -d "$libdir" ] || die "daxvm.pc: libdir $libdir does not exist"
# shellcheck disable=SC2046,SC2086  # pkg-config output and $flags are meant to be split
cc -std=c11 -Wall -Wextra -Werror $flags $(pkg-config --cflags daxvm) "$here/consumer/consumer.c" \
  $(pkg-config --libs daxvm) -Wl,-rpath,"$libdir" -o "$work/c-consumer"
"$work/c-consumer"

# The installed tool must find an installed shared libdaxvm on its own.
"$info" "$prefix" >"$work/info.json" || die "installed $info does not run"
grep -q '"kernel": {"daxvm": ' "$work/info.json" || die "installed daxvm-info: $(cat "$work/info.json")"
echo "installed daxvm-info ok"

# The preload shim is installed with the library, in the same libdir.
preload=$(find_one '*/libdaxvm-preload.so')
[ "$(cd "$(dirname "$preload")" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] ||
  die "$preload is not in the libdir $libdir"
rm -f "$work/preload.stats"
# A system program (the consumers may carry ASan, which must come first)
# that leaves by exit(), not _exit() as dash does, so the report is written.
LD_PRELOAD=$preload DAXVM_PRELOAD_STATS=$work/preload.stats cat /dev/null ||
  die "cat fails under the installed $preload"
grep -q '^attached [0-9]* fallback [0-9]*' "$work/preload.stats" ||
  die "installed $preload wrote no stats: $(cat "$work/preload.stats" 2>/dev/null)"
echo "installed libdaxvm-preload.so ok"
echo "install check ok"
