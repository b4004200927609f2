#!/usr/bin/python3
"""Collect daxvm-bench raw JSON (one file per trial) into one tidy CSV.

  bench/collect.py RAWDIR [RAWDIR...] -o data.csv

One row per trial. Parameters become param_<name> columns, the per-run
extras extra_<name>, the environment env_<name>; unsupported and failed
trials are kept (status, reason) so a plot can say what was not measured.
Exits non-zero when no result is found or a file is not valid JSON.
"""
import argparse
import csv
import json
import pathlib
import sys

CORE = ["benchmark", "variant", "status", "reason", "trial", "seconds", "ops", "bytes",
        "seconds_per_op", "faults_minor", "faults_major", "faults_minor_per_op",
        "faults_major_per_op", "tlb_flushes_per_op", "tlb_shootdown_ipis_per_op", "syscalls_per_op"]
ENV = ["kernel", "kernel_commit", "accel", "hypervisor", "cpu_model", "cpus_online", "host",
       "fs_type", "fs_dax", "daxvm_kernel", "device", "timestamp"]


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return v


def load(paths):
    rows, bad = [], []
    for root in paths:
        root = pathlib.Path(root)
        files = sorted(root.rglob("*.json")) if root.is_dir() else [root]
        for f in files:
            try:
                d = json.loads(f.read_text())
            except (OSError, ValueError) as e:
                bad.append(f"{f}: {e}")
                continue
            if not isinstance(d, dict) or "benchmark" not in d or "variant" not in d:
                continue  # not a trial file (e.g. an aging summary)
            row = {k: scalar(d.get(k)) for k in CORE}
            for k, v in (d.get("params") or {}).items():
                row[f"param_{k}"] = scalar(v)
            for k, v in (d.get("extra") or {}).items():
                row[f"extra_{k}"] = scalar(v)
            env = d.get("env") or {}
            for k in ENV:
                row[f"env_{k}"] = scalar(env.get(k))
            row["env_daxvm_knobs"] = scalar(env.get("daxvm_knobs"))
            row["file"] = str(f)
            rows.append(row)
    return rows, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", nargs="+", help="directories (searched recursively) or files")
    ap.add_argument("-o", "--out", required=True, help="CSV to write")
    a = ap.parse_args()
    rows, bad = load(a.raw)
    for b in bad:
        print(f"collect.py: bad JSON: {b}", file=sys.stderr)
    if not rows:
        print("collect.py: no results found in " + " ".join(a.raw), file=sys.stderr)
        return 1
    params = sorted({k for r in rows for k in r if k.startswith("param_")})
    extras = sorted({k for r in rows for k in r if k.startswith("extra_")})
    cols = CORE + params + extras + [f"env_{k}" for k in ENV] + ["env_daxvm_knobs", "file"]
    rows.sort(key=lambda r: (r["benchmark"], r["variant"], r["file"]))
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"collect.py: {len(rows)} trials -> {out}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
