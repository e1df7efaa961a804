#!/usr/bin/python3
"""BENCHMARKS.md from the committed results of `make compare`.

usage: report.py [--results DIR] [--template FILE] [--doc FILE]
                 [--plots] [--check] [--positions]

Every number the prose of BENCHMARKS.md states is computed here from the
raw results in DIR (test/bench/results: one line of JSON per run), and
put in the prose through the template (test/bench/BENCHMARKS.md.in):
{{name}} is a value or a table, {{plot:name}} a plot.  A name the report
does not know fails it.  Without --check the document is written; with
--check it is compared with the committed one, and any difference (a
number edited by hand, a result changed without the document) fails.
--plots draws the plots (gnuplot) into DIR; --positions lists where each
value stands in the document (line, column, name), for the test that
edits one.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# --------------------------------------------------------------- helpers


def load_jsonl(path):
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def pick(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def one(rows, **kw):
    """the mean of the matching runs (the repeats of one cell)"""
    sel = pick(rows, **kw)
    if not sel:
        raise KeyError(f"no run with {kw}")
    return sel


def mean_of(sel, key):
    return statistics.fmean(r[key] for r in sel)


def spread(sel, key):
    """(max - min) / mean of the repeats of a cell"""
    vals = [r[key] for r in sel]
    m = statistics.fmean(vals)
    return (max(vals) - min(vals)) / m if m else 0.0


def group(rows, *keys):
    out = {}
    for r in rows:
        out.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return out


def fmt_int(v):
    return f"{v:,.0f}"


def fmt_k(v):
    """ops/s as fio prints them: 1.2k, 35.0k, 216k"""
    if v >= 100000:
        return f"{v / 1000:.0f}k"
    if v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.0f}"


def fmt_x(v):
    return f"{v:.2f}×"


def fmt_pct(v, digits=1):
    return f"{100 * v:.{digits}f}%"


def fmt_us(ns):
    us = ns / 1000
    if us >= 100:
        return f"{us:,.0f} µs"
    if us >= 10:
        return f"{us:.1f} µs"
    return f"{us:.2f} µs"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join("---" for _ in head) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def median_ci(vals, level=0.95):
    """the median and a distribution-free interval for it (order
    statistics: the interval covers the median with probability
    >= level), as (median, low, high, coverage)"""
    xs = sorted(vals)
    n = len(xs)
    med = statistics.median(xs)
    # P(X < k) for X ~ Binomial(n, 1/2): the largest k with
    # P(X <= k - 1) <= (1 - level) / 2 gives [x(k), x(n + 1 - k)]
    cdf, k = 0.0, 0
    while True:
        p = math.comb(n, k) / 2 ** n
        if cdf + p > (1 - level) / 2:
            break
        cdf += p
        k += 1
    if k == 0:
        return med, xs[0], xs[-1], 1.0
    return med, xs[k - 1], xs[n - k], 1 - 2 * cdf


# --------------------------------------------------------------- the doc


class Report:
    def __init__(self, results):
        self.results = results
        self.values = {}
        self.plots = {}

    def put(self, name, text):
        if name in self.values:
            raise KeyError(f"value {name} set twice")
        self.values[name] = str(text)

    def plot(self, name, alt, script, data):
        """a gnuplot SCRIPT over the DATA file's text, drawn into
        RESULTS/NAME.png"""
        self.plots[name] = (alt, script, data)
        self.values["plot:" + name] = (
            f"![{alt}](test/bench/results/{name}.png)")

    def draw(self):
        for name, (_, script, data) in sorted(self.plots.items()):
            dat = os.path.join(self.results, name + ".dat")
            png = os.path.join(self.results, name + ".png")
            with open(dat, "w") as f:
                f.write(data)
            full = ("set terminal pngcairo size 900,520 font 'sans,10' "
                    "noenhanced\n"
                    f"set output '{png}'\n" + script.replace("DATA", f"'{dat}'"))
            subprocess.run(["gnuplot"], input=full, text=True, check=True)
            os.unlink(dat)

    def render(self, template):
        """the template with every {{name}}: (text, [(line, col, name)])"""
        out, pos = [], []
        pat = re.compile(r"\{\{([^{}]+)\}\}")
        for lineno, line in enumerate(template.split("\n"), 1):
            res, last = "", 0
            for m in pat.finditer(line):
                res += line[last:m.start()]
                name = m.group(1)
                if name not in self.values:
                    raise KeyError(f"template line {lineno}: unknown "
                                   f"{{{{{name}}}}}")
                if "\n" not in self.values[name]:
                    pos.append((len(out) + 1, len(res) + 1, name))
                res += self.values[name]
                last = m.end()
            res += line[last:]
            out.extend(res.split("\n"))
        return "\n".join(out), pos


# --------------------------------------------------------------- host

HOST_TARGET = 0.95


def sec_host(rep):
    rows = load_jsonl(os.path.join(rep.results, "host", "cells.jsonl"))
    if not rows:
        raise SystemExit("report: no host results")
    load = []
    with open(os.path.join(rep.results, "host", "load.tsv")) as f:
        for line in f:
            _, what, busy, la = line.rstrip("\n").split("\t")
            load.append(float(busy))
    reps = sorted({r["rep"] for r in rows})
    rep.put("host.reps", len(reps))
    rep.put("host.busy.max", f"{max(load):.0f}%")
    rep.put("host.quiet", "quiet" if max(load) <= 10 else "NOT quiet")
    lines, verdicts, dat = [], {}, ""
    for fs in sorted({r["fs"] for r in rows}, key=lambda f: f != "tmpfs"):
        for op in ("encode", "open", "openat"):
            ratios, eng, floor = [], [], []
            for k in reps:
                e = one(rows, fs=fs, op=op, rep=k, tool="engine")[0]
                w = one(rows, fs=fs, op=op, rep=k, tool="raw")[0]
                n = one(rows, fs=fs, op=op, rep=k, tool="null")[0]
                fl = 1e9 / (w["ns_per_op"] + 1e9 / n["ops_per_sec"])
                ratios.append(e["ops_per_sec"] / fl)
                eng.append(e["ops_per_sec"])
                floor.append(fl)
            med, lo, hi, cov = median_ci(ratios)
            verdict = ("met" if lo >= HOST_TARGET else
                       "missed" if hi < HOST_TARGET else "undecided")
            verdicts[(fs, op)] = verdict
            key = f"host.{fs}.{op}"
            rep.put(key + ".ratio", f"{med:.3f}")
            rep.put(key + ".ci", f"{lo:.3f}–{hi:.3f}")
            rep.put(key + ".verdict", verdict)
            lines.append([fs, op, fmt_k(statistics.median(eng)),
                          fmt_k(statistics.median(floor)), f"{med:.3f}",
                          f"{lo:.3f}–{hi:.3f} ({100 * cov:.1f}%)", verdict])
            dat += f'"{fs} {op}" {med} {lo} {hi}\n'
            rep.put(key + ".coverage", f"{100 * cov:.1f}%")
    rep.put("table:host", table(
        ["fs", "operation", "engine ops/s (median)",
         "floor ops/s (median)", "ratio (median of repeats)",
         "interval of the median (coverage)", f"≥ {HOST_TARGET}?"],
        lines))
    meds = [float(rep.values[f"host.{fs}.{op}.ratio"]) for fs, op in verdicts]
    rep.put("host.ratio.min", f"{min(meds):.2f}")
    rep.put("host.ratio.max", f"{max(meds):.2f}")
    counts = {v: sum(1 for x in verdicts.values() if x == v)
              for v in ("met", "missed", "undecided")}
    for v, c in counts.items():
        rep.put(f"host.count.{v}", c)
    rep.plot("host-floor", "the sync backend against fio's floor, with "
             "the interval of each median",
             "set title \"sync backend ÷ fio's floor, 1/(t_raw + t_null): "
             "median of the repeats, its interval\"\n"
             "set ylabel 'ratio'\nset yrange [0.5:1.2]\n"
             "set style fill solid 0.4\nset boxwidth 0.6\n"
             "set xtics rotate by -30\nset key top right\n"
             f"set arrow from graph 0, first {HOST_TARGET} to graph 1, "
             f"first {HOST_TARGET} nohead lc rgb 'red' dt 2\n"
             f"set label 'target {HOST_TARGET}' at graph 0.02, first "
             f"{HOST_TARGET + 0.015} tc rgb 'red'\n"
             "plot DATA using 0:2:xtic(1) with boxes lc rgb '#4477aa' "
             "title 'median', '' using 0:2:3:4 with yerrorbars lc rgb "
             "'black' pt -1 title 'interval (≥ 95%)'\n",
             dat)


# --------------------------------------------------------------- break-even

RINGS = [1, 4, 16, 64]
POOLS = [1, 4, 16, 64]
MISSES = [0, 0.01, 0.1, 0.5, 1]
BEATS = 1.10    # "beats": at least 10% more operations per second
MATCHES = 0.90  # "matches": at least 90% of them
OP_NAMES = {"open": "open by handle + close",
            "open_read": "open by handle + read 4 KiB + close",
            "encode": "encode (name_to_handle_at)"}


def variant(r):
    return ("ring", r["depth"]) if r["ring"] else ("sync", r["threads"])


def vname(v):
    return f"ring qd{v[1]}" if v[0] == "ring" else (
        "1 thread" if v[1] == 1 else f"{v[1]} threads")


class Sweep:
    """one fs / queue cap / tag of breakeven.sh: cells by (lat, op, miss,
    variant), each the mean of its repeats"""

    def __init__(self, rows, devs):
        self.cells, self.spreads = {}, []
        self.qcap = rows[0]["qcap"]
        by = group(rows, "lat_us", "op", "miss", "ring", "depth", "threads",
                   "iowq")
        for (lat, op, miss, ring, depth, threads, iowq), sel in by.items():
            v = ("ring", depth) if ring else ("sync", threads)
            c = {k: mean_of(sel, k) for k in
                 ("ops_per_sec", "p50_ns", "p99_ns", "busy_ns_per_op",
                  "reads_per_op")}
            c["n"] = len(sel)
            if len(sel) > 1:
                c["spread"] = spread(sel, "ops_per_sec")
                self.spreads.append(
                    (c["spread"], (lat, op, miss, v, iowq)))
            self.cells[(lat, op, miss, v, iowq)] = c
        self.lats = sorted({k[0] for k in self.cells})
        self.ops = [o for o in OP_NAMES if any(k[1] == o for k in self.cells)]
        self.misses = sorted({k[2] for k in self.cells})
        self.measured = {d["lat_us"]: d["read_p50_ns"] for d in devs}
        vs = {k[3] for k in self.cells}
        self.variants = ([v for v in sorted(vs) if v[0] == "ring"] +
                         [v for v in sorted(vs) if v[0] == "sync"])
        rings = [v for v in self.variants if v[0] == "ring"]
        self.lat_ring = ("ring", 16) if ("ring", 16) in vs else rings[-1]

    def get(self, lat, op, miss, v, iowq=0):
        # miss 0 reads nothing: one run serves every latency
        if miss == 0:
            lat = self.lats[0]
        return self.cells.get((lat, op, miss, v, iowq))

    def best_ring(self, lat, op, miss):
        cands = [(c["ops_per_sec"], d, c) for d in RINGS
                 if (c := self.get(lat, op, miss, ("ring", d)))]
        return max(cands, key=lambda t: t[0]) if cands else None

    def lat_label(self, lat):
        """the latency measured per read (fio, psync, depth 1, p50)"""
        return fmt_us(self.measured.get(lat, lat * 1000))


def sec_breakeven(rep):
    base = os.path.join(rep.results, "vm", "breakeven")
    rows = load_jsonl(os.path.join(base, "cells.jsonl"))
    devs = load_jsonl(os.path.join(base, "devices.jsonl"))
    if not rows:
        raise SystemExit("report: no break-even results")
    deep = Sweep([r for r in rows if r["fs"] == "ext4" and not r.get("tag")],
                 [d for d in devs if d["fs"] == "ext4" and not d.get("tag")])
    rep.put("be.files", fmt_int(rows[0]["files"]))
    rep.put("be.stride", rows[0]["stride"])
    rep.put("be.qcap", deep.qcap)
    spreads = []   # (spread, fs and tag, cell)
    for fs, tag in sorted({(r["fs"], r.get("tag", "")) for r in rows}):
        sw = Sweep([r for r in rows if r["fs"] == fs and r.get("tag", "") == tag],
                   [d for d in devs if d["fs"] == fs and d.get("tag", "") == tag])
        spreads += [(sp, fs + (" " + tag if tag else ""), k)
                    for sp, k in sw.spreads]
        name = fs + ("." + tag if tag else "")
        for lat in sw.lats:
            rep.put(f"be.{name}.lat.{lat}", sw.lat_label(lat))
        if (fs, tag) != ("ext4", ""):
            # the other sweeps: a table each, below ext4's
            rep.put(f"be.{name}.qcap", sw.qcap)
            for op in sw.ops:
                rep.put(f"table:be.{name}.{op}", be_table(sw, op))
    spread_stats(rep, spreads)
    rep.put("be.repeated", sum(1 for r in rows if r["rep"] == 2))
    rule_rows = []
    for op in deep.ops:
        for lat in deep.lats:
            beat = next((m for m in deep.misses if m > 0 and
                         (b := deep.best_ring(lat, op, m)) and
                         b[0] >= BEATS * deep.get(lat, op, m, ("sync", 1))
                         ["ops_per_sec"]), None)
            full = deep.best_ring(lat, op, 1)
            match = max((n for n in POOLS if n > 1 and full and
                         full[0] >= MATCHES *
                         deep.get(lat, op, 1, ("sync", n))["ops_per_sec"]),
                        default=None)
            x1 = full[0] / deep.get(lat, op, 1, ("sync", 1))["ops_per_sec"]
            key = f"be.{op}.{lat}"
            rep.put(key + ".beat", "never" if beat is None else
                    fmt_pct(beat, 0))
            rep.put(key + ".match", "none" if match is None else match)
            rep.put(key + ".x1", fmt_x(x1))
            rep.put(key + ".bestqd", full[1])
            rule_rows.append([OP_NAMES[op], deep.lat_label(lat),
                              "never" if beat is None else
                              fmt_pct(beat, 0), fmt_x(x1) + f" (qd{full[1]})",
                              "–" if match is None else f"{match} threads"])
    rep.put("table:be.rule", table(
        ["operation", "device read (measured)",
         f"ring beats 1 thread (≥ {BEATS:.2f}×) from miss ratio",
         "ring ÷ 1 thread, all miss (best qd)",
         f"largest pool the ring matches (≥ {MATCHES:.2f}×), all miss"],
        rule_rows))
    # CPU: what the ring costs where it does not pay (miss 0)
    for op in deep.ops:
        s1 = deep.get(deep.lats[0], op, 0, ("sync", 1))
        for d in (1, 16):
            r = deep.get(deep.lats[0], op, 0, ("ring", d))
            if s1 and r:
                rep.put(f"be.{op}.warm.ring{d}.cpu",
                        fmt_int(r["busy_ns_per_op"]))
                rep.put(f"be.{op}.warm.ring{d}.cpu.x",
                        fmt_x(r["busy_ns_per_op"] / s1["busy_ns_per_op"]))
        if s1:
            rep.put(f"be.{op}.warm.sync.cpu", fmt_int(s1["busy_ns_per_op"]))
    # the full tables: one per operation, ext4, deep queue
    for op in deep.ops:
        rep.put(f"table:be.{op}", be_table(deep, op))
        be_plot(rep, deep, op)
        scaling_plot(rep, deep, op)
    sec_iowq(rep, deep)


def spread_stats(rep, spreads):
    """how far the two runs of a cell differ (ops/s): under icount the
    guest's time is its instruction count, but which task runs when a
    device read completes still varies from run to run"""
    if not spreads:
        raise SystemExit("report: no repeated break-even cells")
    sps = sorted(sp for sp, _, _ in spreads)
    rep.put("be.spread.median", fmt_pct(statistics.median(sps), 2))
    rep.put("be.spread.p90", fmt_pct(sps[int(0.9 * (len(sps) - 1))], 1))
    rep.put("be.spread.max", fmt_pct(sps[-1], 1))
    sp, where, (lat, op, miss, v, iowq) = max(spreads)
    rep.put("be.spread.worst", f"{OP_NAMES[op]}, {where}, {lat} µs asked, "
            f"{fmt_pct(miss, 0)} misses, {vname(v)}")
    rep.put("be.spread.over5", sum(1 for x in sps if x > 0.05))


def be_table(sw, op):
    """one sweep's cells of one operation: ops/s of every variant (ratio
    to one thread), the ring's latency at depth 16, CPU and reads per op"""
    lines = []
    for lat in sw.lats:
        for miss in sw.misses:
            if miss == 0 and lat != sw.lats[0]:
                continue
            s1 = sw.get(lat, op, miss, ("sync", 1))
            row = [sw.lat_label(lat) if miss else "(any)", fmt_pct(miss, 0)]
            for v in sw.variants:
                c = sw.get(lat, op, miss, v)
                row.append("–" if not c else
                           f"{fmt_k(c['ops_per_sec'])}" +
                           ("" if v == ("sync", 1) else
                            f" ({c['ops_per_sec'] / s1['ops_per_sec']:.2f}×)"))
            c = sw.get(lat, op, miss, sw.lat_ring)
            row.append(f"{fmt_us(c['p50_ns'])} / {fmt_us(c['p99_ns'])}")
            row.append(f"{fmt_int(c['busy_ns_per_op'])} / "
                       f"{fmt_int(s1['busy_ns_per_op'])}")
            row.append(f"{c['reads_per_op']:.2f} / {s1['reads_per_op']:.2f}")
            lines.append(row)
    d = sw.lat_ring[1]
    return table(["read", "miss"] + [vname(v) for v in sw.variants] +
                 [f"ring qd{d} p50 / p99", f"CPU ns/op ring qd{d} / 1 thread",
                  f"reads/op ring qd{d} / 1 thread"], lines)


def sec_iowq(rep, deep):
    """cold encodes with io-wq's worker cap raised"""
    lines = []
    for lat in deep.lats:
        for d in (16, 64):
            base = deep.get(lat, "encode", 1, ("ring", d))
            raised = [c for (l, o, m, v, w), c in deep.cells.items()
                      if l == lat and o == "encode" and m == 1 and
                      v == ("ring", d) and w != 0]
            if not base or not raised:
                continue
            r = raised[0]
            s1 = deep.get(lat, "encode", 1, ("sync", 1))
            lines.append([deep.lat_label(lat), f"qd{d}",
                          fmt_k(base["ops_per_sec"]),
                          fmt_k(r["ops_per_sec"]),
                          fmt_x(r["ops_per_sec"] / base["ops_per_sec"]),
                          fmt_x(r["ops_per_sec"] / s1["ops_per_sec"])])
            rep.put(f"be.iowq.{lat}.qd{d}.x",
                    fmt_x(r["ops_per_sec"] / base["ops_per_sec"]))
    rep.put("table:be.iowq", table(
        ["read", "ring", "ops/s, io-wq as it is",
         "ops/s, io-wq limits raised", "raised ÷ as it is",
         "raised ÷ 1 thread"], lines))


def sec_smp2(rep):
    """the key cells on 2 vCPUs (TCG without icount): ratios within one
    run (each repeat runs every variant of a cell back to back)"""
    rows = load_jsonl(os.path.join(rep.results, "vm", "smp2", "cells.jsonl"))
    if not rows:
        raise SystemExit("report: no 2-vCPU results")
    reps = sorted({r["rep"] for r in rows})
    rep.put("smp2.reps", len(reps))
    lines = []
    for op in [o for o in OP_NAMES if pick(rows, op=o)]:
        for lat in sorted({r["lat_us"] for r in rows}):
            for d in sorted({r["depth"] for r in rows if r["ring"]}):
                for n in sorted({r["threads"] for r in rows
                                 if not r["ring"]}):
                    ratios = []
                    for k in reps:
                        rg = pick(rows, op=op, lat_us=lat, rep=k, ring=1,
                                  depth=d)
                        sy = pick(rows, op=op, lat_us=lat, rep=k, ring=0,
                                  threads=n)
                        if rg and sy:
                            ratios.append(rg[0]["ops_per_sec"] /
                                          sy[0]["ops_per_sec"])
                    if not ratios:
                        continue
                    med = statistics.median(ratios)
                    rep.put(f"smp2.{op}.{lat}.qd{d}.vs{n}", fmt_x(med))
                    lines.append([OP_NAMES[op], f"{lat} µs asked",
                                  f"ring qd{d} ÷ {vname(('sync', n))}",
                                  fmt_x(med), f"{min(ratios):.2f}–"
                                  f"{max(ratios):.2f}"])
    rep.put("table:smp2", table(["operation", "device", "ratio",
                                 "median of the repeats", "range"], lines))


def be_plot(rep, sw, op):
    """ops/s against miss ratio, one panel per latency"""
    dat = ""
    variants = [("ring", 1), ("ring", 16), ("ring", 64), ("sync", 1),
                ("sync", 16), ("sync", 64)]
    for i, lat in enumerate(sw.lats):
        dat += f"# {sw.lat_label(lat)}\n"
        for miss in [m for m in sw.misses if m > 0]:
            vals = [sw.get(lat, op, miss, v) for v in variants]
            dat += f"{100 * miss} " + " ".join(
                f"{c['ops_per_sec']:.1f}" if c else "NaN" for c in vals) + "\n"
        dat += "\n\n"
    colors = ["#1b9e77", "#66a61e", "#117733", "#d95f02", "#e7298a",
              "#7570b3"]
    plots = []
    for i, lat in enumerate(sw.lats):
        lines = ", ".join(
            f"DATA index {i} using 1:{j + 2} with linespoints lw 2 lc rgb "
            f"'{colors[j]}' title '{vname(v)}'" for j, v in enumerate(variants))
        plots.append(f"set title '{OP_NAMES[op]}, read {sw.lat_label(lat)}'\n"
                     f"plot {lines}\n")
    rep.plot(f"be-{op}", f"{OP_NAMES[op]}: ops/s against the miss ratio, "
             "ring from one thread and thread pools",
             f"set multiplot layout 2,{(len(sw.lats) + 1) // 2}\n"
             "set logscale x\nset logscale y\nset xlabel 'miss ratio (%)'\n"
             "set ylabel 'ops/s'\nset key bottom left font ',8'\nset grid\n"
             + "".join(plots) + "unset multiplot\n", dat)


def scaling_plot(rep, sw, op):
    """every operation a miss: ops/s against the requests in flight (ring
    depth, pool size), with one thread times N as the ideal"""
    dat = ""
    for lat in sw.lats:
        s1 = sw.get(lat, op, 1, ("sync", 1))
        dat += f"# {sw.lat_label(lat)}\n"
        for n in sorted(set(RINGS) | set(POOLS)):
            r = sw.get(lat, op, 1, ("ring", n))
            p = sw.get(lat, op, 1, ("sync", n))
            dat += (f"{n} {r['ops_per_sec'] if r else 'NaN'} "
                    f"{p['ops_per_sec'] if p else 'NaN'} "
                    f"{s1['ops_per_sec'] * n}\n")
        dat += "\n\n"
    plots = []
    for i, lat in enumerate(sw.lats):
        plots.append(
            f"set title '{OP_NAMES[op]}, all miss, read {sw.lat_label(lat)}'\n"
            f"plot DATA index {i} using 1:2 with linespoints lw 2 lc rgb "
            f"'#117733' title 'ring from 1 thread, depth N', "
            f"DATA index {i} using 1:3 with linespoints lw 2 lc rgb "
            f"'#d95f02' title 'N threads', "
            f"DATA index {i} using 1:4 with lines dt 2 lc rgb 'black' "
            f"title 'ideal: 1 thread x N'\n")
    rep.plot(f"scaling-{op}", f"{OP_NAMES[op]}, every operation a miss: "
             "ops/s against the requests in flight, with ideal scaling",
             f"set multiplot layout 2,{(len(sw.lats) + 1) // 2}\n"
             "set logscale x 2\nset logscale y\nset xlabel 'N (depth or "
             "threads)'\nset ylabel 'ops/s'\nset key top left font ',8'\n"
             "set grid\nset xrange [0.8:80]\nset xtics (1, 4, 16, 64)\n" +
             "".join(plots) + "unset multiplot\n", dat)


# --------------------------------------------------------------- warm

SMALL = "symbols under 0.05% each"
LAYERS = ["fio", "rawloop", "engine", "liburing", "libc",
          "syscall entry/exit", "io_uring core", "VFS/exportfs", "slab",
          "filesystem", "other kernel", SMALL, "idle"]

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
              "kvfree", "__kmem_cache", "__update_cpu_freelist")),
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
    if dso.startswith("["):
        if dso == "[vdso]":
            return "libc"
        for layer, prefixes in KERNEL_RULES:
            if sym.startswith(prefixes):
                return layer
        return "VFS/exportfs"
    base = os.path.basename(dso)
    if base == "fhandle.so":
        return "engine"
    if base == "rawloop":
        return "rawloop"
    if base.startswith("liburing"):
        return "liburing"
    if base.startswith("libc.so") or base.startswith("libc-"):
        return "libc"
    return "fio"


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(\S.*?)\s*$")


def perf_shares(path):
    """each layer's share of a perf report --sort dso,sym"""
    by = {}
    with open(path) as f:
        for line in f:
            m = PERF_LINE.match(line)
            if m:
                pct, dso, _, sym = m.groups()
                lay = layer_of(dso, sym)
                by[lay] = by.get(lay, 0.0) + float(pct) / 100
    return by


def sec_warm(rep):
    base = os.path.join(rep.results, "vm", "warm")
    rows = load_jsonl(os.path.join(base, "cells.jsonl"))
    if not rows:
        raise SystemExit("report: no warm results")
    raw = pick(rows, section="raw")
    rep.put("warm.raw.ops", fmt_int(raw[0]["ops"]))
    spreads = []

    def rawcell(op, ring, depth, names="parent"):
        sel = one(raw, op=op, ring=ring, depth=depth, names=names)
        if len(sel) > 1:
            spreads.append(max(r["ns_per_op"] for r in sel) -
                           min(r["ns_per_op"] for r in sel))
        return mean_of(sel, "ns_per_op")

    lines = []
    cost = {}
    for op in ("encode", "open", "openat"):
        s = rawcell(op, 0, 1)
        row = [op, fmt_int(s)]
        for d in (1, 16):
            r = rawcell(op, 1, d)
            cost[(op, d)] = r - s
            row += [fmt_int(r), f"{r - s:+,.0f}"]
            rep.put(f"warm.raw.{op}.ring{d}", fmt_int(r))
            rep.put(f"warm.raw.{op}.ring{d}.cost", f"{r - s:+,.0f}")
        rep.put(f"warm.raw.{op}.sync", fmt_int(s))
        lines.append(row)
    for d in (1, 16):
        nop = rawcell("nop", 1, d)
        rep.put(f"warm.raw.nop{d}", fmt_int(nop))
        diff = cost[("open", d)] - cost[("openat", d)]
        rep.put(f"warm.raw.vs_openat{d}", f"{diff:+,.0f}")
    # a full name 8 directories deep from the cwd against the last
    # component from an fd on the directory: 8 components more
    for op in ("encode", "openat"):
        per = (rawcell(op, 0, 1, "full") - rawcell(op, 0, 1)) / 8
        rep.put(f"warm.raw.{op}.component", fmt_int(per))
    rep.put("warm.raw.spread.max", f"{max(spreads) if spreads else 0:.2f}")
    rep.put("table:warm.raw", table(
        ["operation", "syscalls", "ring qd1", "ring qd1 − syscalls",
         "ring qd16", "ring qd16 − syscalls"], lines))
    # the engine: cost of an operation = the difference of two lengths
    fio = pick(rows, section="fio")
    flines, fspreads = [], []
    for op in ("encode", "open", "openat"):
        row = [op]
        for be, d in (("sync", 1), ("uring", 1), ("uring", 16)):
            reps_ = sorted({r["rep"] for r in fio})
            margs, fixed = [], []
            for k in reps_:
                sel = pick(fio, op=op, backend=be, depth=d, rep=k)
                by_n = {r["n"]: r for r in sel}
                n1, n2 = sorted(by_n)
                t1 = by_n[n1]["runtime_ms"] * 1e6
                t2 = by_n[n2]["runtime_ms"] * 1e6
                m = (t2 - t1) / (n2 - n1)
                margs.append(m)
                fixed.append(t1 - m * n1)
            m = statistics.fmean(margs)
            if len(margs) > 1:
                fspreads.append(max(margs) - min(margs))
            res = 1e6 / (n2 - n1)
            name = f"warm.fio.{op}.{be}{d}"
            rep.put(name, fmt_int(m))
            raw_same = rawcell(op, 0 if be == "sync" else 1, d)
            rep.put(name + ".layer", f"{m - raw_same:+,.0f}")
            rep.put(name + ".fixed", fmt_int(statistics.fmean(fixed) / 1e3))
            row += [fmt_int(m), f"{m - raw_same:+,.0f}"]
        flines.append(row)
    rep.put("warm.fio.resolution", f"{res:.0f}")
    rep.put("warm.fio.spread.max", fmt_int(max(fspreads) if fspreads else 0))
    rep.put("table:warm.fio", table(
        ["operation", "engine sync", "its fio layer", "engine uring qd1",
         "its fio layer", "engine uring qd16", "its fio layer"], flines))
    # where the instructions go: open at depth 16, perf twice
    perf = pick(rows, section="perf")
    cells = {("rawloop", "sync"): rawcell("open", 0, 1),
             ("rawloop", "ring16"): rawcell("open", 1, 16)}
    for be, d, v in (("sync", 1, "sync"), ("uring", 16, "ring16")):
        cells[("fio", v)] = float(rep.values[f"warm.fio.open.{be}{d}"]
                                  .replace(",", ""))
    layer_rows, noise = [], []
    by_cell = {}
    for (tool, v), ns in cells.items():
        per_rep = []
        for k in sorted({r["rep"] for r in perf}):
            pre = "raw" if tool == "rawloop" else "fio"
            path = os.path.join(base, "perf", f"{pre}-{v}-r{k}.txt")
            if os.path.isfile(path):
                sh = perf_shares(path)
                busy = 1 - sh.get("idle", 0)
                per_rep.append({l: ns * sh.get(l, 0) / busy for l in LAYERS
                                if l != "idle"})
        if not per_rep:
            continue
        lay = {l: statistics.fmean(p.get(l, 0) for p in per_rep)
               for l in LAYERS if l not in ("idle", SMALL)}
        # perf's report leaves out symbols under --percent-limit: what the
        # named layers do not account for of the measured total
        lay[SMALL] = max(0.0, ns - sum(lay.values()))
        by_cell[(tool, v)] = lay
        if len(per_rep) > 1:
            noise += [abs(per_rep[0].get(l, 0) - per_rep[1].get(l, 0))
                      for l in LAYERS if l != "idle"]
    if by_cell:
        heads = [f"{t} {v}" for (t, v) in by_cell]
        for l in LAYERS:
            if l == "idle":
                continue
            vals = [by_cell[c].get(l, 0) for c in by_cell]
            if max(vals) < 1:
                continue
            layer_rows.append([l] + [fmt_int(x) for x in vals])
        layer_rows.append(["total"] + [fmt_int(cells[c]) for c in by_cell])
        rep.put("table:warm.layers", table(["layer (instructions per open "
                                            "+ close)"] + heads, layer_rows))
        rep.put("warm.layers.noise.max", fmt_int(max(noise) if noise else 0))
        for (t, v), lay in by_cell.items():
            for l, x in lay.items():
                key = re.sub(r"[^a-z0-9]+", "_", l.lower())
                rep.put(f"warm.layers.{t}.{v}.{key}", fmt_int(x))
        warm_plot(rep, by_cell)


def warm_plot(rep, by_cell):
    lays = [l for l in LAYERS if l != "idle" and
            max(by_cell[c].get(l, 0) for c in by_cell) >= 1]
    colors = ["#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677",
              "#aa3377", "#bbbbbb", "#000000", "#ee7733", "#009988",
              "#cc3311"]
    dat = "cell " + " ".join(f'"{l}"' for l in lays) + "\n"
    for (t, v), lay in by_cell.items():
        dat += f'"{t} {v}" ' + " ".join(f"{lay.get(l, 0):.1f}"
                                          for l in lays) + "\n"
    cols = ", ".join(
        f"'' using {i + 2}{':xtic(1)' if i == 0 else ''} title "
        f"columnhead({i + 2}) lc rgb '{colors[i % len(colors)]}'"
        for i, _ in enumerate(lays))
    rep.plot("warm-layers", "where the instructions of a warm open by "
             "handle + close go, by layer",
             "set title 'instructions per open by handle + close (warm "
             "tmpfs), by layer'\nset style data histograms\n"
             "set style histogram rowstacked\nset style fill solid 0.9 "
             "border -1\nset boxwidth 0.6\nset key outside right\n"
             "set ylabel 'instructions per operation'\n"
             f"plot DATA {cols.replace(chr(39) + chr(39) + ' using', 'using', 1)}\n",
             dat)


# --------------------------------------------------------------- nfs


def sec_nfs(rep):
    """the section test/nfs/summary.py makes of results/nfs: the end of
    the document (summary.py --check finds it there too)"""
    import importlib.util
    path = os.path.join(TOP, "test", "nfs", "summary.py")
    spec = importlib.util.spec_from_file_location("nfs_summary", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep.put("nfs.section", mod.section(os.path.join(rep.results, "nfs"))
            .rstrip("\n"))


# --------------------------------------------------------------- main

SECTIONS = [sec_host, sec_breakeven, sec_warm, sec_smp2, sec_nfs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(TOP, "test", "bench",
                                                      "results"))
    ap.add_argument("--template", default=os.path.join(
        TOP, "test", "bench", "BENCHMARKS.md.in"))
    ap.add_argument("--doc", default=os.path.join(TOP, "BENCHMARKS.md"))
    ap.add_argument("--plots", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--positions", action="store_true")
    a = ap.parse_args()
    rep = Report(a.results)
    for sec in SECTIONS:
        sec(rep)
    with open(a.template) as f:
        text, pos = rep.render(f.read())
    if a.positions:
        for line, col, name in pos:
            print(f"{line}\t{col}\t{name}")
        return 0
    if a.check:
        with open(a.doc) as f:
            have = f.read()
        if have == text:
            print(f"report: {a.doc} matches the committed results "
                  f"({len(pos)} values)")
            return 0
        want_lines, have_lines = text.split("\n"), have.split("\n")
        for i, (w, h) in enumerate(zip(want_lines, have_lines), 1):
            if w != h:
                names = [n for (ln, _, n) in pos if ln == i]
                print(f"report: {a.doc} line {i} does not match the "
                      f"committed results{' (' + ', '.join(names) + ')' if names else ''}:\n"
                      f"  document: {h}\n  results:  {w}")
                return 1
        print(f"report: {a.doc} has {len(have_lines)} lines, the results "
              f"give {len(want_lines)}")
        return 1
    if a.plots:
        rep.draw()
    with open(a.doc, "w") as f:
        f.write(text)
    print(f"report: wrote {a.doc} ({len(pos)} values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
