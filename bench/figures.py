#!/usr/bin/python3
"""Run, collect and plot one figure: results/<run-id>/<fig>/{raw/,data.csv,plot.png}.

  bench/figures.py {read,append,overwrite,db} --bench-dir /mnt/pmem0/bench \\
      --results results/<run-id> [--bin-dir build/bench] [--trials 3] [sizes...]
  bench/figures.py --guest [--ssh scripts/ssh.sh] ... (the same, in the VM)

--bench-dir must be on the DAX mount for the numbers to mean anything; the
run records what it found (fs type, dax, DaxVM kernel, knobs) in every JSON.
read also runs on --aged-dir (a directory on an aged file system, see
aged-image.sh) when given. The commands run are kept in <fig>/commands.txt.

With --guest, daxvm-bench runs in the VM through --ssh (a command that runs
its arguments like ssh does: one shell command line in the guest), from
--bin-dir (default /opt/daxvm); --bench-dir and --aged-dir are guest paths.
The raw JSON is written in the guest under --guest-tmp and copied back into
<fig>/raw/ (tar over the same ssh); collect.py and plot.py run here.
DAXVM_ACCEL and DAXVM_KERNEL_COMMIT are passed on to the guest when set.
Progress (daxvm-bench's stderr) streams through ssh as it comes.
"""
import argparse
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


# Variables the benchmark records in its JSON: the guest does not inherit them.
FORWARD_ENV = ("DAXVM_ACCEL", "DAXVM_KERNEL_COMMIT")


class Local:
    """Runs commands on this machine."""

    def argv(self, cmd):
        return [str(c) for c in cmd]


class Guest:
    """Runs commands in the VM: ssh passes one command line to the guest's
    shell, so every word is quoted once here."""

    def __init__(self, ssh):
        self.ssh = shlex.split(ssh)
        self.env = [f"{k}={os.environ[k]}" for k in FORWARD_ENV if os.environ.get(k)]

    def argv(self, cmd):
        words = (["env"] + self.env if self.env else []) + [str(c) for c in cmd]
        return self.ssh + [shlex.join(words)]

    def fetch(self, guest_dir, local_dir, log):
        """Copy guest_dir's contents into local_dir (tar through ssh)."""
        src = self.argv(["tar", "-C", guest_dir, "-cf", "-", "."])
        dst = ["tar", "-C", str(local_dir), "-xf", "-"]
        line = f"{shlex.join(src)} | {shlex.join(dst)}"
        note(line, log)
        with subprocess.Popen(src, stdout=subprocess.PIPE) as p:
            rc = subprocess.run(dst, stdin=p.stdout).returncode
            p.stdout.close()
        return rc or p.returncode


def note(line, log):
    print(f"figures.py: {line}", file=sys.stderr)
    with open(log, "a") as f:
        f.write(line + "\n")


def run(where, cmd, log):
    argv = where.argv(cmd)
    note(shlex.join(argv), log)
    return subprocess.run(argv).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("figure", choices=["read", "append", "overwrite", "db"])
    ap.add_argument("--bench-dir", required=True, help="directory for test files (on the DAX mount)")
    ap.add_argument("--aged-dir", default="", help="read: also run here, labelled fs_state=aged")
    ap.add_argument("--results", required=True, help="results/<run-id>")
    ap.add_argument("--bin-dir", help="where daxvm-bench is (default build/bench; --guest: /opt/daxvm)")
    ap.add_argument("--guest", action="store_true", help="run daxvm-bench in the VM through --ssh")
    ap.add_argument("--ssh", default=str(HERE.parent / "scripts" / "ssh.sh"),
                    help="--guest: command that runs a command line in the guest")
    ap.add_argument("--guest-tmp", default="/var/tmp/daxvm-figures",
                    help="--guest: where the raw JSON is written in the guest before the copy")
    ap.add_argument("--trials", default="3")
    ap.add_argument("--read-sizes", default="4K,64K,1M,16M,256M,1G")
    ap.add_argument("--read-orders", default="seq,rand")
    ap.add_argument("--read-budget", default="1G", help="bytes touched per trial (small files repeat)")
    ap.add_argument("--read-layouts", default="fresh,frag")
    ap.add_argument("--read-threads", default="1",
                    help="threads sharing each trial's operations, e.g. 1,2 (munmap's TLB shootdowns)")
    ap.add_argument("--append-sizes", default="4K,16K,64K,256K,1M,2M")
    ap.add_argument("--append-total", default="1G")
    ap.add_argument("--append-variants", default="write,mmap,populate,daxvm,nt,daxvm-nt",
                    help="of the default-knob run")
    ap.add_argument("--append-knob-variants", default="write,mmap,daxvm",
                    help="of the zeroout_blocks=0 and prezero=1 runs (msync=0: daxvm only)")
    ap.add_argument("--overwrite-size", default="1G")
    ap.add_argument("--overwrite-writes", default="65536")
    ap.add_argument("--db-records", default="1048576")
    ap.add_argument("--db-ops", default="200000")
    ap.add_argument("--db-threads", help="default 1..number of CPUs (of the guest with --guest)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--keep-files", action="store_true",
                    help="keep the test files under --bench-dir/<fig> (default: removed, the DAX mount is small)")
    a = ap.parse_args()

    out = pathlib.Path(a.results) / a.figure
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    log = out / "commands.txt"
    where = Guest(a.ssh) if a.guest else Local()
    bin_dir = a.bin_dir or ("/opt/daxvm" if a.guest else str(HERE.parent / "build" / "bench"))
    exe = pathlib.PurePosixPath(bin_dir) / "daxvm-bench"
    if subprocess.run(where.argv(["test", "-x", exe])).returncode != 0:
        sys.exit(f"figures.py: cannot run {exe} in the guest (make vm)" if a.guest
                 else f"figures.py: {exe} not built (make bench-build)")
    if a.db_threads is None:
        n = subprocess.run(where.argv(["nproc"]), capture_output=True, text=True).stdout.strip()
        a.db_threads = ",".join(str(t) for t in range(1, int(n or 1) + 1))
    # In the guest, results go to a scratch directory first (removed after the copy).
    bench_out = pathlib.PurePosixPath(a.guest_tmp) / f"{out.parent.name}-{a.figure}" if a.guest else raw
    if a.guest:
        run(where, ["rm", "-rf", bench_out], log)
    common = ["--out", bench_out, "--trials", a.trials]
    bd = pathlib.PurePosixPath(a.bench_dir)
    rc = 0
    if a.figure == "read":
        args = ["--sizes", a.read_sizes, "--orders", a.read_orders, "--layouts", a.read_layouts,
                "--budget", a.read_budget, "--threads", a.read_threads,
                "--variants", "read,mmap,populate,daxvm,daxvm-batch"]
        rc |= run(where, [exe, "read", "--dir", bd / "read"] + common + args, log)
        if a.aged_dir:
            rc |= run(where, [exe, "read", "--dir", pathlib.PurePosixPath(a.aged_dir) / "read", "--fs-state", "aged"]
                      + common + args, log)
    elif a.figure == "append":
        args = ["--total", a.append_total, "--sizes", a.append_sizes,
                "--variants", a.append_variants]
        rc |= run(where, [exe, "append", "--dir", bd / "append"] + common + args, log)
        # knob runs: nosync (only MAP_DAXVM has kernel dirty tracking), zeroout
        # off and pre-zeroing on (unsupported without the knobs)
        daxvm_only = ",".join(v for v in a.append_knob_variants.split(",") if v.startswith("daxvm"))
        for knobs, variants in (("msync=0", daxvm_only), ("zeroout_blocks=0", a.append_knob_variants),
                                ("prezero=1", a.append_knob_variants)):
            if not variants:
                continue
            rc |= run(where, [exe, "append", "--dir", bd / "append", "--knobs", knobs] + common
                      + ["--total", a.append_total, "--sizes", a.append_sizes, "--variants", variants], log)
    elif a.figure == "overwrite":
        args = ["--sizes", a.overwrite_size, "--writes", a.overwrite_writes]
        rc |= run(where, [exe, "overwrite", "--dir", bd / "overwrite"] + common + args
                  + ["--variants", "write,mmap,daxvm,daxvm-nosync"], log)
        # the global nosync knob, as in the original
        rc |= run(where, [exe, "overwrite", "--dir", bd / "overwrite", "--knobs", "msync=0"] + common + args
                  + ["--variants", "daxvm"], log)
    else:
        rc |= run(where, [exe, "db", "--dir", bd / "db", "--records", a.db_records, "--ops", a.db_ops,
                   "--threads", a.db_threads, "--mix", "read,update",
                   "--variants", "pread,mmap,daxvm"] + common, log)
    if not a.keep_files:
        dirs = [bd / a.figure] + ([pathlib.PurePosixPath(a.aged_dir) / a.figure] if a.aged_dir else [])
        if a.guest:
            run(where, ["rm", "-rf"] + dirs, log)
        else:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
    if a.guest:
        # Whatever the run left, also after a failure: partial results count.
        fetched = where.fetch(bench_out, raw, log)
        rc |= fetched
        if fetched == 0:
            run(where, ["rm", "-rf", bench_out], log)
    host = Local()
    csv = out / "data.csv"
    rc |= run(host, [sys.executable, HERE / "collect.py", raw, "-o", csv], log)
    if not a.no_plot and csv.exists():
        rc |= run(host, [sys.executable, HERE / "plot.py", a.figure, csv, "-o", out / "plot.png"], log)
    print(f"figures.py: {a.figure}: {out} ({'ok' if rc == 0 else 'with errors'})", file=sys.stderr)
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
