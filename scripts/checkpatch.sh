#!/usr/bin/env bash
# checkpatch --strict on kernel patches (default: every one in
# kernel-patches/), run inside the prepared tree; fails if any patch does.
#   checkpatch.sh [PATCH...]
source "$(dirname "$0")/lib.sh"
"$TOP/scripts/kernel.sh" prepare >/dev/null
[ $# -gt 0 ] || set -- "$TOP"/kernel-patches/*.patch
rc=0
for p in "$@"; do
	p=$(realpath "$p")
	(cd "$BUILD/linux" && scripts/checkpatch.pl --strict --quiet "$p") || rc=1
done
exit $rc
