#!/bin/sh
# The whole boot, not only the tests, must be free of kernel splats.
# The testbed's one list of kernel splats, installed beside this script.
SPLAT=$(cat "$(dirname "$0")/splat.ere") || exit 1
if dmesg | grep -E "$SPLAT"; then
	echo "kernel log has splats"
	exit 1
fi
echo "kernel log clean ($(dmesg | wc -l) lines)"
