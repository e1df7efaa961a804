#!/usr/bin/python3
"""BENCHMARKS.md's section on nfs-ganesha, generated from the committed
results in test/bench/results/nfs (test/nfs/bench.sh writes them).

  summary.py RESULTS [--doc BENCHMARKS.md]   rewrite the section
  summary.py RESULTS --check BENCHMARKS.md   exit 1 if the section is not
                                             what RESULTS give

The section runs from its heading to the end of the file; if the file has
no such heading the section is appended.  Every number in it comes from
RESULTS.
"""
import argparse
import csv
import os
import statistics
import sys

HEADING = "## nfs-ganesha's own handle calls, replayed"
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHASES = ("readdirplus", "lookup", "getattr", "read")
STATES = (("cold", "cold: ganesha restarted, the kernel's caches dropped"),
          ("first", "first pass: ganesha restarted, the kernel's caches warm"),
          ("warm", "warm: the same pass again"))


def read_tsv(path, header=None):
    with open(path) as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if header is None:
        header, rows = rows[0], rows[1:]
    return [dict(zip(header, r)) for r in rows if r]


REPLAY_COLS = ["tag", "job", "backend", "jobs", "ms", "opens", "encodes",
               "open_ns", "encode_ns", "busy_us"]


def fmt(x, nd=2):
    return ("%%.%df" % nd) % x


def report_rows(res):
    rows = read_tsv(os.path.join(res, "capture", "report.tsv"))
    out = {}
    for r in rows:
        state = "cold" if r["state"].startswith("cold-") else r["state"]
        out[(state, r["phase"])] = r
    return out


def calls_table(rep):
    lines = [
        "| server | NFS op | ops | encodes / op | opens by handle / op | of which "
        "O_PATH, directory, with a read | other file syscalls / op | handle calls' "
        "share of request time | ops/s untraced | ops/s under strace |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for state, _ in STATES:
        for ph in PHASES:
            r = rep.get((state, ph))
            if not r:
                continue
            ops = int(r["ops"])
            tr = float(r["t_request"])
            lines.append("| %s | %s | %d | %s | %s | %s, %s, %s | %s | %s%% | %d | %d |" % (
                state, ph.upper(), ops, fmt(int(r["encodes"]) / ops),
                fmt(int(r["opens"]) / ops), r["opens_path"], r["opens_dir"],
                r["opens_read"], fmt(int(r["file"]) / ops),
                fmt(100 * float(r["t_handle"]) / tr if tr else 0, 1),
                round(float(r["rate_untraced"])), round(float(r["rate"]))))
    return lines


def replay_table(rows, tags, caption, disk=None):
    """sync against uring per job file and tag: the jobs' span (ms)."""
    disk = disk or {}
    by = {}
    for r in rows:
        by[(r["tag"], r["job"], r["backend"])] = r
    jobs = []
    for r in rows:
        if r["job"] not in jobs:
            jobs.append(r["job"])
    lines = ["| %s | job file | fio jobs | opens | encodes | sync: ms | uring: ms "
             "| uring / sync | disk reads, sync / uring |" % caption,
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    ratios = {}
    for tag in tags:
        for job in jobs:
            s, u = by.get((tag, job, "sync")), by.get((tag, job, "uring"))
            if not s or not u:
                continue
            ratio = int(u["ms"]) / int(s["ms"]) if int(s["ms"]) else float("nan")
            ratios[(tag, job)] = ratio
            reads = "%s / %s" % (disk[(tag, job, "sync")], disk[(tag, job, "uring")]) \
                if (tag, job, "sync") in disk and (tag, job, "uring") in disk else "-"
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                tag, job, s["jobs"], s["opens"], s["encodes"], s["ms"], u["ms"],
                fmt(ratio), reads))
    return lines, ratios


def disk_latency(res):
    """the modelled disk's read latency as measured (vm/disk.tsv)"""
    with open(os.path.join(res, "vm", "disk.tsv")) as f:
        p50 = float(f.read().split()[0])
    return "%s µs" % fmt(p50 / 1000, 0)


def job_depths(jobdir):
    """Job file name -> the largest iodepth of its jobs."""
    out = {}
    for name in os.listdir(jobdir):
        if name.endswith(".fio"):
            with open(os.path.join(jobdir, name)) as f:
                d = [int(l.split("=")[1]) for l in f if l.startswith("iodepth=")]
            out[name[:-4]] = max(d) if d else 1
    return out


def host_table(rows):
    by = {}
    for r in rows:
        by.setdefault(r["job"], []).append(r)
    lines = ["| job file | fio jobs | opens | encodes | repeats | ms, median "
             "(min-max) | open clat mean, us | encode clat mean, us |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for job, rs in by.items():
        ms = [int(r["ms"]) for r in rs]
        lines.append("| %s | %s | %s | %s | %d | %d (%d-%d) | %s | %s |" % (
            job, rs[0]["jobs"], rs[0]["opens"], rs[0]["encodes"], len(rs),
            statistics.median(ms), min(ms), max(ms),
            fmt(statistics.median(int(r["open_ns"]) for r in rs) / 1000, 1),
            fmt(statistics.median(int(r["encode_ns"]) for r in rs) / 1000, 1)))
    return lines


def section(res):
    rep = report_rows(res)
    cap = read_tsv(os.path.join(res, "capture", "capture.tsv"),
                   ["label", "traced", "trace", "phase", "start", "end", "ops",
                    "errors", "mean", "p50", "p99", "rate"])
    files = read_tsv(os.path.join(res, "capture", "fileset"), ["line"])
    shape = dict(l["line"].split() for l in files)
    client = dict(l["line"].split() for l in read_tsv(
        os.path.join(res, "capture", "client"), ["line"]))
    load = read_tsv(os.path.join(res, "host", "load.tsv"),
                    ["time", "what", "busy", "load"])
    # the replays' own load (the capture's is reported with the capture)
    busiest = max(float(l["busy"]) for l in load
                  if l["what"].startswith("replay"))
    host_rows = read_tsv(os.path.join(res, "host", "replay.tsv"), REPLAY_COLS)
    vm_path = os.path.join(res, "vm", "replay.tsv")
    vm_rows = read_tsv(vm_path, REPLAY_COLS) if os.path.exists(vm_path) else []
    disk_path = os.path.join(res, "vm", "disk-reads.tsv")
    disk = {}
    if os.path.exists(disk_path):
        for r in read_tsv(disk_path, ["tag", "job", "backend", "reads"]):
            disk[(r["tag"], r["job"], r["backend"])] = r["reads"]

    cold = {ph: rep[("cold", ph)] for ph in PHASES}
    # the tree's entries below its root: files, leaf and top directories
    leaves = -(-int(shape["files"]) // int(shape["per_dir"]))
    entries = int(shape["files"]) + leaves + -(-leaves // 10)
    cap_busy = max(float(l["busy"]) for l in load if l["what"] == "the capture")

    def per(ph, k, state="cold"):
        r = rep[(state, ph)]
        return int(r[k]) / int(r["ops"])

    # strace's cost: the untraced rate over the traced one, per phase
    slow = [float(r["rate_untraced"]) / float(r["rate"]) for r in rep.values()
            if float(r["rate"]) > 0]
    out = [HEADING, "",
           "<!-- generated by test/nfs/summary.py from test/bench/results/nfs; "
           "make test checks it -->", "",
           "What a real userspace NFS server asks of these two syscalls, and what "
           "the ring does to exactly those calls. nfs-ganesha 4.3 (FSAL_VFS, Debian "
           "12's package) served a tree of %s files of %s bytes (%s a directory) "
           "over NFSv3 on loopback to `build/nfs/nfsload` (libnfs 4.0, %d "
           "operations in flight), one phase per NFS operation type; strace "
           "recorded every syscall of the server, `test/nfs/convert.py` cut the "
           "log by phase, and turned each phase's `name_to_handle_at` and "
           "`open_by_handle_at` into a fio job with `read_iolog`: one fio job per "
           "server thread (and kind of open), the number of calls most of its "
           "requests made as its `iodepth`, submitted and completed as one batch "
           "(`jobfiles/ganesha/`)."
           % (format(int(shape["files"]), ","), shape["size"], shape["per_dir"],
              int(client["inflight"])),
           "",
           "Reproduce: `make compare PART=nfs` (capture, conversion, host replay "
           "and the VM replay; `test/nfs/bench.sh --part host|vm` for one half). "
           "Raw data: `test/bench/results/nfs/` (`capture/report.tsv`, the "
           "client's output, `host/replay.tsv` and `vm/replay.tsv` with fio's "
           "JSON trimmed to what the tables use).", "",
           "### Handle calls per NFS operation", ""]
    out += calls_table(rep)
    out += ["",
            "Per operation, cold: a READDIRPLUS opens its directory by handle "
            "once and encodes each entry it returns after an `fstatat` of the "
            "same name (%s encodes for the tree's %s entries below its root, "
            "%s per READDIRPLUS, with %s other file syscalls); a LOOKUP opens "
            "its parent directory by handle (`O_PATH`) and encodes the name "
            "relative to it (%s opens and %s encodes per LOOKUP); a GETATTR "
            "opens the file by handle (`O_PATH`), `fstat`s and closes it (%s "
            "opens per GETATTR); a READ opens the file by handle twice, "
            "`O_PATH` to make its object and `O_RDONLY` to read (%s opens per "
            "READ), and keeps the read fd open. A warm ganesha makes no handle "
            "call at all: its metadata cache answers READDIRPLUS, LOOKUP and "
            "GETATTR, and READ reads on the fd it kept (%s reads per READ, no "
            "open). The first pass on a restarted ganesha with the kernel's "
            "caches warm makes the READDIRPLUS encodes and one open per READ "
            "again, and none for LOOKUP and GETATTR, which the READDIRPLUS "
            "before them cached: the handle calls are the server's own cache "
            "misses, whether or not the kernel's caches are warm."
            % (format(int(cold["readdirplus"]["encodes"]), ","),
               format(entries, ","), fmt(per("readdirplus", "encodes")),
               fmt(per("readdirplus", "file")), fmt(per("lookup", "opens")),
               fmt(per("lookup", "encodes")), fmt(per("getattr", "opens")),
               fmt(per("read", "opens")), fmt(per("read", "cached_reads", "warm"))),
            "",
            "The counts do not depend on the machine's load. The share column "
            "is the time the handle calls took inside ganesha's requests (from "
            "the receive that starts one to the thread's next), as strace timed "
            "them, and strace's cost is large: the client's operations per second "
            "were %s to %s times higher without it (the last two columns). The "
            "shares and rates are host figures%s."
            % (fmt(min(slow), 1), fmt(max(slow), 1),
               ", **provisional**: the capture ran while other work shared the "
               "machine (CPUs %s%% busy before it, `host/load.tsv`)" % fmt(cap_busy, 0)
               if cap_busy > 10 else ", taken on a quiet machine"), ""]
    out += ["### The replay", ""]
    warm_tags = sorted(set(r["tag"] for r in vm_rows if r["tag"].startswith("warm-")))
    cold_tags = sorted(set(r["tag"] for r in vm_rows if r["tag"].startswith("cold-")))
    if vm_rows:
        lines, ratios = replay_table(vm_rows, warm_tags + cold_tags, "VM, exact mode", disk)
        out += ["In the kernel VM in exact mode (`test/vm/run.sh --icount`: one "
                "guest ns per instruction, one vCPU, so the figures are "
                "deterministic and final): each job file with the sync backend and "
                "with the ring, its jobs all at once as ganesha's threads ran. "
                "`ms` is fio's longest `job_runtime`, the span of the whole "
                "phase's handle calls. Warm: the file set just written on tmpfs, "
                "ext4 and xfs. Cold: ext4 on a memory-backed null_blk device "
                "whose reads complete after a 1 ms timer (%s per read "
                "measured: fio, psync, O_DIRECT, depth 1, p50), every cache dropped "
                "before the jobs' first operation (`replay.sh --cold`: a drop-only "
                "job saves the handles, the jobs load them, and each drops every "
                "cache after fio has read its iolog, which stats each file); the "
                "last column counts the disk's reads during each replay, "
                "fio's setup included." % disk_latency(res), ""]
        out += lines
        depth = job_depths(os.path.join(TOP, "jobfiles", "ganesha"))

        def span(cold, batched):
            v = [r for (t, j), r in ratios.items() if t.startswith("cold-") == cold
                 and (depth.get(j, 1) > 1) == batched]
            return "%s to %s" % (fmt(min(v)), fmt(max(v))) if v else "-"

        batched = sorted(j for j in depth if depth[j] > 1)
        single = sorted(j for j in depth if depth[j] == 1)
        out += ["",
                "What the ring changes for these calls, on the modelled disk: "
                "%s times the sync backend's time where ganesha's calls come in "
                "batches (%s: a READDIRPLUS's encodes, a LOOKUP's open and encode; "
                "`iodepth` above 1), %s times where they come one per request "
                "(%s: GETATTR's and READ's opens, `iodepth` 1). Warm, where "
                "nothing waits on the disk, the ring took %s times the sync "
                "backend's time for the batched jobs and %s for the single ones: "
                "there the ring's own cost per call shows. The disk reads "
                "column says whether both did the same reads."
                % (span(True, True), ", ".join(batched), span(True, False),
                   ", ".join(single), span(False, True), span(False, False)), ""]
    else:
        out += ["No VM results yet (`test/nfs/bench.sh --part vm`).", ""]
    out += ["On the host (its kernel lacks the opcodes: sync backend only), "
            "%d repeats of each job file on /tmp. **Provisional**: taken while "
            "other work shared the machine (CPUs up to %s%% busy before a repeat, "
            "`host/load.tsv`); the lead reruns them on a quiet machine." %
            (max(len([r for r in host_rows if r["job"] == j])
                 for j in set(r["job"] for r in host_rows)), fmt(busiest, 0))
            if busiest > 10 else
            "On the host (its kernel lacks the opcodes: sync backend only), "
            "%d repeats of each job file on /tmp, on a quiet machine (CPUs at "
            "most %s%% busy before a repeat, `host/load.tsv`)." %
            (max(len([r for r in host_rows if r["job"] == j])
                 for j in set(r["job"] for r in host_rows)), fmt(busiest, 0)), ""]
    out += host_table(host_rows)
    out += ["", "Capture and replay your own server: README.md, \"Capture and "
            "replay your own server\"."]
    return "\n".join(out) + "\n"


def splice(doc, sec):
    with open(doc) as f:
        text = f.read()
    i = text.find("\n" + HEADING + "\n")
    head = text if i < 0 else text[:i + 1]
    if not head.endswith("\n\n"):
        head = head.rstrip("\n") + "\n\n"
    return head + sec, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--doc")
    ap.add_argument("--check")
    a = ap.parse_args()
    try:
        sec = section(a.results)
    except (OSError, KeyError, ValueError) as e:
        print("summary.py: %s: %s" % (a.results, e), file=sys.stderr)
        sys.exit(1)
    if a.check:
        new, old = splice(a.check, sec)
        if new != old:
            print("summary.py: %s's section '%s' is not what %s gives: run "
                  "python3 test/nfs/summary.py %s --doc %s"
                  % (a.check, HEADING, a.results, a.results, a.check), file=sys.stderr)
            sys.exit(1)
        return
    if a.doc:
        new, _ = splice(a.doc, sec)
        with open(a.doc, "w") as f:
            f.write(new)
    else:
        sys.stdout.write(sec)


if __name__ == "__main__":
    main()
