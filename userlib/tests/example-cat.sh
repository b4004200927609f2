#!/bin/sh
# daxvm-cat must copy files byte for byte (text, empty, binary over several
# pages, repeated) and, on errors, copy the rest, name the file and exit 1.
#   usage: example-cat.sh DAXVM_CAT WORK_DIR
set -eu
dcat=$1
work=$2
die() { echo "example-cat: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
printf 'first line\nsecond line\n' >"$work/text"
: >"$work/empty"
head -c 20000 /dev/urandom >"$work/binary"  # all byte values, not page sized
head -c 4096 /dev/urandom >"$work/page"

"$dcat" "$work/text" "$work/empty" "$work/binary" "$work/page" "$work/text" >"$work/out" ||
  die "failed on good files"
cat "$work/text" "$work/empty" "$work/binary" "$work/page" "$work/text" >"$work/want"
cmp "$work/out" "$work/want" || die "output differs from cat's"
"$dcat" "$work/empty" >"$work/out" || die "failed on an empty file"
[ ! -s "$work/out" ] || die "an empty file gave output"

rc=0
"$dcat" "$work/text" "$work/missing" "$work" "$work/text" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || die "exit $rc with a missing file and a directory, want 1"
grep -qxF "$work/missing: No such file or directory" "$work/err" || die "stderr: $(cat "$work/err")"
grep -qxF "$work: Is a directory" "$work/err" || die "stderr: $(cat "$work/err")"
cat "$work/text" "$work/text" | cmp - "$work/out" || die "good files not copied after an error"

if [ -w /dev/full ]; then
  rc=0
  "$dcat" "$work/text" >/dev/full 2>"$work/err" || rc=$?
  [ "$rc" = 1 ] || die "exit $rc writing to /dev/full, want 1"
  grep -qxF "$work/text: write: No space left on device" "$work/err" || die "stderr: $(cat "$work/err")"
fi
echo "cat ok"
