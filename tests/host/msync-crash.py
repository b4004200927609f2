#!/usr/bin/python3
"""Crash points for msync durability of MAP_DAXVM writes.

Boots the quick-loop kernel again and again on its own NVDIMM. In each
boot the guest first checks what the previous boot left (journal replayed
by a mount, e2fsck -fn clean, every region that was msync'd before the
crash intact), then starts `daxvm_msync writer`, which writes and msyncs
one region after another and prints "SYNCED k" after each msync. The host
kills QEMU (SIGKILL, no guest shutdown) right after the line of a random k.
On a DaxVM kernel the first mount after a crash must drop the file page
tables kept in PMem (restore 2, unclean), and the mount after the clean
unmount that follows must read them back (restore 1).

Caveat: QEMU's NVDIMM has no volatile CPU cache, so a missing cache-line
write-back cannot lose data here; what this shows is that msync'd data and
the file system survive a crash at every point tried. The write-back
itself is counted by the daxvm-msync test.

  msync-crash.py [--debug] [--points N] [--out FILE]
Writes one JSON line per crash point to FILE (default build/results/crash.json).
"""
import argparse
import fcntl
import os
import pathlib
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
import result  # noqa: E402  (the one writer of result records)

BUILD = pathlib.Path(os.environ.get("BUILD", TOP / "build"))
DEV, MNT = "/dev/pmem0", "/mnt/crash"
REGIONS = 64  # daxvm_msync.c's REGIONS


# enum daxvm_restore (include/linux/daxvm.h): what a mount found of the
# file page tables the last unmount kept.
RESTORE_DONE, RESTORE_UNCLEAN = 1, 2


def pool_restore(tag):
    """Prints 'POOL-<tag> <restore>', or 'POOL-<tag> none' without kept tables."""
    stats = f"/proc/fs/ext4/{DEV.split('/')[-1]}/daxvm_pool_stats"
    return (f"echo POOL-{tag} $(awk '$1 == \"restore\" {{print $2}}' {stats} 2>/dev/null"
            f" | grep . || echo none)")


def guest_cmd(prev, seed):
    """The guest's command: check the previous boot's state, then write."""
    steps = [f"mkdir -p {MNT}"]
    if prev is None:
        steps.append(f"/usr/sbin/mke2fs -q -F -t ext4 -b 4096 {DEV}")
    else:
        pseed, plast = prev
        steps += [
            # A mount replays the journal; fsck needs it unmounted.
            f"mount -o dax=always {DEV} {MNT} && {pool_restore('CRASH')}; umount {MNT}",
            f"e2fsck -fn {DEV} >/tmp/fsck.log 2>&1; echo FSCK-RC=$?; tail -n 3 /tmp/fsck.log",
            f"mount -o dax=always {DEV} {MNT} && {pool_restore('CLEAN')}",
            f"/tests/daxvm_msync verify {MNT} {pseed} {plast}",
        ]
    if seed is not None:
        steps += [f"mount -o dax=always {DEV} {MNT} 2>/dev/null; true",
                  f"/tests/daxvm_msync writer {MNT} {seed}"]
    return "; ".join(steps)


def qemu_args(debug, cmd):
    """The exact QEMU command line `make boot` would run (--dry-run)."""
    flags = ["--debug"] if debug else []
    out = subprocess.run([str(TOP / "scripts/qemu.sh"), "--dry-run", *flags, "boot", cmd],
                         cwd=TOP, check=True, stdout=subprocess.PIPE, text=True).stdout
    return shlex.split(out.rstrip("\n").splitlines()[-1])


def boot(debug, cmd, kill_after, timeout, log):
    """Boot; kill QEMU right after "SYNCED <kill_after>". Returns the
    console lines, whether it was killed there, and whether the boot ran
    out of its @timeout seconds first (a watchdog kills it then, also
    when the console stays silent)."""
    lines = []
    proc = subprocess.Popen(qemu_args(debug, cmd), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    expired = threading.Event()

    def watchdog():
        expired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, watchdog)
    timer.start()
    killed = False
    try:
        for line in proc.stdout:
            log.write(line)
            lines.append(line.rstrip("\r\n"))
            if kill_after is not None and lines[-1].strip() == f"SYNCED {kill_after}":
                timer.cancel()
                os.killpg(proc.pid, signal.SIGKILL)
                killed = not expired.is_set()
                break
    finally:
        timer.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return lines, killed, expired.is_set()


# The testbed's one list of kernel splats, plus panics.
SPLAT = re.compile((TOP / "tests/guest/splat.ere").read_text().strip() + "|Kernel panic")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--points", type=int, default=12)
    ap.add_argument("--out", default=str(BUILD / "results/crash.json"))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds a boot may take (default 240, 600 with --debug)")
    args = ap.parse_args()
    # The boots run QEMU from qemu.sh --dry-run's arguments: hold the
    # quick loop's lock as `qemu.sh boot` does (they share NVDIMM files).
    (BUILD / "run").mkdir(parents=True, exist_ok=True)
    lock = open(BUILD / "run" / "boot.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    rng = random.Random(args.seed)
    timeout = args.timeout or (600 if args.debug else 240)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    logpath = out.with_suffix(".log")
    results = []
    prev = None
    with logpath.open("w") as log:
        for point in range(args.points + 1):
            last_boot = point == args.points
            seed = None if last_boot else rng.randrange(1, 1 << 30)
            kill_after = None if last_boot else rng.randrange(REGIONS)
            log.write(f"### boot {point}: check {prev}, write seed {seed}, kill after {kill_after}\n")
            print(f"crash point {point}/{args.points}: kill after region {kill_after}",
                  file=sys.stderr, flush=True)
            lines, killed, expired = boot(args.debug, guest_cmd(prev, seed), kill_after,
                                          timeout, log)
            text = "\n".join(lines)
            if prev is not None:
                problems = []
                if "FSCK-RC=0" not in text:
                    problems.append("e2fsck not clean")
                if not re.search(r"^ok 1 - regions", text, re.M):
                    problems.append("msync'd data lost")
                if SPLAT.search(text):
                    problems.append("kernel splat")
                if expired and "FSCK-RC=" not in text:
                    problems.append(f"the checking boot did not finish within {timeout} s")
                # Kept tables: dropped after the crash, read back after the
                # clean unmount that followed.
                after = dict(re.findall(r"^POOL-(CRASH|CLEAN) (\S+)", text, re.M))
                if after.get("CRASH") == str(RESTORE_DONE):
                    problems.append("tables kept in PMem trusted after a crash")
                if (after.get("CRASH") == str(RESTORE_UNCLEAN) and
                        after.get("CLEAN") != str(RESTORE_DONE)):
                    problems.append(f"tables not read back after a clean unmount "
                                    f"(restore {after.get('CLEAN')})")
                results.append({"name": f"msync-crash.point{point - 1}",
                                "status": "fail" if problems else "pass",
                                "killed_after_region": prev[1],
                                "problems": problems, "log": str(logpath)})
            if not last_boot:
                if not killed:
                    why = (f"no 'SYNCED {kill_after}' from the writer within {timeout} s"
                           if expired else
                           f"the boot ended without the writer's 'SYNCED {kill_after}'")
                    # Show why right here: CI keeps only the terminal output.
                    print(f"writer never reached its crash point ({why}); console tail:",
                          *lines[-15:], sep="\n  ", file=sys.stderr)
                    results.append({"name": f"msync-crash.point{point}", "status": "fail",
                                    "problems": [f"writer never reached its crash point: {why}"],
                                    "log": str(logpath)})
                    break
                prev = (seed, kill_after)
    out.write_text("")
    for r in results:
        result.append(out, **r)
    bad = [r for r in results if r["status"] == "fail"]
    print(f"msync crash test: {len(results) - len(bad)} of {len(results)} crash points "
          f"kept every msync'd byte and a clean file system (seed {args.seed}; log {logpath})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
