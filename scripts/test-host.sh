#!/usr/bin/env bash
# Host half of `make test`: the userlib's GoogleTest suites (normal and
# ASan+UBSan builds), the testbed's own error-handling tests, checkpatch on
# every kernel patch and ansible-lint. Results: build/results/host.json.
source "$(dirname "$0")/lib.sh"

RES=$BUILD/results
# Results grow in a temporary file that becomes host.json only at the end:
# a run that dies half-way leaves no host.json, which counts as failed.
OUT=$RES/host.json.part
mkdir -p "$RES"
rm -f "$RES/host.json"
: >"$OUT"

record() { # NAME STATUS [LOG]
	result_add "$OUT" "$1" "$2" ${3:+log="$3"}
}

# ctest's JUnit report, one JSON line per test case.
junit_to_json() { # PREFIX XML
	"$PY" - "$TOP/scripts" "$1" "$2" "$OUT" <<'PY'
import sys, xml.etree.ElementTree as ET
sys.path.insert(0, sys.argv[1])
import result
prefix, path, out = sys.argv[2:5]
for case in ET.parse(path).getroot().iter("testcase"):
    status = case.get("status", "run")
    if case.find("failure") is not None or case.find("error") is not None:
        s = "fail"
    elif case.find("skipped") is not None or status in ("notrun", "disabled"):
        s = "skip"
    else:
        s = "pass"
    result.append(out, f"{prefix}{case.get('name')}", s)
PY
}

ctest_suite() { # NAME SOURCE_DIR [CMAKE_ARGS...]
	local name=$1 src=$2 dir=$BUILD/$1 log=$RES/$1.log
	shift 2
	log "$name: build and host tests (log: ${log#$TOP/})"
	if cmake -S "$src" -B "$dir" "$@" >"$log" 2>&1 &&
		cmake --build "$dir" -j"$(nproc)" >>"$log" 2>&1; then
		rm -f "$dir/junit.xml"
		(cd "$dir" && ctest -LE guest -j"$(nproc)" --output-junit "$dir/junit.xml" >>"$log" 2>&1) || true
		if [ -f "$dir/junit.xml" ]; then
			junit_to_json "$name." "$dir/junit.xml"
		else
			record "$name.ctest" fail "$log"
		fi
	else
		record "$name.build" fail "$log"
	fi
}

# Once the series carries the uapi header, the userlib's copy of the values
# must match it (the test skips only while no such patch exists).
active=$(grep -v '^#' "$TOP/kernel-patches/series" | sed "s|^|$TOP/kernel-patches/|" || true)
if [ -n "$active" ] && grep -qs 'include/uapi/linux/daxvm.h' $active; then
	export DAXVM_REQUIRE_PATCH=1
fi
ctest_suite userlib "$TOP/userlib" -DDAXVM_SANITIZE=OFF
ctest_suite userlib-sanitize "$TOP/userlib" -DDAXVM_SANITIZE=ON
ctest_suite bench "$TOP/bench"

log "testbed error handling"
"$TOP/tests/host/testbed.sh" "$RES/testbed.json" >"$RES/testbed.log" 2>&1
"$PY" "$TOP/scripts/result.py" copy --prefix testbed. "$RES/testbed.json" "$OUT" ||
	record testbed fail "$RES/testbed.log"

log "checkpatch on kernel-patches/"
"$TOP/scripts/kernel.sh" prepare
# Every patch, staged or applied.
for p in $(cd "$TOP/kernel-patches" && ls -1 -- *.patch 2>/dev/null); do
	log_p=$RES/checkpatch-$p.log
	if "$TOP/scripts/checkpatch.sh" "$TOP/kernel-patches/$p" >"$log_p" 2>&1; then
		record "checkpatch.$p" pass
	else
		record "checkpatch.$p" fail "$log_p"
	fi
done

log "ansible-lint"
if (cd "$TOP/ansible" && ansible-lint -q) >"$RES/ansible-lint.log" 2>&1; then
	record ansible-lint pass
else
	record ansible-lint fail "$RES/ansible-lint.log"
fi

mv "$OUT" "$RES/host.json"
"$TOP/scripts/summary.sh" "$RES/host.json" | tail -n 1 | sed 's/^/host: /'
