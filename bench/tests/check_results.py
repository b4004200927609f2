#!/usr/bin/python3
"""Check the raw JSON of one daxvm-bench run (used by ctest).

  check_results.py RAWDIR --benchmark read --variants read,mmap,daxvm --trials 2

Every expected variant must have `trials` files per configuration with the
schema's fields; measured ones have positive times and counts; DaxVM
variants must be `unsupported` (never numbers) when the kernel has no DaxVM.
Read results of the frag layout must be fragmented (FIEMAP extents >= half
the pages) where the file system reports extents (`extra.file_extents` not
null); where it does not (tmpfs), the check is skipped and says so.
"""
import argparse
import json
import os
import pathlib
import sys

REQUIRED = ["schema", "benchmark", "variant", "params", "trial", "status", "reason", "seconds",
            "ops", "bytes", "seconds_per_op", "faults_minor", "faults_major",
            "faults_minor_per_op", "faults_major_per_op", "tlb_flushes", "tlb_flushes_per_op",
            "tlb_shootdown_ipis", "tlb_shootdown_ipis_per_op",
            "syscalls_per_op", "extra", "env"]
ENV = ["kernel", "kernel_version", "kernel_commit", "host", "cpu_model", "accel", "hypervisor",
       "fs_type", "daxvm_kernel", "daxvm_knobs", "timestamp"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--benchmark", required=True)
    ap.add_argument("--variants", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--kernel-commit", help="expected env.kernel_commit")
    a = ap.parse_args()
    errors = []
    no_fiemap = set()
    daxvm_kernel = os.path.exists("/proc/fs/daxvm/version")
    files = sorted(pathlib.Path(a.raw).glob(f"{a.benchmark}-*.json"))
    if not files:
        print(f"no {a.benchmark} results in {a.raw}")
        return 1
    seen = {}
    for f in files:
        d = json.loads(f.read_text())
        where = f.name
        for k in REQUIRED:
            if k not in d:
                errors.append(f"{where}: missing {k}")
        for k in ENV:
            if k not in d.get("env", {}):
                errors.append(f"{where}: env missing {k}")
        if d.get("benchmark") != a.benchmark:
            errors.append(f"{where}: benchmark {d.get('benchmark')}")
        v = d.get("variant")
        key = (v, json.dumps(d.get("params"), sort_keys=True))
        seen.setdefault(key, set()).add(d.get("trial"))
        st = d.get("status")
        if "daxvm" in v and not daxvm_kernel:
            if st != "unsupported" or d.get("seconds") is not None or not d.get("reason"):
                errors.append(f"{where}: DaxVM variant on a kernel without DaxVM must be "
                              f"unsupported with a reason and no numbers, is {st}")
            continue
        if st != "ok":
            errors.append(f"{where}: status {st}: {d.get('reason')}")
            continue
        if not (isinstance(d["seconds"], (int, float)) and d["seconds"] > 0):
            errors.append(f"{where}: seconds {d['seconds']}")
        if not (isinstance(d["ops"], int) and d["ops"] > 0):
            errors.append(f"{where}: ops {d['ops']}")
        for k in ("faults_minor", "faults_major"):
            if not (isinstance(d[k], int) and d[k] >= 0):
                errors.append(f"{where}: {k} {d[k]}")
        p = d.get("params") or {}
        if d["benchmark"] == "read" and p.get("layout") == "frag":
            ext = (d.get("extra") or {}).get("file_extents")
            pages = -(-p["size"] // 4096)
            if ext is None:
                no_fiemap.add(d["env"].get("fs_type"))
            elif ext < max(1, pages // 2):
                errors.append(f"{where}: frag layout not fragmented: {ext} extents for "
                              f"{pages} pages")
        if a.kernel_commit and d["env"].get("kernel_commit") != a.kernel_commit:
            errors.append(f"{where}: kernel_commit {d['env'].get('kernel_commit')}")
    variants = {k[0] for k in seen}
    for v in a.variants.split(","):
        if v not in variants:
            errors.append(f"variant {v} has no results")
    for (v, p), trials in seen.items():
        if trials != set(range(a.trials)):
            errors.append(f"{v} {p}: trials {sorted(trials)}, want 0..{a.trials - 1}")
    for fs in sorted(no_fiemap, key=str):
        print(f"SKIPPED frag-layout fragmentation check: no FIEMAP extent count on {fs}")
    for e in errors:
        print(e)
    print(f"{len(files)} files, {len(seen)} configurations, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
