#!/bin/sh
# age_test.sh DAXVM_AGE PYTHON WORKDIR: aging in an 8 MiB budget reaches the
# targets, and the same seed replays the same operations.
set -eu
age=$1 py=$2 w=$3
rm -rf "$w"
mkdir -p "$w"
"$age" --dir "$w/a" --capacity 8M --util 0.7 --turnover 3 --seed 5 --probe-size 1M --out "$w/a.json"
"$age" --dir "$w/b" --capacity 8M --util 0.7 --turnover 3 --seed 5 --probe-size 1M --out "$w/b.json" 2>/dev/null
"$age" --dir "$w/c" --capacity 8M --util 0.7 --turnover 3 --seed 6 --probe-size 1M --out "$w/c.json" 2>/dev/null
"$py" - "$w" <<'PY'
import json, sys
w = sys.argv[1]
a, b, c = (json.load(open(f"{w}/{n}.json")) for n in "abc")
errs = []
if a["ops_digest"] != b["ops_digest"]: errs.append("same seed, different operations")
if a["ops_digest"] == c["ops_digest"]: errs.append("different seeds, same operations")
if a["turnover"] < 3: errs.append(f"turnover {a['turnover']}")
if not 0.5 <= a["util_reached"] <= 0.7: errs.append(f"utilisation {a['util_reached']}")
if a["files_deleted"] == 0: errs.append("no churn")
for k in ("probe_extents", "seed", "env", "bytes_written", "files_live"):
    if k not in a: errs.append(f"missing {k}")
print("\n".join(errs) or f"ok: digest {a['ops_digest']}, {a['files_created']} created, probe extents {a['probe_extents']}")
sys.exit(1 if errs else 0)
PY
rm -rf "$w/a" "$w/b" "$w/c"
