#!/usr/bin/python3
"""The file set, and a ganesha capture turned into a report and fio jobs.

  convert.py fileset DIR [--files N] [--per-dir N] [--size BYTES]
      Make (or check) the file set: DIR/tNNN/dNNN/fNNNNNN, PER_DIR files a
      leaf directory, ten leaf directories a top one, every file SIZE bytes.
      Prints its shape (the `fileset` file of a capture and of a replay).
  convert.py fileset DIR --from SHAPEFILE
      The same, with the shape a capture recorded.
  convert.py handles DIR --from SHAPEFILE
      The kernel's handle of each file and directory of the set in DIR, one
      line each (type, hex bytes, path): a capture keeps them, so that it
      converts without its file set.
  convert.py convert CAPTURE OUT
      CAPTURE is test/nfs/capture.sh's output.  Writes to OUT: report.md
      and report.tsv (per NFS operation type and server state: handle calls
      per operation, other syscalls, their share of the server's time),
      one fio job file per phase that made handle calls (PHASE.fio) with
      its iologs (iolog/), jobs.tsv (the operations each job replays) and
      the file set's shape.  Encodes are writes (fh_write_op=encode), opens
      by handle are reads (fh_read_op=open, or open_read when the same
      thread read the file before replying); one fio job per server thread
      and kind of open; the most calls one request made is the job's
      iodepth.  Opens are matched to files through CAPTURE/handles.tsv.

Bad input (an empty or truncated capture, a line strace did not write, a
call on a file outside the set) is an error naming the file and line, and
exit status 1.
"""
import argparse
import ctypes
import errno
import os
import re
import sys
from collections import defaultdict, OrderedDict

PHASES = ("readdirplus", "lookup", "getattr", "read")


class Bad(Exception):
    pass


# ---- the file set ----------------------------------------------------------

def shape_paths(files, per_dir):
    """Relative directory and file paths of the set, in creation order."""
    dirs, paths = [], []
    for i in range(files):
        leaf = i // per_dir
        top = "t%03d" % (leaf // 10)
        d = "%s/d%03d" % (top, leaf)
        if not dirs or dirs[-1] != d:
            if top not in dirs:
                dirs.append(top)
            dirs.append(d)
        paths.append("%s/f%06d" % (d, i))
    return dirs, paths


def file_bytes(i, size):
    line = b"fio-fhandle nfs file %06d\n" % i
    return (line * (size // len(line) + 1))[:size]


def read_shape(path):
    shape = {}
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    raise Bad("%s:%d: not 'NAME NUMBER'" % (path, n))
                shape[parts[0]] = int(parts[1])
    except OSError as e:
        raise Bad("%s: %s" % (path, e.strerror))
    for k in ("files", "per_dir", "size"):
        if k not in shape:
            raise Bad("%s: no '%s' line" % (path, k))
    return shape


def make_fileset(root, files, per_dir, size):
    if files < 1 or per_dir < 1 or size < 0:
        raise Bad("fileset: --files and --per-dir must be positive")
    dirs, paths = shape_paths(files, per_dir)
    os.makedirs(root, exist_ok=True)
    existing = os.listdir(root)
    if existing:
        # an existing set must be exactly this one: never change a file
        want = set(p.split("/")[0] for p in dirs)
        if set(existing) != want:
            raise Bad("fileset: %s is neither empty nor this file set" % root)
        for i, p in enumerate(paths):
            full = os.path.join(root, p)
            if not os.path.isfile(full) or os.path.getsize(full) != size:
                raise Bad("fileset: %s: missing or not %d bytes" % (full, size))
        return
    for d in dirs:
        os.mkdir(os.path.join(root, d))
    for i, p in enumerate(paths):
        with open(os.path.join(root, p), "wb") as f:
            f.write(file_bytes(i, size))


# ---- handles -----------------------------------------------------------------

class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]


def encode_set(root, rels):
    """(type, bytes) of each path's handle -> relative path."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.name_to_handle_at
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(FileHandle),
                   ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    out = {}
    for rel in rels:
        fh = FileHandle()
        fh.handle_bytes = 128
        mnt = ctypes.c_int()
        path = os.path.join(root, rel).encode()
        if fn(-100, path, ctypes.byref(fh), ctypes.byref(mnt), 0):
            e = ctypes.get_errno()
            raise Bad("name_to_handle_at %s: %s" % (path.decode(), os.strerror(e)))
        out[(fh.handle_type, bytes(fh.f_handle[:fh.handle_bytes]))] = rel
    return out


# ---- strace's log --------------------------------------------------------------

LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
CALL = re.compile(r"^([a-z_0-9]+)\((.*)$")
RET = re.compile(r"\) += (-?\d+|\?|0x[0-9a-f]+)(?:<[^>]*>)?"
                 r"(?: ([A-Z][A-Z0-9_]*) \([^)]*\))?(?: \(.*\))?"
                 r"(?: <(\d+\.\d+|unavailable)>)?$")
FDARG = re.compile(r"^(-?\d+|AT_FDCWD)<([^>]*)>, ")
STRARG = re.compile(r'^"((?:[^"\\]|\\.)*)"(\.\.\.)?')
HANDLE = re.compile(r"\{handle_bytes=(\d+), handle_type=(-?\d+), "
                    r'f_handle="((?:[^"\\]|\\.)*)"\}')

WAIT = {"futex", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
        "select", "pselect6", "nanosleep", "clock_nanosleep", "rt_sigtimedwait",
        "restart_syscall", "wait4"}
NET = {"recvfrom", "recvmsg", "recvmmsg", "sendmsg", "sendto", "sendmmsg",
       "accept", "accept4", "epoll_ctl", "shutdown"}
READS = {"read", "pread64", "preadv", "preadv2", "readv"}
FILE = {"openat", "open", "openat2", "close", "newfstatat", "fstat", "statx",
        "lstat", "stat", "fstatfs", "statfs", "getdents64", "lseek",
        "readlinkat", "fgetxattr", "getxattr", "lgetxattr", "flistxattr",
        "faccessat", "faccessat2", "fcntl", "fadvise64", "fsync",
        "fdatasync"} | READS


def unescape(s, what, where):
    """strace's quoted string -> bytes (\\xHH, \\n-style and octal)."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92, '"': 34}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = s[i + 1:i + 2]
        if n == "x" and re.match(r"[0-9a-fA-F]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif n in simple:
            out.append(simple[n])
            i += 2
        elif re.match(r"[0-7]", n):
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8))
            i += 1 + len(m.group(0))
        else:
            raise Bad("%s: cannot read the %s %r" % (where, what, s))
    return bytes(out)


class Call:
    __slots__ = ("tid", "ts", "name", "args", "ret", "err", "dur", "where")


def parse_trace(path):
    """Yield the calls of strace's log in order of their start; check it is
    whole: every line strace's, no call left unfinished, the server's exit
    at the end."""
    pending = {}
    calls = []
    exited = False
    last_ts = 0.0
    try:
        f = open(path, "rb")
    except OSError as e:
        raise Bad("%s: %s" % (path, e.strerror))
    with f:
        data = f.read()
    if not data.strip():
        raise Bad("%s: the capture is empty" % path)
    if not data.endswith(b"\n"):
        raise Bad("%s: truncated: the last line is cut off" % path)
    for n, raw in enumerate(data.decode("utf-8", "replace").split("\n")[:-1], 1):
        where = "%s:%d" % (path, n)
        m = LINE.match(raw)
        if not m:
            raise Bad("%s: not a line of strace -f -ttt -T: %r" % (where, raw[:80]))
        tid, ts, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        last_ts = max(last_ts, ts)
        if rest.startswith("+++ ") or rest.startswith("--- "):
            if rest.startswith("+++ exited with") or rest.startswith("+++ killed by"):
                exited = True
            continue
        if rest.startswith("<... "):
            m2 = re.match(r"^<\.\.\. ([a-z_0-9]+) resumed>(.*)$", rest)
            if not m2 or tid not in pending or pending[tid][1] != m2.group(1):
                raise Bad("%s: a resumed call that did not start: %r" % (where, raw[:80]))
            start, name, head, w0 = pending.pop(tid)
            rest = name + "(" + head + m2.group(2)
            ts, where = start, w0
        elif rest.endswith("<unfinished ...>"):
            m2 = CALL.match(rest)
            if not m2:
                raise Bad("%s: not a call: %r" % (where, raw[:80]))
            # "name(args <unfinished ...>": the args keep their own spaces
            pending[tid] = (ts, m2.group(1), m2.group(2)[:-len(" <unfinished ...>")], where)
            continue
        m2 = CALL.match(rest)
        if not m2:
            raise Bad("%s: not a call: %r" % (where, raw[:80]))
        c = Call()
        c.tid, c.ts, c.name, c.where = tid, ts, m2.group(1), where
        r = RET.search(rest)
        if not r:
            raise Bad("%s: a call without its result: %r" % (where, raw[:80]))
        c.args = rest[len(c.name) + 1:r.start()]
        v = r.group(1)
        c.ret = None if v == "?" else int(v, 16 if v.startswith("0x") else
                                          8 if v.startswith("0") and len(v) > 1 else 10)
        c.err = r.group(2)
        c.dur = float(r.group(3)) if r.group(3) and r.group(3) != "unavailable" else 0.0
        calls.append(c)
    if not exited:
        raise Bad("%s: truncated: the server's exit is not in it" % path)
    for tid, (ts, name, head, w) in pending.items():
        # the server's exit leaves its threads' blocking calls unfinished;
        # a handle call does not block for good, and would go unreplayed
        if name in ("name_to_handle_at", "open_by_handle_at"):
            raise Bad("%s: truncated: %s never returned" % (w, name))
    calls.sort(key=lambda c: c.ts)
    return calls, last_ts


def fd_of(args):
    m = FDARG.match(args)
    return (m.group(1), m.group(2)) if m else (None, None)


def is_socket(args):
    return bool(re.match(r"^\d+<(socket|TCP|UDP|UNIX)", args))


def open_flags(flagstr):
    """The engine's fh_open_flags for an open_by_handle_at's flags."""
    f = set(flagstr.split("|"))
    out = []
    if "O_PATH" in f:
        out.append("path")
    elif "O_RDWR" in f:
        out.append("rdwr")
    elif "O_WRONLY" in f:
        out.append("wronly")
    else:
        out.append("rdonly")
    # O_NOFOLLOW, O_DIRECTORY, O_CLOEXEC and the like change nothing for
    # the set's regular files and directories: one job per access mode
    return ",".join(out), "O_DIRECTORY" in f


# ---- one phase's calls ------------------------------------------------------------

class Op:
    """One replayable call: an encode or an open by handle."""
    __slots__ = ("tid", "ts", "kind", "path", "flags", "readlen", "req", "fd",
                 "isdir")


def classify(c):
    if c.name in ("name_to_handle_at", "open_by_handle_at"):
        return "handle"
    if c.name in WAIT:
        return "wait"
    if c.name in NET or ((c.name in READS or c.name in ("write", "writev"))
                         and is_socket(c.args)):
        return "net"
    if c.name in FILE:
        return "file"
    return "other"


def analyse(calls, t0, t1, root, hmap, isdir):
    """Calls that started within [t0, t1]: statistics and replayable ops."""
    st = defaultdict(float)
    ops, open_by_fd = [], {}
    # A request, in a thread: from the receive that starts it (ntirpc
    # reads the record mark, then the body) to the thread's next receive
    # after other calls.  Replies may leave from another thread (ntirpc's
    # output queue), so a send does not end one.
    req_of = {}         # tid -> index of its current request
    was_recv = {}       # tid -> its last call was a receive
    reqs = []           # [start, end, handle_time, file_time, net_time]
    rootp = root.rstrip("/") + "/"
    for c in calls:
        if c.ts < t0:
            continue
        if c.ts > t1:
            break
        cat = classify(c)
        st["n_" + cat] += 1
        st["t_" + cat] += c.dur
        recv = cat == "net" and c.name in ("recvfrom", "recvmsg", "read")
        if recv and not was_recv.get(c.tid):
            reqs.append([c.ts, c.ts, 0.0, 0.0, 0.0])
            req_of[c.tid] = len(reqs) - 1
        if cat != "wait":
            was_recv[c.tid] = recv
        r = req_of.get(c.tid)
        if r is not None and cat in ("handle", "file", "net"):
            reqs[r][{"handle": 2, "file": 3, "net": 4}[cat]] += c.dur
            reqs[r][1] = c.ts + c.dur
        if c.name in READS and cat == "file":
            fd, _ = fd_of(c.args)
            o = open_by_fd.get((c.tid, fd))
            if o is not None and o.readlen is None and c.ret is not None and c.ret >= 0:
                o.readlen = c.ret
            elif o is None:
                st["n_cached_reads"] += 1
            continue
        if c.name == "close":
            fd, _ = fd_of(c.args)
            open_by_fd.pop((c.tid, fd), None)
            continue
        if cat != "handle":
            continue
        if c.ret is None or c.ret < 0:
            st["n_failed_" + c.name] += 1
            continue
        o = Op()
        o.tid, o.ts, o.req, o.readlen, o.fd = c.tid, c.ts, r, None, None
        if c.name == "name_to_handle_at":
            fd, dpath = fd_of(c.args)
            rest = c.args[FDARG.match(c.args).end():] if fd else ""
            m = STRARG.match(rest)
            if fd is None or not m or m.group(2):
                raise Bad("%s: cannot read the directory and name of %s"
                          % (c.where, c.name))
            name = unescape(m.group(1), "name", c.where).decode("utf-8", "replace")
            full = name if name.startswith("/") else (
                dpath if name == "" else dpath.rstrip("/") + "/" + name)
            full = os.path.normpath(full)
            if full == root.rstrip("/"):
                rel = "."
            elif full.startswith(rootp):
                rel = full[len(rootp):]
            else:
                raise Bad("%s: name_to_handle_at of %s: outside the file set %s"
                          % (c.where, full, root))
            if rel not in isdir:
                raise Bad("%s: name_to_handle_at of %s: not a file of the set %s"
                          % (c.where, full, root))
            o.kind, o.path, o.flags, o.isdir = "encode", rel, None, isdir[rel]
        else:
            m = HANDLE.search(c.args)
            if not m:
                raise Bad("%s: cannot read the handle of open_by_handle_at" % c.where)
            key = (int(m.group(2)), unescape(m.group(3), "handle", c.where))
            if len(key[1]) != int(m.group(1)):
                raise Bad("%s: a handle of %s bytes printed as %d"
                          % (c.where, m.group(1), len(key[1])))
            if key not in hmap:
                raise Bad("%s: open_by_handle_at of a handle (type %d, %s) that "
                          "is no file of the set %s"
                          % (c.where, key[0], key[1].hex(), root))
            flags = c.args[m.end():].lstrip(", ").strip()
            o.kind, o.path = "open", hmap[key]
            o.flags, _ = open_flags(flags)
            o.isdir = isdir[o.path]
            open_by_fd[(c.tid, str(c.ret))] = o
        ops.append(o)
    done = reqs
    st["requests"] = len(done)
    for i, k in ((0, "t_request"), (2, "t_req_handle"), (3, "t_req_file"),
                 (4, "t_req_net")):
        st[k] = sum((q[1] - q[0]) if i == 0 else q[i] for q in done)
    return st, ops


# ---- jobs ------------------------------------------------------------------------

def job_kind(o):
    """(fh_read_op, fh_open_flags) of the job an open goes to."""
    if o.readlen is not None and not o.isdir:
        return ("open_read", o.flags)
    return ("open", o.flags)


def write_jobs(out, label, ops, bs):
    """One fio job file for one phase; returns its jobs.tsv rows."""
    by_tid = OrderedDict()
    for o in ops:
        by_tid.setdefault(o.tid, []).append(o)
    jobs = []
    for n, (tid, tops) in enumerate(by_tid.items()):
        kinds = OrderedDict()
        for o in tops:
            if o.kind == "open":
                kinds.setdefault(job_kind(o), []).append(o)
        main = max(kinds, key=lambda k: len(kinds[k])) if kinds else ("open", "rdonly")
        kinds.setdefault(main, [])
        kinds[main] = sorted(kinds[main] + [o for o in tops if o.kind == "encode"],
                             key=lambda o: o.ts)
        for k, kops in kinds.items():
            if kops:
                jobs.append((n, tid, k, kops))
    rows, sections = [], []
    os.makedirs(os.path.join(out, "iolog"), exist_ok=True)
    for n, tid, (rop, flags), kops in jobs:
        jname = "t%d-%s-%s" % (n, rop, flags.replace(",", "+"))
        log = "iolog/%s.%s.iolog" % (label, jname)
        # the queue depth: the batch most of this job's requests made (a
        # READDIRPLUS's encodes; ties go to the larger), at most 64
        per_req = defaultdict(int)
        for o in kops:
            per_req[o.req] += 1
        sizes = defaultdict(int)
        for n_calls in per_req.values():
            sizes[min(64, n_calls)] += 1
        depth = max(sizes, key=lambda k: (sizes[k], k))
        most = max(per_req.values())
        t0 = kops[0].ts
        files = list(OrderedDict((o.path, 1) for o in kops))
        lines = ["fio version 3 iolog"]
        lines += ["0 %s add" % p for p in files]
        lines += ["0 %s open" % p for p in files]
        reads = writes = 0
        for o in kops:
            ms = int((o.ts - t0) * 1000)
            if o.kind == "encode":
                lines.append("%d %s write 0 %d" % (ms, o.path, bs))
                writes += 1
            else:
                ln = bs if rop == "open" else max(1, o.readlen)
                lines.append("%d %s read 0 %d" % (ms, o.path, ln))
                reads += 1
        end = int((kops[-1].ts - t0) * 1000)
        lines += ["%d %s close" % (end, p) for p in files]
        with open(os.path.join(out, log), "w") as f:
            f.write("\n".join(lines) + "\n")
        sections.append("[%s]\n# ganesha thread %d: %d encodes, %d opens%s in %d "
                        "requests: %d in most, %d at most\n"
                        "read_iolog=${FHANDLE_NFS_JOBS}/%s\n"
                        "fh_read_op=%s\nfh_open_flags=%s\niodepth=%d\n"
                        "iodepth_batch_submit=%d\niodepth_batch_complete_min=%d\n"
                        % (jname, tid, writes, reads,
                           " with a read" if rop == "open_read" else "",
                           len(per_req), depth, most, log, rop, flags, depth,
                           depth, depth))
        rows.append((label + ".fio", jname, reads, writes))
    head = ("# %s: ganesha's handle calls in the %s phase, converted by "
            "test/nfs/convert.py.\n# Encodes are writes, opens by handle reads; one "
            "job per server thread and kind of open,\n# all at once as the threads "
            "ran.  Run it with test/nfs/replay.sh (from the file set's root).\n"
            "[global]\nioengine=external:${FHANDLE_SO}\nfh_backend=${FHANDLE_BACKEND}\n"
            "bs=%d\nreplay_no_stall=1\n\n" % (label, label, bs))
    with open(os.path.join(out, label + ".fio"), "w") as f:
        f.write(head + "\n".join(sections))
    return rows


# ---- the capture -------------------------------------------------------------------

def read_capture(capdir):
    tsv = os.path.join(capdir, "capture.tsv")
    try:
        with open(tsv) as f:
            text = f.read()
    except OSError as e:
        raise Bad("%s: %s" % (tsv, e.strerror))
    if not text.strip():
        raise Bad("%s: the capture is empty" % tsv)
    if not text.endswith("\n"):
        raise Bad("%s: truncated: the last line is cut off" % tsv)
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        p = line.split("\t")
        if len(p) != 12 or p[3] not in PHASES or p[1] not in ("strace", "none"):
            raise Bad("%s:%d: not a capture line" % (tsv, n))
        try:
            rows.append(dict(label=p[0], traced=p[1], trace=p[2], phase=p[3],
                             start=float(p[4]), end=float(p[5]), ops=int(p[6]),
                             errors=int(p[7]), mean=float(p[8]), p50=float(p[9]),
                             p99=float(p[10]), rate=float(p[11]) if p[11] else 0.0))
        except ValueError:
            raise Bad("%s:%d: not a capture line" % (tsv, n))
    return rows


def set_entries(shape):
    """Relative path -> is a directory, for every entry of the set."""
    dirs, paths = shape_paths(shape["files"], shape["per_dir"])
    isdir = {".": True}
    isdir.update((d, True) for d in dirs)
    isdir.update((p, False) for p in paths)
    return isdir


def write_handles(root, shape):
    for (htype, hbytes), rel in encode_set(root, list(set_entries(shape))).items():
        print("%d\t%s\t%s" % (htype, hbytes.hex(), rel))


def read_handles(path, isdir):
    hmap = {}
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise Bad("%s: %s" % (path, e.strerror))
    if not text.endswith("\n"):
        raise Bad("%s: empty or truncated" % path)
    for n, line in enumerate(text.splitlines(), 1):
        p = line.split("\t")
        try:
            if len(p) != 3 or p[2] not in isdir:
                raise ValueError
            hmap[(int(p[0]), bytes.fromhex(p[1]))] = p[2]
        except ValueError:
            raise Bad("%s:%d: not a handle of the set" % (path, n))
    if len(hmap) != len(isdir):
        raise Bad("%s: %d handles for a set of %d entries"
                  % (path, len(hmap), len(isdir)))
    return hmap


def convert(capdir, out):
    rows = read_capture(capdir)
    try:
        root = open(os.path.join(capdir, "export")).read().strip()
    except OSError as e:
        raise Bad("%s/export: %s" % (capdir, e.strerror))
    shape = read_shape(os.path.join(capdir, "fileset"))
    isdir = set_entries(shape)
    hmap = read_handles(os.path.join(capdir, "handles.tsv"), isdir)
    bs = max(1, shape["size"])
    os.makedirs(out, exist_ok=True)
    traces = {}
    report, jobrows = [], []
    untraced = {(r["label"], r["phase"]): r for r in rows if r["traced"] == "none"}
    for r in rows:
        if r["traced"] != "strace":
            continue
        tpath = os.path.join(capdir, r["trace"])
        if tpath not in traces:
            traces[tpath] = parse_trace(tpath)
        calls, last = traces[tpath]
        if r["end"] > last:
            raise Bad("%s: truncated: it ends at %.6f, before the %s phase of %s "
                      "(until %.6f)" % (tpath, last, r["phase"], r["label"], r["end"]))
        st, ops = analyse(calls, r["start"], r["end"], root, hmap, isdir)
        # cold-read's read phase is cold-read; first's is first-read
        label = r["label"] if r["label"].endswith("-" + r["phase"]) else \
            "%s-%s" % (r["label"], r["phase"])
        if ops:
            jobrows += write_jobs(out, label, ops, bs)
        enc = sum(1 for o in ops if o.kind == "encode")
        opn = [o for o in ops if o.kind == "open"]
        u = untraced.get((r["label"], r["phase"]))
        report.append(dict(
            state=r["label"], phase=r["phase"], ops=r["ops"], rate=r["rate"],
            rate_untraced=u["rate"] if u else 0.0,
            p50=r["p50"], p50_untraced=u["p50"] if u else 0.0,
            requests=int(st["requests"]), encodes=enc,
            opens=len(opn), opens_dir=sum(1 for o in opn if o.isdir),
            opens_read=sum(1 for o in opn if o.readlen is not None and not o.isdir),
            opens_path=sum(1 for o in opn if o.flags.startswith("path")),
            failed=int(st["n_failed_name_to_handle_at"] + st["n_failed_open_by_handle_at"]),
            cached_reads=int(st["n_cached_reads"]),
            file=int(st["n_file"]), net=int(st["n_net"]), other=int(st["n_other"]),
            t_request=st["t_request"], t_handle=st["t_req_handle"],
            t_file=st["t_req_file"], t_net=st["t_req_net"],
            job=label + ".fio" if ops else ""))
    if not report:
        raise Bad("%s: no traced phase" % os.path.join(capdir, "capture.tsv"))
    with open(os.path.join(out, "fileset"), "w") as f:
        f.write("".join("%s %d\n" % (k, shape[k]) for k in ("files", "per_dir", "size")))
    with open(os.path.join(out, "jobs.tsv"), "w") as f:
        f.write("jobfile\tjob\treads\twrites\n")
        f.write("".join("%s\t%s\t%d\t%d\n" % row for row in jobrows))
    write_report(out, report)


def write_report(out, report):
    cols = list(report[0].keys())
    with open(os.path.join(out, "report.tsv"), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in report:
            f.write("\t".join(("%.6f" % r[c]) if isinstance(r[c], float) else str(r[c])
                              for c in cols) + "\n")

    def per(r, k):
        return r[k] / r["ops"] if r["ops"] else 0.0

    def share(r, k):
        return 100.0 * r[k] / r["t_request"] if r["t_request"] else 0.0

    lines = [
        "| server | NFS op | ops | requests seen | encodes / op | opens by handle / op "
        "(of them: dir, with read, O_PATH) | other file syscalls / op | network / op "
        "| handle calls' share of request time | file calls' share | ops/s traced "
        "| ops/s untraced |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report:
        lines.append(
            "| %s | %s | %d | %d | %.2f | %.2f (%d, %d, %d) | %.2f | %.2f | %.1f%% | %.1f%% "
            "| %.0f | %.0f |" % (
                r["state"], r["phase"].upper(), r["ops"], r["requests"],
                per(r, "encodes"), per(r, "opens"), r["opens_dir"], r["opens_read"],
                r["opens_path"], per(r, "file"), per(r, "net"), share(r, "t_handle"),
                share(r, "t_file"), r["rate"], r["rate_untraced"]))
    notes = []
    for r in report:
        if r["failed"]:
            notes.append("- %s %s: %d handle calls failed (not replayed)."
                         % (r["state"], r["phase"], r["failed"]))
        if r["cached_reads"]:
            notes.append("- %s %s: %d reads on fds ganesha kept open (no handle "
                         "call, not replayed)." % (r["state"], r["phase"], r["cached_reads"]))
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
        if notes:
            f.write("\n" + "\n".join(notes) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    fs = sub.add_parser("fileset")
    fs.add_argument("dir")
    fs.add_argument("--files", type=int, default=10000)
    fs.add_argument("--per-dir", type=int, default=100)
    fs.add_argument("--size", type=int, default=4096)
    fs.add_argument("--from", dest="shape")
    hs = sub.add_parser("handles")
    hs.add_argument("dir")
    hs.add_argument("--from", dest="shape", required=True)
    cv = sub.add_parser("convert")
    cv.add_argument("capture")
    cv.add_argument("out")
    a = ap.parse_args()
    try:
        if a.cmd == "fileset":
            if a.shape:
                s = read_shape(a.shape)
                a.files, a.per_dir, a.size = s["files"], s["per_dir"], s["size"]
            make_fileset(a.dir, a.files, a.per_dir, a.size)
            print("files %d\nper_dir %d\nsize %d" % (a.files, a.per_dir, a.size))
        elif a.cmd == "handles":
            write_handles(a.dir, read_shape(a.shape))
        else:
            convert(a.capture, a.out)
    except Bad as e:
        print("convert.py: %s" % e, file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print("convert.py: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
