#!/bin/sh
# issue3_check.sh PYTHON BENCHSRC: issue3.py --check on two kept runs, one
# that meets every target (exit 0) and one that misses three (exit 1).
set -u
py=$1 src=$2
met=$src/results/issue3-small-20261207/data.csv
missed=$src/results/issue3-pud-20261128/data.csv
"$py" "$src/issue3.py" "$met" --check >/dev/null || { echo "targets not met in $met"; exit 1; }
out=$("$py" "$src/issue3.py" "$missed" --check)
rc=$?
n=$(printf '%s\n' "$out" | grep -c '| MISSED |')
[ "$rc" = 1 ] && [ "$n" = 3 ] || { echo "want exit 1 and 3 missed, got $rc and $n"; exit 1; }
echo "met: exit 0; missed: exit 1 with $n targets missed"
