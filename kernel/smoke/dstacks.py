#!/usr/bin/env python3
"""Sleeps in D state by stack, from a trace (on stdin) of sched_switch
events filtered on prev_state == 2 with a stacktrace trigger, as
kernel/smoke/xfs-cold.sh records: for the fio threads and for io-wq's
workers, the most common stacks (the frames that name the filesystem,
exportfs, io_uring or the syscall path), and how many of the fio threads'
sleeps happened inside io_uring_enter() (an inline attempt that waited).

usage: dstacks.py NAME < trace"""
import collections
import re
import sys

KEEP = ('xfs_', 'ext4', '__ext4', 'exportfs', 'do_handle', 'handle_to',
        'io_', 'do_sys', 'path_', 'd_alloc', '__lookup', 'walk_comp',
        'do_dentry')


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else '-'
    by = collections.Counter()
    total = collections.Counter()
    in_enter = 0
    who, frames = None, []

    def flush():
        nonlocal in_enter
        if who is None:
            return
        total[who] += 1
        if who == 'fio' and any(f.startswith('__do_sys_io_uring_enter') or
                                f.startswith('io_submit_sqes')
                                for f in frames):
            in_enter += 1
        kept = [f for f in frames if f.startswith(KEEP)]
        by[(who, ' < '.join(kept[:8]) or '(elsewhere)')] += 1

    for line in sys.stdin:
        if line.startswith(' => '):
            frames.append(line[4:].strip())
            continue
        if '<stack trace>' in line:
            continue
        flush()
        who, frames = None, []
        m = re.search(r'prev_comm=(\S+) .*prev_state=D', line)
        if m:
            comm = m.group(1)
            if comm.startswith('iou-wrk'):
                who = 'io-wq'
            elif comm.startswith('fio'):
                who = 'fio'
    flush()
    print('== %s: D-state sleeps: fio threads %d (%d inside io_uring_enter),'
          ' io-wq workers %d' % (name, total['fio'], in_enter,
                                 total['io-wq']))
    for (w, stack), n in by.most_common(6):
        print('  %5d  %-6s %s' % (n, w, stack))


if __name__ == '__main__':
    main()
