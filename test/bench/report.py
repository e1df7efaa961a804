#!/usr/bin/python3
"""Tables and plots of a `make compare` results folder.

usage: report.py RESULTS [--doc BENCHMARKS.md] [--copy DIR]

RESULTS holds one folder per machine (host/, vm/), each with the cases.tsv
and json/ that test/bench/matrix.sh wrote (host/load.tsv: the load seen
before each repeat), and vm/exact/ with test/bench/exact.sh's cases.tsv,
json/ and perf/.  Writes RESULTS/summary.csv (one
line per run), RESULTS/tables.md, RESULTS/*.png (gnuplot); --doc rewrites
the tables between <!-- bench:NAME --> and <!-- /bench:NAME --> in a
markdown file; --copy copies tables.md, summary.csv and the PNGs to DIR.
Every ratio is between runs of one compare run on one machine.
"""
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

QDS = [1, 4, 16, 64]
TCG_NOTE = ("VM figures are instruction counted (test/vm/run.sh --icount: "
            "guest time is one ns per guest instruction), so a VM ops/s is "
            "1e9 / instructions per operation and repeats exactly; it is not "
            "comparable with the host's ops/s.")


def load(results):
    runs = []
    for where in sorted(os.listdir(results)):
        tsv = os.path.join(results, where, "cases.tsv")
        if not os.path.isfile(tsv):
            continue
        with open(tsv) as f:
            for row in csv.DictReader(f, delimiter="\t"):
                # extra "FILE:I": job I of FILE.json (a sweep of one fio run)
                name, job = row["id"], None
                if row.get("extra") and ":" in row["extra"]:
                    name, job = row["extra"].rsplit(":", 1)
                path = os.path.join(results, where, "json", name + ".json")
                try:
                    with open(path) as jf:
                        data = json.load(jf)
                except (OSError, ValueError):
                    continue
                if job is not None:
                    data = dict(data, jobs=[data["jobs"][int(job)]])
                row.update(metrics(data))
                for k in ("qd", "depth", "nrfiles", "rep"):
                    row[k] = int(row[k])
                runs.append(row)
    return runs


def metrics(d):
    if d.get("tool") == "rawloop":
        return {"ops": d["ops_per_sec"], "p50": d["p50_ns"],
                "p99": d["p99_ns"], "p999": d["p99_9_ns"],
                "mean": d["mean_ns"], "n": d["ops"]}
    if d.get("tool") == "scale":
        return {"scale": d}
    r = d["jobs"][0]["read"]
    lat = r["lat_ns"] if r["lat_ns"].get("N") else r["clat_ns"]
    pct = lat.get("percentile", {})
    return {"ops": r["iops"], "p50": pct.get("50.000000", 0),
            "p99": pct.get("99.000000", 0), "p999": pct.get("99.900000", 0),
            "mean": lat.get("mean", 0), "n": lat.get("N", 0)}


def pick(runs, **kw):
    return [r for r in runs if all(r.get(k) == v for k, v in kw.items())]


def med(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def kops(v):
    return "–" if v is None else f"{v / 1000:.1f}k"


def us(v):
    return "–" if v is None else f"{v / 1000:.2f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def fmt_r(v):
    return "–" if v is None else f"{v:.2f}"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def distinct(rows, *fields):
    """The rows' values of fields, each tuple once, in first-seen order."""
    return list(dict.fromkeys(tuple(r[f] for f in fields) for r in rows))


def places(runs):
    return distinct([r for r in runs if r["tool"] != "scale"], "where", "fs")


def note(where):
    return f"\n{TCG_NOTE}\n" if where == "vm" else ""


def t_peers(runs):
    rows = []
    for where, fs in places(runs):
        base = pick(runs, where=where, fs=fs, section="peers")
        cand = [("fhandle sync", "fhandle", "sync", base)]
        qd1 = pick(runs, where=where, fs=fs, section="qd", qd=1)
        cand.append(("fhandle uring", "fhandle", "uring", qd1))
        cand.append(("rawloop", "rawloop", "raw", base))
        for op in ("encode", "open", "openat"):
            for label, tool, var, src in cand:
                sel = pick(src, tool=tool, op=op, variant=var)
                if sel:
                    rows.append([where, fs, op, label, len(sel),
                                 kops(med(sel, "ops")), spread(sel),
                                 us(med(sel, "p50")),
                                 us(med(sel, "p99")), us(med(sel, "p999"))])
        for op in ("stat", "statx"):
            sel = pick(base, tool="filestat", op=op)
            if sel:
                rows.append([where, fs, op, "fio filestat", len(sel),
                             kops(med(sel, "ops")), spread(sel),
                             us(med(sel, "p50")),
                             us(med(sel, "p99")), us(med(sel, "p999"))])
    return table(["where", "fs", "operation", "tool", "runs", "ops/s",
                  "ops/s min–max", "p50 µs", "p99 µs", "p99.9 µs"], rows)


def load_notes(results):
    """max CPU-busy share seen before the host's runs, from load.tsv"""
    path = os.path.join(results, "host", "load.tsv")
    busy = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4:
                    busy.append(float(parts[2] or 0))
    return busy


def spread(sel, key="ops"):
    vals = [r[key] for r in sel if key in r]
    if not vals:
        return "–"
    return f"{kops(min(vals))}–{kops(max(vals))}"


def t_floor(runs, busy=None):
    """the sync backend against 1 / (t_raw + t_null), per repeat"""
    rows = []
    quiet = "–" if not busy else (
        "yes" if max(busy) <= 10 else f"no (CPUs up to {max(busy):.0f}% busy)")
    for where, fs in places(runs):
        fl = pick(runs, where=where, fs=fs, section="floor")
        for op in ("encode", "open", "openat"):
            ratios, fios, floors = [], [], []
            for rep in sorted({r["rep"] for r in fl}):
                f = pick(fl, tool="fhandle", op=op, rep=rep)
                w = pick(fl, tool="rawloop", op=op, rep=rep)
                n = pick(fl, tool="null", op=op, rep=rep)
                if f and w and n and w[0]["ops"] and n[0]["ops"]:
                    floor = 1 / (1 / w[0]["ops"] + 1 / n[0]["ops"])
                    ratios.append(f[0]["ops"] / floor)
                    floors.append(floor)
                    fios.append(f[0])
            if not ratios:
                continue
            raw = pick(fl, tool="rawloop", op=op)
            null = pick(fl, tool="null", op=op)
            r = statistics.median(ratios)
            rows.append([where, fs, op, len(ratios),
                         kops(med(fios, "ops")), spread(fios),
                         f"{1e9 / med(raw, 'ops'):.0f}",
                         f"{1e9 / med(null, 'ops'):.0f}",
                         kops(statistics.median(floors)),
                         f"{r:.2f} ({min(ratios):.2f}–{max(ratios):.2f})",
                         "met" if r >= 0.95 else "MISSED", quiet])
    return table(["where", "fs", "operation", "repeats", "fio sync ops/s "
                  "(median)", "min–max", "t_raw ns", "t_null ns",
                  "floor ops/s", "sync ÷ floor (min–max)", "≥ 0.95",
                  "quiet"], rows)


def t_overhead(runs):
    rows = []
    for where, fs in places(runs):
        base = pick(runs, where=where, fs=fs, section="peers")
        for op in ("encode", "open", "openat"):
            pairs = []
            for rep in sorted({r["rep"] for r in base}):
                f = pick(base, tool="fhandle", op=op, rep=rep)
                w = pick(base, tool="rawloop", op=op, rep=rep)
                if f and w:
                    pairs.append((f[0], w[0]))
            if not pairs:
                continue
            r_ops = statistics.median(p[0]["ops"] / p[1]["ops"] for p in pairs)
            r_p50 = statistics.median(p[1]["p50"] / p[0]["p50"] for p in pairs
                                      if p[0]["p50"])
            rows.append([where, fs, op, len(pairs),
                         kops(med([p[0] for p in pairs], "ops")),
                         kops(med([p[1] for p in pairs], "ops")),
                         fmt_r(r_ops), fmt_r(r_p50)])
    return table(["where", "fs", "operation", "pairs", "fio sync ops/s",
                  "rawloop ops/s", "ops/s ratio (fio ÷ raw)",
                  "p50 ratio (raw ÷ fio)"], rows)


def t_uring(runs):
    rows = []
    for where, fs in places(runs):
        qd = pick(runs, where=where, fs=fs, section="qd")
        if not qd:
            continue
        peers = pick(runs, where=where, fs=fs, section="peers",
                     tool="fhandle", variant="sync")
        for op in ("encode", "open", "openat"):
            sync = med(pick(peers, op=op), "ops")
            sync_p50 = med(pick(peers, op=op), "p50")
            variants = [v for (v,) in distinct(pick(qd, op=op), "variant")]
            for var in variants:
                cells = []
                for q in QDS:
                    sel = pick(qd, op=op, variant=var, qd=q)
                    cells.append(fmt_r(ratio(med(sel, "ops"), sync)))
                best = max((med(pick(qd, op=op, variant=var, qd=q), "ops") or 0)
                           for q in QDS)
                p50 = med(pick(qd, op=op, variant=var, qd=1), "p50")
                rows.append([where, fs, op, var, kops(sync)] + cells +
                            [kops(best), us(sync_p50), us(p50),
                             fmt_r(ratio(sync_p50, p50))])
    return table(["where", "fs", "operation", "variant", "sync ops/s"] +
                 [f"qd{q} ÷ sync" for q in QDS] +
                 ["best uring ops/s", "sync p50 µs", "qd1 p50 µs",
                  "sync p50 ÷ qd1 p50"], rows)


def t_depth(runs):
    rows = []
    for where, fs in places(runs):
        for label, tool, var, qd, sec1 in (
                ("fhandle sync", "fhandle", "sync", 1, "peers"),
                ("rawloop", "rawloop", "raw", 1, "peers"),
                ("fhandle uring qd16", "fhandle", "uring", 16, "qd")):
            cells, lat = [], []
            for depth, sec in ((1, sec1), (8, "depth")):
                sel = pick(runs, where=where, fs=fs, section=sec, tool=tool,
                           variant=var, qd=qd, depth=depth)
                cells.append({op: med(pick(sel, op=op), "ops")
                              for op in ("open", "openat", "encode")})
                lat.append({op: med(pick(sel, op=op), "p50")
                            for op in ("open", "openat", "encode")})
            if not any(c["open"] for c in cells):
                continue
            rows.append([where, fs, label,
                         kops(cells[0]["open"]), kops(cells[0]["openat"]),
                         fmt_r(ratio(cells[0]["open"], cells[0]["openat"])),
                         fmt_r(ratio(lat[0]["openat"], lat[0]["open"])),
                         kops(cells[1]["open"]), kops(cells[1]["openat"]),
                         fmt_r(ratio(cells[1]["open"], cells[1]["openat"])),
                         fmt_r(ratio(lat[1]["openat"], lat[1]["open"])),
                         fmt_r(ratio(lat[1]["openat"], lat[0]["openat"])),
                         fmt_r(ratio(lat[1]["encode"], lat[0]["encode"]))])
    return table(["where", "fs", "tool", "d1 handle ops/s", "d1 path ops/s",
                  "d1 handle ÷ path (ops/s)", "d1 path p50 ÷ handle p50",
                  "d8 handle ops/s", "d8 path ops/s",
                  "d8 handle ÷ path (ops/s)", "d8 path p50 ÷ handle p50",
                  "path p50 d8 ÷ d1", "encode p50 d8 ÷ d1"], rows)


def t_abspath(runs):
    rows = []
    for where, fs in places(runs):
        ab = pick(runs, where=where, fs=fs, section="abspath")
        for op in ("encode", "open", "openat"):
            for label, var, qd, sec in (("fhandle sync", "sync", 1, "peers"),
                                        ("fhandle uring qd16", "uring", 16,
                                         "qd")):
                asel = pick(ab, op=op, variant=var)
                rsel = pick(runs, where=where, fs=fs, section=sec,
                            tool="fhandle", op=op, variant=var, qd=qd,
                            depth=1)
                a, r = med(asel, "ops"), med(rsel, "ops")
                if a is None or r is None:
                    continue
                rows.append([where, fs, op, label, kops(r), kops(a),
                             fmt_r(ratio(a, r)),
                             us(med(rsel, "p50")), us(med(asel, "p50")),
                             fmt_r(ratio(med(asel, "p50"), med(rsel, "p50")))])
    return table(["where", "fs", "operation", "tool", "relative path ops/s",
                  "absolute path ops/s", "absolute ÷ relative (ops/s)",
                  "relative p50 µs", "absolute p50 µs",
                  "absolute p50 ÷ relative p50"], rows)


def t_cold(runs):
    rows = []
    for where, fs in places(runs):
        cold = pick(runs, where=where, fs=fs, section="cold")
        for op in ("open", "openat"):
            for label, tool, var in (("fhandle sync", "fhandle", "sync"),
                                     ("rawloop", "rawloop", "raw"),
                                     ("fhandle uring qd16", "fhandle",
                                      "uring")):
                w = pick(cold, op=op, tool=tool, variant=var, cache="warm")
                c = pick(cold, op=op, tool=tool, variant=var, cache="cold")
                if not w or not c:
                    continue
                w, c = w[0], c[0]
                rows.append([where, fs, op, label, w["nrfiles"],
                             us(w["p50"]), us(c["p50"]),
                             fmt_r(ratio(c["p50"], w["p50"])),
                             us(w["mean"]), us(c["mean"]),
                             fmt_r(ratio(c["mean"], w["mean"])),
                             us(c["p99"])])
    return table(["where", "fs", "operation", "tool", "files (each once)",
                  "warm p50 µs", "cold p50 µs", "cold ÷ warm (p50)",
                  "warm mean µs", "cold mean µs", "cold ÷ warm (mean)",
                  "cold p99 µs"], rows)


def t_scale(runs):
    rows = []
    by_fs = {}
    for r in runs:
        if r["tool"] == "scale":
            by_fs.setdefault((r["where"], r["fs"]), []).append(r["scale"])
    for (where, fs), items in by_fs.items():
        items.sort(key=lambda s: s["files"])
        first = items[0]
        for s in items:
            n = s["files"]
            per_file = "–"
            if s is not first:
                d = ((s["rss_fhandle_kib"] - s["rss_null_kib"]) -
                     (first["rss_fhandle_kib"] - first["rss_null_kib"]))
                per_file = f"{d * 1024 / (n - first['files']):.0f}"
                fio_pf = ((s["rss_null_kib"] - first["rss_null_kib"]) * 1024 /
                          (n - first["files"]))
                fio_pf = f"{fio_pf:.0f}"
            else:
                fio_pf = "–"
            enc = pick(runs, where=where, fs=fs, section="scale",
                       tool="rawloop", op="encode", nrfiles=n)
            enc_s = (enc[0]["n"] * enc[0]["mean"] / 1e9) if enc else None
            fo = med(pick(runs, where=where, fs=fs, section="scale",
                          tool="fhandle", op="open", nrfiles=n), "ops")
            ro = med(pick(runs, where=where, fs=fs, section="scale",
                          tool="rawloop", op="open", nrfiles=n), "ops")
            rows.append([where, fs, f"{n:,}", f"{s['layout_s']:.2f}",
                         f"{s['setup_fhandle_s']:.2f}",
                         f"{s['setup_null_s']:.2f}",
                         f"{s['setup_fhandle_s'] - s['setup_null_s']:.2f}",
                         "–" if enc_s is None else f"{enc_s:.2f}",
                         f"{s['rss_fhandle_kib'] / 1024:.1f}",
                         f"{s['rss_null_kib'] / 1024:.1f}", per_file, fio_pf,
                         kops(fo), kops(ro), fmt_r(ratio(fo, ro))])
    return table(["where", "fs", "files", "layout s", "fio+fhandle set-up s",
                  "fio+null set-up s", "fhandle − null s",
                  "rawloop encode-all s", "max RSS fhandle MiB",
                  "max RSS null MiB", "engine B/file", "fio B/file",
                  "open ops/s fio", "open ops/s raw", "fio ÷ raw"], rows)


def plots(runs, outdir):
    """ops/s and p50/p99/p99.9 against iodepth, one PNG per machine, file
    system and operation; sync (iodepth-free) is drawn as a flat line."""
    made = []
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot missing: no plots", file=sys.stderr)
        return made
    datdir = os.path.join(outdir, "plotdata")
    os.makedirs(datdir, exist_ok=True)
    for where, fs in places(runs):
        qd = pick(runs, where=where, fs=fs, section="qd")
        peers = pick(runs, where=where, fs=fs, section="peers",
                     tool="fhandle", variant="sync")
        for op in ("encode", "open", "openat"):
            series = []
            sync = pick(peers, op=op)
            if sync:
                series.append(("sync", [(q, med(sync, "ops"), med(sync, "p50"),
                                         med(sync, "p99"), med(sync, "p999"))
                                        for q in QDS]))
            variants = [v for (v,) in distinct(pick(qd, op=op), "variant")]
            for var in variants:
                pts = []
                for q in QDS:
                    sel = pick(qd, op=op, variant=var, qd=q)
                    if sel:
                        pts.append((q, med(sel, "ops"), med(sel, "p50"),
                                    med(sel, "p99"), med(sel, "p999")))
                series.append((var, pts))
            if not variants:
                continue	# sync only: nothing against iodepth
            name = f"qd-{where}-{fs}-{op}"
            dat = os.path.join(datdir, name + ".dat")
            with open(dat, "w") as f:
                for var, pts in series:
                    f.write(f'"{var}"\n')
                    for p in pts:
                        f.write(" ".join(str(x) for x in p) + "\n")
                    f.write("\n\n")
            png = os.path.join(outdir, name + ".png")
            title = (f"{op} on {fs} ({where}"
                     + (", instruction counts" if where == "vm" else "")
                     + ")")
            n = len(series)
            panels = [("ops/s", 2, "set logscale y"),
                      ("p50 latency (µs)", 3, "set logscale y"),
                      ("p99 latency (µs)", 4, "set logscale y"),
                      ("p99.9 latency (µs)", 5, "set logscale y")]
            script = [
                "set terminal pngcairo size 1200,900 font ',10'",
                f"set output '{png}'",
                f"set multiplot layout 2,2 title '{title}'",
                "set logscale x 2", "set xtics (1,4,16,64)",
                "set xrange [0.8:80]",
                "set xlabel 'iodepth'", "set key top left font ',8'",
                "set grid",
            ]
            for ylabel, col, logy in panels:
                scale = "" if col == 2 else "/1000"
                script += [f"set ylabel '{ylabel}'", logy,
                           "plot " + ", ".join(
                               f"'{dat}' index {i} using 1:(${col}{scale}) "
                               f"with linespoints title columnheader(1)"
                               for i in range(n))]
            script.append("unset multiplot")
            r = subprocess.run(["gnuplot"], input="\n".join(script),
                               text=True, capture_output=True)
            if r.returncode:
                print(f"report.py: gnuplot failed for {name}: {r.stderr}",
                      file=sys.stderr)
            else:
                made.append(png)
    return made


# ------------------------------------------------------------------ exact
# test/bench/exact.sh's results (RESULTS/vm/exact): instruction counts.

LAYERS = ["fio", "engine", "liburing", "libc", "syscall entry/exit",
          "io_uring core", "VFS/exportfs", "slab", "filesystem",
          "other kernel", "idle"]

KERNEL_RULES = [
    ("idle", ("__cpuidle", "default_idle", "do_idle", "cpu_idle",
              "acpi_idle", "cpuidle", "arch_cpu_idle", "amd_e400")),
    ("io_uring core", ("io_", "__io_", "tctx_", "__x64_sys_io_uring",
                       "__do_sys_io_uring")),
    # __x64_sys_X is the system call itself (its body is often inlined
    # there): it stays with its layer, VFS by default
    ("syscall entry/exit", ("entry_SYSCALL", "do_syscall_64",
                            "syscall_exit", "syscall_enter",
                            "exit_to_user_mode", "x64_sys_call",
                            "syscall_trace", "fpregs_", "switch_fpu",
                            "restore_fpregs")),
    ("filesystem", ("shmem_", "ext4_", "__ext4", "xfs_", "jbd2_",
                    "simple_", "dcache_readdir")),
    ("slab", ("kmem_cache_", "__kmalloc", "kmalloc", "kfree", "slab_",
              "__slab", "___slab", "memcg_", "obj_cgroup", "__memcg",
              "mod_objcg", "refill_obj", "get_partial", "put_cpu_partial",
              "kvfree", "__kmem_cache")),
    ("other kernel", ("schedule", "__schedule", "pick_next", "update_",
                      "enqueue_", "dequeue_", "finish_task_switch",
                      "__switch_to", "try_to_wake_up", "ttwu_", "hrtimer",
                      "tick_", "irq", "__irq", "apic_", "__sysvec",
                      "sysvec_", "asm_sysvec", "rcu_", "native_",
                      "clear_page", "handle_mm_fault", "exc_page_fault",
                      "do_user_addr_fault", "__handle_mm_fault", "perf_",
                      "__perf", "timekeeping", "ktime_", "sched_",
                      "__update", "raw_spin", "_raw_spin", "lapic",
                      "run_timer", "__run_timers", "__do_softirq",
                      "do_softirq", "psi_", "account_", "cpuacct",
                      "cgroup_", "select_task_rq", "check_preempt",
                      "set_next_entity", "put_prev", "wake_up",
                      "__wake_up", "prepare_to_wait", "finish_wait",
                      "worker_thread", "process_one_work", "kthread",
                      "ret_from_fork", "__mod_", "vm_", "mt_", "mas_",
                      "folio", "filemap_", "unmap_", "zap_", "tlb_",
                      "do_anonymous", "do_fault", "lru_", "release_pages",
                      "free_", "__free", "get_page", "alloc_pages",
                      "__alloc_pages", "rmqueue", "copy_page", "memset",
                      "memcpy", "page_")),
]


def layer_of(dso, sym):
    if dso.startswith("[kernel") or dso.startswith("["):
        if dso == "[vdso]":
            return "fio"
        for layer, prefixes in KERNEL_RULES:
            if sym.startswith(prefixes):
                return layer
        return "VFS/exportfs"
    base = os.path.basename(dso)
    if base == "fhandle.so":
        return "engine"
    if base.startswith("liburing"):
        return "liburing"
    if base.startswith("libc.so") or base.startswith("libc-"):
        return "libc"
    return "fio"


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(\S.*?)\s*$")


def perf_layers(path):
    """(ns by layer, total ns) of a perf report --sort dso,sym"""
    total, by = 0.0, {}
    with open(path) as f:
        for line in f:
            if line.startswith("# Event count"):
                total = float(line.split(":")[1])
                continue
            m = PERF_LINE.match(line)
            if not m:
                continue
            pct, dso, _, sym = m.groups()
            lay = layer_of(dso, sym)
            by[lay] = by.get(lay, 0.0) + float(pct) / 100
    return {k: v * total for k, v in by.items()}, total


def load_exact(results):
    base = os.path.join(results, "vm", "exact")
    tsv = os.path.join(base, "cases.tsv")
    rows = []
    if not os.path.isfile(tsv):
        return rows
    with open(tsv) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            try:
                with open(os.path.join(base, "json", row["id"] + ".json")) as jf:
                    d = json.load(jf)
            except (OSError, ValueError):
                continue
            if d.get("tool") == "rawloop":
                row.update(ops=d["ops_per_sec"], n=d["ops"], p50=d["p50_ns"],
                           p99=d["p99_ns"])
            else:
                r = d["jobs"][0]["read"]
                lat = r["lat_ns"]
                pct = lat.get("percentile", {})
                row.update(ops=sum(j["read"]["iops"] for j in d["jobs"]),
                           n=sum(j["read"]["total_ios"] for j in d["jobs"]),
                           p50=pct.get("50.000000", 0),
                           p99=pct.get("99.000000", 0))
            for k in ("qd", "jobs", "delay_ms", "nrfiles", "perf"):
                row[k] = int(row[k])
            dm = os.path.join(base, "json", row["id"] + ".dm")
            if os.path.isfile(dm):
                with open(dm) as df:
                    row.update(json.load(df))
            pf = os.path.join(base, "perf", row["id"] + ".txt")
            if os.path.isfile(pf):
                row["layers"], row["event_ns"] = perf_layers(pf)
            rows.append(row)
    return rows


def cell_name(op, var, qd):
    return f"{op} {var}" + ("" if var == "sync" else f" qd{qd}")


def steady_layers(ex, op, var, qd):
    """instructions per operation by layer: the perf2 profile minus the
    perf1 profile (half the operations) over the operations between"""
    p1 = pick(ex, section="warm", op=op, variant=var, qd=qd, perf=1)
    p2 = pick(ex, section="warm", op=op, variant=var, qd=qd, perf=2)
    if not p1 or not p2 or "layers" not in p1[0] or "layers" not in p2[0]:
        return None
    dn = p2[0]["n"] - p1[0]["n"]
    plain = pick(ex, section="warm", op=op, variant=var, qd=qd, perf=0)
    if dn <= 0 or not plain:
        return None
    lay = {k: (p2[0]["layers"].get(k, 0) - p1[0]["layers"].get(k, 0)) / dn
           for k in LAYERS}
    # perf's own sampling interrupts stretch guest time: keep the shares,
    # scale them to the plain run's count
    tot = sum(v for k, v in lay.items() if k != "idle")
    if tot <= 0:
        return None
    scale = 1e9 / plain[0]["ops"] / tot
    lay = {k: v * scale for k, v in lay.items()}
    lay["profiled"] = tot
    return lay


def warm_cells(ex):
    return distinct(pick(ex, section="warm", perf=0), "op", "variant", "qd")


def t_exact_warm(ex):
    rows = []
    sync = {r["op"]: 1e9 / r["ops"] for r in
            pick(ex, section="warm", perf=0, variant="sync")}
    for op, var, qd in warm_cells(ex):
        r = pick(ex, section="warm", perf=0, op=op, variant=var, qd=qd)[0]
        ins = 1e9 / r["ops"]
        lay = steady_layers(ex, op, var, qd)
        user = kern = "–"
        if lay:
            u = sum(lay[k] for k in ("fio", "engine", "liburing", "libc"))
            t = sum(lay[k] for k in LAYERS if k != "idle")
            if t > 0:
                user, kern = f"{100 * u / t:.0f}%", f"{100 * (t - u) / t:.0f}%"
        over = "–"
        if var != "sync" and op in sync:
            over = f"{ins - sync[op]:+,.0f}"
        rows.append([cell_name(op, var, qd), f"{ins:,.0f}",
                     f"{r['ops'] / 1000:,.1f}k", over, user, kern,
                     f"{r['n']:,}"])
    return table(["cell", "instructions / op", "ops/s at 1 instr/ns",
                  "ring − syscall (instr/op)", "user", "kernel",
                  "operations"], rows)


def t_exact_layers(ex):
    rows = []
    for op, var, qd in warm_cells(ex):
        lay = steady_layers(ex, op, var, qd)
        if not lay:
            continue
        r = pick(ex, section="warm", perf=0, op=op, variant=var, qd=qd)[0]
        rows.append([cell_name(op, var, qd)] +
                    [f"{lay[k]:,.0f}" for k in LAYERS if k != "idle"] +
                    [f"{1e9 / r['ops']:,.0f}", f"{lay['profiled']:,.0f}"])
    return table(["cell"] + [k for k in LAYERS if k != "idle"] +
                 ["total (counted)", "profiled (with perf's cost)"], rows)


DISK_HOW = [("sync", 1, "sync, 1 thread"), ("sync", 4, "sync, 4 threads"),
            ("sync", 16, "sync, 16 threads"), ("sync", 64, "sync, 64 threads"),
            ("uring", 4, "uring qd4"), ("uring", 16, "uring qd16"),
            ("uring", 64, "uring qd64"), ("uring+fixed", 4, "uring+fixed qd4"),
            ("uring+fixed", 16, "uring+fixed qd16"),
            ("uring+fixed", 64, "uring+fixed qd64")]


def disk_pick(ex, fs, ms, op, var, n):
    if var == "sync":
        sel = pick(ex, section="disk", fs=fs, delay_ms=ms, op=op,
                   variant=var, jobs=n)
    else:
        sel = pick(ex, section="disk", fs=fs, delay_ms=ms, op=op,
                   variant=var, qd=n, jobs=1)
    return sel[0] if sel else None


def disk_groups(ex):
    return distinct(pick(ex, section="disk"), "fs", "delay_ms", "op")


def t_exact_disk(ex):
    rows = []
    for fs, ms, op in disk_groups(ex):
        base = disk_pick(ex, fs, ms, op, "sync", 1)
        for var, n, label in DISK_HOW:
            r = disk_pick(ex, fs, ms, op, var, n)
            if not r:
                continue
            reads = r.get("reads")
            rows.append([fs, f"{ms} ms", op, label, f"{r['ops']:,.0f}",
                         fmt_r(ratio(r["ops"], base["ops"] if base else None)),
                         f"{r['p50'] / 1e6:.2f}", f"{r['p99'] / 1e6:.2f}",
                         "–" if reads is None else f"{reads / r['n']:.2f}",
                         "–" if not reads else f"{r['read_ms'] / reads:.1f}",
                         f"{r['n']:,}"])
    return table(["fs", "dm-delay", "operation", "how", "ops/s",
                  "× sync 1 thread", "p50 ms", "p99 ms", "disk reads / op",
                  "ms / read (measured)", "operations"], rows)


def exact_plots(ex, outdir):
    made = []
    if not shutil.which("gnuplot") or not ex:
        return made
    datdir = os.path.join(outdir, "plotdata")
    os.makedirs(datdir, exist_ok=True)
    # per-op instructions stacked by layer
    cells = [c for c in warm_cells(ex) if steady_layers(ex, *c)]
    if cells:
        dat = os.path.join(datdir, "exact-layers.dat")
        lays = [k for k in LAYERS if k != "idle"]
        with open(dat, "w") as f:
            f.write("cell " + " ".join(f'"{k}"' for k in lays) + "\n")
            for c in cells:
                lay = steady_layers(ex, *c)
                f.write(f'"{cell_name(*c)}" ' +
                        " ".join(f"{max(lay[k], 0):.0f}" for k in lays) + "\n")
        png = os.path.join(outdir, "exact-layers.png")
        script = ["set terminal pngcairo noenhanced size 1400,700 font ',10'",
                  f"set output '{png}'",
                  "set title 'Instructions per operation by layer (VM, "
                  "icount, tmpfs, warm; perf cpu-clock on guest time)'",
                  "set style data histograms",
                  "set style histogram rowstacked", "set style fill solid 0.8",
                  "set boxwidth 0.7", "set key outside right",
                  "set ylabel 'instructions / operation'",
                  "set xtics rotate by -35", "set grid ytics",
                  "plot " + ", ".join(
                      f"'{dat}' using {i + 2}" + (":xtic(1)" if i == 0 else "")
                      + " title columnhead" for i in range(len(lays)))]
        if run_gnuplot(script, "exact-layers"):
            made.append(png)
    # cold-disk ops/s against outstanding requests, per latency
    for fs in sorted({r["fs"] for r in pick(ex, section="disk")}):
        groups = [g for g in disk_groups(ex) if g[0] == fs]
        if not groups:
            continue
        dat = os.path.join(datdir, f"exact-disk-{fs}.dat")
        series = []
        with open(dat, "w") as f:
            for _, ms, op in groups:
                for var, label in (("sync", "sync threads"),
                                   ("uring", "uring qd"),
                                   ("uring+fixed", "uring+fixed qd")):
                    pts = [(n, disk_pick(ex, fs, ms, op, var, n))
                           for n in (1, 4, 16, 64)]
                    pts = [(n, r["ops"]) for n, r in pts if r]
                    if not pts:
                        continue
                    f.write(f'"{op}, {label}, {ms} ms"\n')
                    for n, v in pts:
                        f.write(f"{n} {v}\n")
                    f.write("\n\n")
                    series.append(len(series))
        png = os.path.join(outdir, f"exact-disk-{fs}.png")
        script = ["set terminal pngcairo noenhanced size 1200,800 font ',10'",
                  f"set output '{png}'",
                  f"set title 'Cold opens and encodes on {fs} behind "
                  "dm-delay (VM, icount): ops/s against requests in flight'",
                  "set logscale xy", "set xtics (1,4,16,64)",
                  "set xrange [0.8:80]", "set grid",
                  "set xlabel 'outstanding requests (threads for sync, "
                  "iodepth for uring)'", "set ylabel 'ops/s (guest time)'",
                  "set key outside right font ',9'",
                  "plot " + ", ".join(
                      f"'{dat}' index {i} using 1:2 with linespoints "
                      "title columnheader(1)" for i in series)]
        if run_gnuplot(script, f"exact-disk-{fs}"):
            made.append(png)
    return made


def run_gnuplot(script, name):
    r = subprocess.run(["gnuplot"], input="\n".join(script), text=True,
                       capture_output=True)
    if r.returncode:
        print(f"report.py: gnuplot failed for {name}: {r.stderr}",
              file=sys.stderr)
    return r.returncode == 0



def write_summary(runs, path):
    keys = ["where", "fs", "section", "tool", "op", "variant", "qd", "depth",
            "cache", "nrfiles", "rep", "ops", "p50", "p99", "p999", "mean"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in runs:
            if r["tool"] != "scale":
                w.writerow([round(r[k], 1) if isinstance(r[k], float) else r[k]
                            for k in keys])


def replace_blocks(doc, blocks):
    with open(doc) as f:
        text = f.read()
    for name, body in blocks.items():
        pat = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)",
                         re.S)
        text = pat.sub(lambda m: m.group(1) + body + m.group(2), text)
    with open(doc, "w") as f:
        f.write(text)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    results = args[0]
    doc = copy = None
    if "--doc" in args:
        doc = args[args.index("--doc") + 1]
    if "--copy" in args:
        copy = args[args.index("--copy") + 1]
    runs = load(results)
    ex = load_exact(results)
    if not runs and not ex:
        print(f"report.py: no results in {results}", file=sys.stderr)
        sys.exit(1)
    blocks = {
        "floor": t_floor(runs, load_notes(results)),
        "exact-warm": t_exact_warm(ex), "exact-layers": t_exact_layers(ex),
        "exact-disk": t_exact_disk(ex),
        "peers": t_peers(runs), "overhead": t_overhead(runs),
        "uring": t_uring(runs), "depth": t_depth(runs),
        "abspath": t_abspath(runs), "cold": t_cold(runs),
        "scale": t_scale(runs),
    }
    titles = {
        "floor": "Host: the sync backend against fio's floor",
        "exact-warm": "VM, exact: instructions per operation",
        "exact-layers": "VM, exact: instructions per operation by layer",
        "exact-disk": "VM, exact: cold operations on a modelled disk",
        "peers": "Every tool at iodepth 1, 1000 files, warm (medians)",
        "overhead": "fio's overhead: the sync backend against the bare loop",
        "uring": "uring against sync (ops/s ratio), by iodepth",
        "depth": "By handle against by path, directory depth 1 and 8",
        "abspath": "Paths relative to the file system against absolute",
        "cold": "Warm against cold dentry and inode caches",
        "scale": "Scale: set-up, memory, ops/s by number of files",
    }
    pngs = plots(runs, results) + exact_plots(ex, results)
    md = ["# make compare results\n", TCG_NOTE + "\n"]
    for k, body in blocks.items():
        md.append(f"## {titles[k]}\n\n{body}")
    for p in pngs:
        md.append(f"![{os.path.basename(p)}]({os.path.basename(p)})\n")
    with open(os.path.join(results, "tables.md"), "w") as f:
        f.write("\n".join(md))
    write_summary(runs, os.path.join(results, "summary.csv"))
    if doc:
        replace_blocks(doc, blocks)
    if copy:
        os.makedirs(copy, exist_ok=True)
        for old in os.listdir(copy):
            if old.endswith(".png"):
                os.remove(os.path.join(copy, old))
        for p in pngs + [os.path.join(results, "tables.md"),
                         os.path.join(results, "summary.csv")]:
            shutil.copy(p, copy)
    print(f"report.py: {len(runs)} runs, {len(pngs)} plots, "
          f"tables in {os.path.join(results, 'tables.md')}")


if __name__ == "__main__":
    main()
