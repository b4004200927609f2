#!/bin/sh
# An unmodified program under libdaxvm-preload.so: python3, whose mmap
# module maps files MAP_SHARED. In DAX_DIR (an ext4 DAX mount of a DaxVM
# kernel) every mapping must attach (stats: fallback 0), the data equal
# read()'s and a write through a mapping land in the file; with
# DAXVM_PRELOAD_BATCHING=1 the munmaps leave zombies (zombies_made in
# /proc/fs/daxvm/stats grows; without it, it must not); with
# DAXVM_PRELOAD_NO_MSYNC=1 they attach too; DAXVM_PRELOAD_EPHEMERAL=1 is
# refused (EOPNOTSUPP) and falls back. In OTHER_DIR (not DAX) everything
# falls back with the same data. A bad option value: one message. Exit 4 (skip) with a DAX_DIR on a kernel without DaxVM.
#   usage: preload-check.sh PRELOAD_SO DAX_DIR|- OTHER_DIR
#   PYTHON  the interpreter (default python3)
set -eu
so=$1
dax=$2
other=$3
py=${PYTHON:-python3}
die() { echo "preload-check: $*" >&2; exit 1; }
[ -f "$so" ] || die "no $so"
if [ "$dax" != - ] && [ ! -r /proc/fs/daxvm/version ]; then
  echo "preload-check: kernel without DaxVM, skipped"
  exit 4
fi
# The interpreter itself, not a wrapper script in front of it (pyenv's
# shims run a dozen programs, each with the shim): one process, one line.
py=$("$py" -c 'import sys; print(sys.executable)') || die "no python"
work=$other/preload-check.work
rm -rf "$work"
mkdir -p "$work"

prog='
import hashlib, mmap, sys
path, n, write = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "write"
with open(path, "rb") as f:
    want = hashlib.sha256(f.read()).hexdigest()
with open(path, "r+b") as f:
    for _ in range(n):
        m = mmap.mmap(f.fileno(), 0)
        if hashlib.sha256(m).hexdigest() != want:
            sys.exit("mapping differs from read()")
        m.close()
    if write:
        m = mmap.mmap(f.fileno(), 0)
        m[0:12] = b"preload-test"
        m.flush()
        m.close()
print("python ok")
'

zombies() {
  if [ -r /proc/fs/daxvm/stats ]; then
    awk '$1 == "zombies_made" {print $2}' /proc/fs/daxvm/stats
  else
    echo 0
  fi
}

# run FILE N read|write [VAR=VALUE...]: sets $got to "ATTACHED FALLBACK"
# of the one stats line, $refused to its reasons.
run() {
  f=$1 n=$2 w=$3
  shift 3
  rm -f "$work/stats"
  env "$@" LD_PRELOAD="$so" DAXVM_PRELOAD_STATS="$work/stats" "$py" -c "$prog" "$f" "$n" "$w" \
    >"$work/out" 2>"$work/err" || die "python on $f ($*) failed: $(cat "$work/err")"
  grep -qx 'python ok' "$work/out" || die "python on $f ($*): $(cat "$work/out")"
  [ "$(wc -l <"$work/stats")" = 1 ] || die "want one stats line ($*): $(cat "$work/stats")"
  got=$(awk '{print $2, $4}' "$work/stats")
  refused=$(sed -n 's/.* refused //p' "$work/stats" | tr '\n' ' ')
  echo "$f $n $w${*:+ $*}: $(tr '\n' ';' <"$work/stats")"
}
expect() { # WANT WHAT
  [ "$got" = "$1" ] || die "$2: attached/fallback $got, want $1 (refused: $refused)"
}
quiet() {
  [ ! -s "$work/err" ] || die "unexpected messages: $(cat "$work/err")"
}

make_file() { # PATH
  head -c 4194304 /dev/urandom >"$1"
}

if [ "$dax" != - ]; then
  f=$dax/preload-check.dat
  make_file "$f"
  z=$(zombies)
  run "$f" 4 write
  expect "5 0" "DAX file"
  quiet
  [ "$(head -c 12 "$f")" = preload-test ] || die "the write through the mapping is not in $f"
  [ "$(zombies)" = "$z" ] || die "zombies made without DAXVM_PRELOAD_BATCHING"
  run "$f" 8 read DAXVM_PRELOAD_BATCHING=1
  expect "8 0" "DAX file, batching"
  quiet
  z2=$(zombies)
  [ "$z2" -gt "$z" ] || die "DAXVM_PRELOAD_BATCHING=1: no zombies made ($z -> $z2)"
  echo "zombies_made $z -> $z2"
  run "$f" 3 read DAXVM_PRELOAD_NO_MSYNC=1
  expect "3 0" "DAX file, no-msync"
  quiet
  run "$f" 3 read DAXVM_PRELOAD_EPHEMERAL=1
  expect "0 3" "DAX file, ephemeral (no kernel has it)"
  case $refused in *EOPNOTSUPP:*) ;; *) die "ephemeral refused for: $refused" ;; esac
  quiet
  rm -f "$f"
fi

f=$other/preload-check.dat
make_file "$f"
run "$f" 3 write
expect "0 4" "file in $other (not DAX)"
quiet
[ "$(head -c 12 "$f")" = preload-test ] || die "the write through the mapping is not in $f"
run "$f" 2 read DAXVM_PRELOAD_BATCHING=on
expect "0 2" "bad option value"
[ "$(cat "$work/err")" = 'libdaxvm-preload: DAXVM_PRELOAD_BATCHING="on": want 0 or 1; option off' ] ||
  die "bad option value: $(cat "$work/err")"
rm -f "$f"
rm -rf "$work"
echo "preload check ok"
