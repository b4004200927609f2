#!/usr/bin/python3
"""Run, collect and plot one figure: results/<run-id>/<fig>/{raw/,data.csv,plot.png}.

  bench/figures.py {read,append,overwrite,db} --bench-dir /mnt/pmem0/bench \\
      --results results/<run-id> [--bin-dir build/bench] [--trials 3] [sizes...]

--bench-dir must be on the DAX mount for the numbers to mean anything; the
run records what it found (fs type, dax, DaxVM kernel, knobs) in every JSON.
read also runs on --aged-dir (a directory on an aged file system, see
aged-image.sh) when given. The commands run are kept in <fig>/commands.txt.
"""
import argparse
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def run(cmd, log):
    line = " ".join(shlex.quote(str(c)) for c in cmd)
    print(f"figures.py: {line}", file=sys.stderr)
    with open(log, "a") as f:
        f.write(line + "\n")
    return subprocess.run([str(c) for c in cmd]).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("figure", choices=["read", "append", "overwrite", "db"])
    ap.add_argument("--bench-dir", required=True, help="directory for test files (on the DAX mount)")
    ap.add_argument("--aged-dir", default="", help="read: also run here, labelled fs_state=aged")
    ap.add_argument("--results", required=True, help="results/<run-id>")
    ap.add_argument("--bin-dir", default=str(HERE.parent / "build" / "bench"))
    ap.add_argument("--trials", default="3")
    ap.add_argument("--read-sizes", default="4K,64K,1M,16M,256M,1G")
    ap.add_argument("--read-orders", default="seq,rand")
    ap.add_argument("--read-budget", default="1G", help="bytes touched per trial (small files repeat)")
    ap.add_argument("--append-sizes", default="4K,16K,64K,256K,1M,2M")
    ap.add_argument("--append-total", default="1G")
    ap.add_argument("--overwrite-size", default="1G")
    ap.add_argument("--overwrite-writes", default="65536")
    ap.add_argument("--db-records", default="1048576")
    ap.add_argument("--db-ops", default="200000")
    ap.add_argument("--db-threads", default=",".join(str(t) for t in range(1, (os.cpu_count() or 1) + 1)))
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--keep-files", action="store_true",
                    help="keep the test files under --bench-dir/<fig> (default: removed, the DAX mount is small)")
    a = ap.parse_args()

    out = pathlib.Path(a.results) / a.figure
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    log = out / "commands.txt"
    exe = pathlib.Path(a.bin_dir) / "daxvm-bench"
    if not exe.exists():
        sys.exit(f"figures.py: {exe} not built (make bench-build)")
    common = ["--out", raw, "--trials", a.trials]
    bd = pathlib.Path(a.bench_dir)
    rc = 0
    if a.figure == "read":
        args = ["--sizes", a.read_sizes, "--orders", a.read_orders, "--layouts", "fresh,frag",
                "--budget", a.read_budget, "--variants", "read,mmap,populate,daxvm,daxvm-batch"]
        rc |= run([exe, "read", "--dir", bd / "read"] + common + args, log)
        if a.aged_dir:
            rc |= run([exe, "read", "--dir", pathlib.Path(a.aged_dir) / "read", "--fs-state", "aged"]
                      + common + args, log)
    elif a.figure == "append":
        args = ["--total", a.append_total, "--sizes", a.append_sizes,
                "--variants", "write,mmap,populate,daxvm,nt,daxvm-nt"]
        rc |= run([exe, "append", "--dir", bd / "append"] + common + args, log)
        # issue 4: zeroout off and pre-zeroing on (unsupported without the knobs)
        for knobs in ("zeroout_blocks=0", "prezero=1"):
            rc |= run([exe, "append", "--dir", bd / "append", "--knobs", knobs] + common
                      + ["--total", a.append_total, "--sizes", a.append_sizes, "--variants", "daxvm,write"], log)
    elif a.figure == "overwrite":
        args = ["--sizes", a.overwrite_size, "--writes", a.overwrite_writes]
        rc |= run([exe, "overwrite", "--dir", bd / "overwrite"] + common + args
                  + ["--variants", "write,mmap,daxvm,daxvm-nosync"], log)
        # the global nosync knob, as in the original (issue 4)
        rc |= run([exe, "overwrite", "--dir", bd / "overwrite", "--knobs", "msync=0"] + common + args
                  + ["--variants", "daxvm"], log)
    else:
        rc |= run([exe, "db", "--dir", bd / "db", "--records", a.db_records, "--ops", a.db_ops,
                   "--threads", a.db_threads, "--mix", "read,update",
                   "--variants", "pread,mmap,daxvm"] + common, log)
    if not a.keep_files:
        for d in [bd / a.figure] + ([pathlib.Path(a.aged_dir) / a.figure] if a.aged_dir else []):
            shutil.rmtree(d, ignore_errors=True)
    csv = out / "data.csv"
    rc |= run([sys.executable, HERE / "collect.py", raw, "-o", csv], log)
    if not a.no_plot and csv.exists():
        rc |= run([sys.executable, HERE / "plot.py", a.figure, csv, "-o", out / "plot.png"], log)
    print(f"figures.py: {a.figure}: {out} ({'ok' if rc == 0 else 'with errors'})", file=sys.stderr)
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
