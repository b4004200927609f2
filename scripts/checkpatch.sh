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
	# Debian's python3 first: checkpatch runs spdxcheck.py, which needs
	# python3-ply (a pyenv shim earlier in PATH may lack it).
	(cd "$BUILD/linux" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict --quiet "$p") || rc=1
done
exit $rc
