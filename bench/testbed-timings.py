#!/usr/bin/python3
"""Time the testbed's stages and compare them with its speed targets.

Prints a table and writes JSON (default results/testbed-timings.json).
  bench/testbed-timings.py [--fresh] [--out FILE]
--fresh also times a from-scratch `make vm` (removes build/kernel and
build/image first; ccache stays, and the JSON says so); with --cold the
fresh build also gets an empty ccache, as on a fresh machine (the Debian
packages stay installed).
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parent.parent
TARGETS = {  # stage: seconds (docs/testbed.md, on a 2-core machine)
    "fresh make vm": 20 * 60,
    "make vm, nothing changed": 60,
    "guest boot to ssh-ready": 60,
    "make boot": 15,
    "one-file kernel change to booted test": 3 * 60,
}


def run(cmd, **kw):
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=TOP, shell=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)
    secs = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"`{cmd}` failed:\n{proc.stdout[-3000:]}")
    return secs, proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--cold", action="store_true", help="--fresh with an empty ccache")
    ap.add_argument("--out", default=str(TOP / "results/testbed-timings.json"))
    args = ap.parse_args()
    rows = []

    def stage(name, cmd, note=""):
        print(f"... {name}", file=sys.stderr, flush=True)
        secs, _ = run(cmd)
        rows.append({"stage": name, "seconds": round(secs, 1),
                     "target_seconds": TARGETS[name],
                     "met": secs <= TARGETS[name], "note": note})

    if args.fresh or args.cold:
        run("make vm-stop")
        run("rm -rf build/kernel build/image build/guest-bin")
        if args.cold:
            with tempfile.TemporaryDirectory() as empty:
                stage("fresh make vm", f"CCACHE_DIR={empty} make vm", "empty ccache")
        else:
            stage("fresh make vm", "make vm", "ccache kept")
    run("make vm")  # make sure everything exists before the no-change run
    stage("make vm, nothing changed", "make vm")
    run("make vm-stop")
    stage("guest boot to ssh-ready",
          "scripts/qemu.sh start && scripts/qemu.sh status && "
          "until scripts/ssh.sh true 2>/dev/null; do sleep 1; done")
    run("make vm-stop")
    stage("make boot", "make boot CMD=true")
    run("touch build/linux/mm/mmap.c")
    stage("one-file kernel change to booted test", "make boot CMD=true",
          "touch mm/mmap.c, rebuild, boot, run")

    accel = run("scripts/qemu.sh accel")[1].strip()
    result = {"host": platform.node(), "cpus": os.cpu_count(), "accel": accel,
              "kernel_commit": (TOP / "build/kernel/commit").read_text().strip()
              if (TOP / "build/kernel/commit").exists() else None,
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "stages": rows}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'stage':42} {'seconds':>8} {'target':>7}  met")
    for r in rows:
        print(f"{r['stage']:42} {r['seconds']:8.1f} {r['target_seconds']:7d}  "
              f"{'yes' if r['met'] else 'NO'}  {r['note']}")
    print(f"(accel {accel}; JSON: {out})")


if __name__ == "__main__":
    main()
