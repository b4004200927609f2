#!/usr/bin/python3
"""Draw one paper-style figure from a collect.py CSV (matplotlib, Agg, PNG).

  bench/plot.py {read,append,overwrite,db} data.csv -o plot.png

read:      throughput (GiB/s) and minor faults per operation vs file size,
           one line per interface, one column per file layout (fresh / aged).
append:    throughput and faults per append vs append size per interface.
overwrite: random 4 KiB overwrites per second, tracked vs nosync, with the
           nosync / tracked ratio (target >= 1.3x).
db:        record operations per second vs threads, read and update.
Points are medians over trials, bars span min..max. Variants recorded as
unsupported or failed are named under the plot, never drawn.
"""
import argparse
import collections
import csv
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GIB = float(1 << 30)
MIB = float(1 << 20)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def faults(r):
    """Minor + major faults per op: DAX counts a fault that allocates a block as major."""
    a, b = num(r["faults_minor_per_op"]), num(r.get("faults_major_per_op", ""))
    return None if a is None else a + (b or 0)


def size_label(b):
    b = int(b)
    for unit in ("", "K", "M", "G", "T"):
        if b < 1024 or b % 1024:
            return f"{b}{unit}"
        b //= 1024
    return f"{b}P"


def label(r):
    k = r.get("param_knobs", "")
    return r["variant"] if k in ("", "default") else f"{r['variant']} [{k}]"


def load(path, bench):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["benchmark"] == bench]
    ok = [r for r in rows if r["status"] == "ok"]
    skipped = sorted({f"{label(r)}: {r['status']} ({r['reason']})" for r in rows if r["status"] != "ok"})
    return rows, ok, skipped


def series(rows, group, x, y):
    """{group-key: [(x, median, lo, hi)]} with y a function of a row."""
    acc = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in rows:
        v = y(r)
        if v is not None:
            acc[group(r)][num(r[x])].append(v)
    out = {}
    for g, pts in acc.items():
        out[g] = sorted((xv, statistics.median(vs), min(vs), max(vs)) for xv, vs in pts.items())
    return out


COLORS = {}


def color(g):
    """The same series has the same colour in every panel."""
    return COLORS.setdefault(g, f"C{len(COLORS) % 10}")


def draw(ax, ser, logx=True, logy=True, xfmt=size_label):
    for g in sorted(ser):
        pts = ser[g]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=2, label=g, color=color(g))
        if xfmt:
            ax.set_xticks(xs)
            ax.set_xticklabels([xfmt(x) for x in xs], rotation=45, fontsize=7)
    if logx:
        ax.set_xscale("log", base=2)
        ax.minorticks_off()
        if ser:
            xs = sorted({p[0] for pts in ser.values() for p in pts})
            ax.set_xticks(xs)
            ax.set_xticklabels([xfmt(x) for x in xs] if xfmt else xs, rotation=45, fontsize=7)
    if logy:
        if logy == "sym":  # fault counts: 0 is the interesting value (DaxVM)
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
    ax.grid(True, alpha=0.3)


def env_line(rows):
    if not rows:
        return ""
    r = rows[0]
    accel = r.get("env_accel") or "accel unknown"
    return f"kernel {r.get('env_kernel', '?')}, {r.get('env_cpu_model', '?')}, {accel}, fs {r.get('env_fs_type', '?')} (dax={r.get('env_fs_dax') or '?'})"


def finish(fig, rows, skipped, out, title):
    fig.suptitle(f"{title}\n{env_line(rows)}", fontsize=9)
    note = "not measured: " + "; ".join(skipped) if skipped else ""
    if note:
        fig.text(0.01, 0.005, note, fontsize=6, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.06 if note else 0, 1, 0.95))
    fig.savefig(out, dpi=120)
    plt.close(fig)


def fig_read(csvp, out):
    rows, ok, skipped = load(csvp, "read")
    states = sorted({r.get("param_fs_state") or "fresh" for r in ok}, key=lambda x: x != "fresh") or ["fresh"]
    layouts = sorted({r["param_layout"] for r in ok}, key=lambda x: x != "fresh") or ["fresh"]
    orders = sorted({r["param_order"] for r in ok})
    threads = sorted({r.get("param_threads") or "1" for r in ok}, key=int)
    # With several threads, munmap's TLB shootdown IPIs tell the story.
    ipis = len(threads) > 1 and any(r.get("tlb_shootdown_ipis_per_op") for r in ok)
    per = 3 if ipis else 2
    fig, axes = plt.subplots(per * len(states), len(layouts), figsize=(5.5 * len(layouts), 3.4 * per * len(states)),
                             squeeze=False)

    def grp(r):
        t = r.get("param_threads") or "1"
        return (label(r) + (f" {r['param_order']}" if len(orders) > 1 else "")
                + (f" {t}T" if len(threads) > 1 else ""))

    for i, st in enumerate(states):
        for c, lay in enumerate(layouts):
            sel = [r for r in ok if (r.get("param_fs_state") or "fresh") == st and r["param_layout"] == lay]
            thr = series(sel, grp, "param_size", lambda r: num(r["param_size"]) / num(r["seconds_per_op"]) / GIB
                         if num(r["seconds_per_op"]) else None)
            flt = series(sel, grp, "param_size", lambda r: faults(r))
            top, bottom = axes[per * i][c], axes[per * i + 1][c]
            draw(top, thr)
            top.set_title(f"{st} file system, {'fragmented' if lay == 'frag' else 'fresh'} file", fontsize=8)
            top.set_ylabel("GiB/s (open+map+touch+unmap+close)", fontsize=8)
            draw(bottom, flt, logy="sym")
            bottom.set_ylabel("page faults / op (minor+major)", fontsize=8)
            last = bottom
            if ipis:
                last = axes[per * i + 2][c]
                draw(last, series(sel, grp, "param_size", lambda r: num(r["tlb_shootdown_ipis_per_op"])
                                  if r.get("tlb_shootdown_ipis_per_op") else None), logy="sym")
                last.set_ylabel("TLB shootdown IPIs / op", fontsize=8)
            last.set_xlabel("file size")
            if thr:
                top.legend(fontsize=6)
    finish(fig, rows, skipped, out, "read: whole-file access per interface")


def fig_append(csvp, out):
    rows, ok, skipped = load(csvp, "append")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    thr = series(ok, label, "param_append_size", lambda r: num(r["bytes"]) / num(r["seconds"]) / MIB
                 if num(r["seconds"]) else None)
    flt = series(ok, label, "param_append_size", lambda r: faults(r))
    draw(axes[0], thr)
    axes[0].set_ylabel("append throughput (MiB/s)")
    axes[0].legend(fontsize=7)
    draw(axes[1], flt, logy="sym")
    axes[1].set_ylabel("page faults / append (minor+major)")
    for ax in axes:
        ax.set_xlabel("append size")
    total = sorted({size_label(r["param_total"]) for r in ok})
    finish(fig, rows, skipped, out, f"append: grow a file to {', '.join(total)} by appends")


def fig_overwrite(csvp, out):
    rows, ok, skipped = load(csvp, "overwrite")
    sizes = sorted({num(r["param_size"]) for r in ok})
    labels = sorted({label(r) for r in ok})
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels) * max(1, len(sizes))), 4.5))
    width = 0.8 / max(1, len(labels))
    notes = []
    for i, lab in enumerate(labels):
        for j, s in enumerate(sizes):
            vals = [num(r["ops"]) / num(r["seconds"]) / 1e3 for r in ok
                    if label(r) == lab and num(r["param_size"]) == s and num(r["seconds"])]
            if not vals:
                continue
            m = statistics.median(vals)
            ax.bar(j + i * width, m, width, yerr=[[m - min(vals)], [max(vals) - m]], capsize=2,
                   label=lab if j == 0 else None, color=f"C{i}")
            flt = [faults(r) for r in ok if label(r) == lab and num(r["param_size"]) == s]
            ax.text(j + i * width, m, f"{statistics.median(flt):.2g} f/op", ha="center", va="bottom", fontsize=6)
    for j, s in enumerate(sizes):
        def med(lab):
            v = [num(r["seconds"]) for r in ok if label(r) == lab and num(r["param_size"]) == s]
            return statistics.median(v) if v else None
        tracked, nosync = med("daxvm"), med("daxvm-nosync")
        if tracked and nosync:
            notes.append(f"{size_label(s)}: nosync/tracked speed-up {tracked / nosync:.2f}x (target >= 1.3x)")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))])
    ax.set_xticklabels([f"file {size_label(s)}" for s in sizes])
    ax.set_ylabel("4 KiB random overwrites (K/s, incl. map + final sync)")
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    if notes:
        ax.set_title("; ".join(notes), fontsize=8)
    finish(fig, rows, skipped, out, "overwrite: dirty tracking (msync) vs nosync")


def fig_db(csvp, out):
    rows, ok, skipped = load(csvp, "db")
    mixes = sorted({r["param_mix"] for r in ok}) or ["read"]
    fig, axes = plt.subplots(1, len(mixes), figsize=(5.5 * len(mixes), 4.5), squeeze=False)
    for c, mix in enumerate(mixes):
        sel = [r for r in ok if r["param_mix"] == mix]
        thr = series(sel, label, "param_threads", lambda r: num(r["ops"]) / num(r["seconds"]) / 1e6
                     if num(r["seconds"]) else None)
        ax = axes[0][c]
        draw(ax, thr, logx=False, logy=False, xfmt=lambda x: str(int(x)))
        ax.set_title(f"{mix} of {sel[0]['param_record_size'] if sel else '?'} B records", fontsize=8)
        ax.set_xlabel("threads")
        ax.set_ylabel("record operations (M/s)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    finish(fig, rows, skipped, out, "db: random small-record access")


FIGS = {"read": fig_read, "append": fig_append, "overwrite": fig_overwrite, "db": fig_db}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("figure", choices=sorted(FIGS))
    ap.add_argument("csv")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    _, ok, skipped = load(a.csv, a.figure)
    if not ok and not skipped:
        print(f"plot.py: no {a.figure} results in {a.csv}", file=sys.stderr)
        return 1
    FIGS[a.figure](a.csv, a.out)
    print(f"plot.py: {a.figure} -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
