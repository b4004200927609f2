#!/bin/sh
# collect_plot.sh PYTHON BENCHSRC WORKDIR: CSV and one PNG per figure from the
# raw results of the other tests; both must be non-empty.
set -eu
py=$1 src=$2 work=$3
"$py" "$src/collect.py" "$work/raw" -o "$work/data.csv"
rows=$(($(wc -l <"$work/data.csv") - 1))
[ "$rows" -gt 0 ] || { echo "empty CSV"; exit 1; }
echo "data.csv: $rows rows"
for fig in read append overwrite db; do
  "$py" "$src/plot.py" "$fig" "$work/data.csv" -o "$work/$fig.png"
  [ -s "$work/$fig.png" ] || { echo "empty $fig.png"; exit 1; }
  head -c 8 "$work/$fig.png" | od -An -c | grep -q 'P   N   G' || { echo "$fig.png is not a PNG"; exit 1; }
done
# Unsupported variants are in the CSV with their reason, without numbers.
if [ ! -e /proc/fs/daxvm/version ]; then
  "$py" - "$work/data.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
bad = [r for r in rows if "daxvm" in r["variant"] and (r["status"] != "unsupported" or r["seconds"])]
sys.exit(f"{len(bad)} DaxVM rows with numbers on a kernel without DaxVM" if bad else 0)
PY
fi
