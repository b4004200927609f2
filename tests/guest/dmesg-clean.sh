#!/bin/sh
# The whole boot, not only the tests, must be free of kernel splats.
SPLAT='WARNING:|BUG:|KASAN:|UBSAN:|Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|Call Trace:'
if dmesg | grep -E "$SPLAT"; then
	echo "kernel log has splats"
	exit 1
fi
echo "kernel log clean ($(dmesg | wc -l) lines)"
