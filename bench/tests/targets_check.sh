#!/bin/sh
# targets_check.sh PYTHON BENCHSRC: targets.py read --check on two kept
# runs, one that meets every target (exit 0) and one that misses three
# (exit 1).
set -u
py=$1 src=$2
met=$src/results/read-small-20261207/data.csv
missed=$src/results/read-pud-20261128/data.csv
"$py" "$src/targets.py" read "$met" --check >/dev/null || { echo "targets not met in $met"; exit 1; }
out=$("$py" "$src/targets.py" read "$missed" --check)
rc=$?
n=$(printf '%s\n' "$out" | grep -c '| MISSED |')
[ "$rc" = 1 ] && [ "$n" = 3 ] || { echo "want exit 1 and 3 missed, got $rc and $n"; exit 1; }
echo "met: exit 0; missed: exit 1 with $n targets missed"
