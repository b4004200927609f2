#!/usr/bin/env bash
# Sum up JSON-lines result files (one {"name","status",...} object a line,
# written by scripts/result.py) into the one line CI and users read, always
# the last line: "N passed, N failed, N skipped".
# A missing results file counts as a failure: no result is not a pass. So
# does a line that is not a valid record (named after its test when the
# name can be made out): one broken record never hides the others.
# SHOW_LOGS=1 prints the end of each failing test's log first (CI keeps
# only the terminal output).
#   summary.sh RESULTS.json...
source "$(dirname "$0")/lib.sh"
"$PY" - "$TOP/scripts" "$@" <<'PY'
import os, pathlib, sys

sys.path.insert(0, sys.argv[1])
import result


def show(text):
    """@text for the terminal: control characters escaped (\\n, \\x00)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


counts = {"pass": 0, "fail": 0, "skip": 0}
failed = []
partly = []
for name in sys.argv[2:]:
    path = pathlib.Path(name)
    if not path.exists():
        counts["fail"] += 1
        failed.append(f"{path.name}: missing (that part did not run)")
        continue
    for r in result.load(path):
        counts[r["status"]] += 1
        if r["status"] == "fail":
            why = f"  (malformed record: {r['malformed']})" if r.get("malformed") else ""
            log = r.get("log") if isinstance(r.get("log"), str) else ""
            line = show(f"{path.stem}: {r['name']}" + (f"  (log: {log})" if log else "") + why)
            # A short detail (testbed checks) is shown under its line.
            detail = r.get("detail") if isinstance(r.get("detail"), str) else ""
            failed.append(line + "".join(f"\n    {show(d)}" for d in detail.splitlines()[-5:]))
            # A guest's logs are unpacked next to its results (tests role).
            fetched = path.with_name(f"{path.stem}-logs") / pathlib.PurePath(log).name if log else None
            shown = next((p for p in (pathlib.Path(log), fetched) if log and p.is_file()), None)
            if os.environ.get("SHOW_LOGS") == "1" and shown:
                tail = shown.read_text(errors="replace").splitlines()[-40:]
                print(f"--- end of {shown} ({show(r['name'])})", *map(show, tail), sep="\n    ")
        if r.get("skipped_cases"):
            partly.append(show(f"{path.stem}: {r['name']} ({r['skipped_cases']} cases skipped)"))
for f in failed:
    print("FAILED", f)
for p in partly:
    print("PASSED, PARTLY SKIPPED", p)
print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
sys.exit(1 if counts["fail"] else 0)
PY
