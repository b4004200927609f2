#!/usr/bin/env bash
# Sum up JSON-lines result files (one {"name","status",...} object a line)
# into the one line CI and users read: "N passed, N failed, N skipped".
# A missing results file counts as a failure: no result is not a pass.
# SHOW_LOGS=1 prints the end of each failing test's log first (CI keeps
# only the terminal output).
#   summary.sh RESULTS.json...
source "$(dirname "$0")/lib.sh"
"$PY" - "$@" <<'PY'
import json, os, pathlib, sys

counts = {"pass": 0, "fail": 0, "skip": 0}
failed = []
partly = []
for name in sys.argv[1:]:
    path = pathlib.Path(name)
    if not path.exists():
        counts["fail"] += 1
        failed.append(f"{path.name}: missing (that part did not run)")
        continue
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        counts[r["status"]] += 1
        if r["status"] == "fail":
            failed.append(f"{path.stem}: {r['name']}" + (f"  (log: {r['log']})" if r.get("log") else ""))
            log = pathlib.Path(r.get("log") or "/nonexistent")
            if os.environ.get("SHOW_LOGS") == "1" and log.is_file():
                tail = log.read_text(errors="replace").splitlines()[-25:]
                print(f"--- end of {log} ({r['name']})", *tail, sep="\n    ")
        if r.get("skipped_cases"):
            partly.append(f"{path.stem}: {r['name']} ({r['skipped_cases']} cases skipped)")
for f in failed:
    print("FAILED", f)
for p in partly:
    print("PASSED, PARTLY SKIPPED", p)
print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
sys.exit(1 if counts["fail"] else 0)
PY
