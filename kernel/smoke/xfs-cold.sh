#!/bin/bash
# Why the cold xfs rows of BENCHMARKS.md look like one thread: their cells
# (test/bench/exact.sh: xfs with 2 KiB inodes on a loop device behind
# dm-delay, 1,024 files of 4 KiB, cold opens by handle through fio and the
# engine), run again with the scheduler traced: every sleep in D state with
# its stack, so that it shows who waits for what.  Cells: one sync thread
# (the files of j0/), 16 sync threads (j0/ .. j15/, 64 files each), the ring
# at iodepth 16 on j0/'s files (as the table's), and the ring and one
# thread on the 16 threads' inodes (hard links to them, in spread/).  Run in
# the VM, in exact mode:
#
#   bash test/vm/run.sh --icount [--kernel BZIMAGE] --out OUT \
#       -c 'bash kernel/smoke/xfs-cold.sh /mnt/out'
#
# Writes DIR/CELL.json (fio), DIR/CELL.trace.xz and DIR/summary.txt: per
# cell ops/s, p50, p99 and the device's reads, then the D-state sleeps of
# the fio threads and of io-wq's workers by stack (kernel/smoke/dstacks.py).
# Needs build/fhandle.so (make all).  Environment: DELAY_MS (default 1).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SO=$top/build/fhandle.so
out=${1:?usage: xfs-cold.sh OUTDIR}
ms=${DELAY_MS:-1}
T=/sys/kernel/tracing
mkdir -p "$out" && out=$(cd "$out" && pwd)
[[ -f $SO ]] || { echo "xfs-cold.sh: $SO is not built (make all)" >&2; exit 2; }
[[ -d $T/events/sched ]] || { echo "xfs-cold.sh: no tracefs at $T" >&2; exit 2; }

img=${TMPDIR:-/tmp}/xfs-cold.img
truncate -s 1G "$img"
lo=$(losetup -f --show "$img") || exit 1
mkfs.xfs -q -f -i size=2048 "$lo" || exit 1
mnt=/mnt/xfs-cold
mkdir -p "$mnt" && mount "$lo" "$mnt" || exit 1
# exact.sh's layout: jK/ holds the files of thread K of each thread count
python3 - "$mnt" 1024 <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for k in range(64):
    count = n if k == 0 else n // 4 if k < 4 else n // 16 if k < 16 else n // 64
    os.makedirs(f"{top}/j{k}", exist_ok=True)
    for i in range(count):
        with open(f"{top}/j{k}/f.{i}", "wb") as f:
            f.write(bytes(4096))
os.makedirs(f"{top}/spread", exist_ok=True)
for k in range(16):
    for i in range(64):
        os.link(f"{top}/j{k}/f.{i}", f"{top}/spread/f.{k * 64 + i}")
PY
umount "$mnt"
dmsetup create xfs-cold --table "0 $(blockdev --getsz "$lo") delay $lo 0 $ms" &&
	dmsetup mknodes xfs-cold && mount /dev/mapper/xfs-cold "$mnt" || exit 1
dm=$(dmsetup info -c --noheadings -o blkdevname xfs-cold)
cd "${TMPDIR:-/tmp}" || exit 1	# fio writes the prerun's output here

echo "# $(uname -r), dm-delay $ms ms, xfs -i size=2048, 1024 files" |
	tee "$out/summary.txt"
cell() {	# NAME JOBS FIO-ARGS...
	local name=$1 jobs=$2 r0 r1 e
	shift 2
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo 65536 > $T/buffer_size_kb
	for e in sched/sched_switch io_uring/io_uring_queue_async_work; do
		echo 1 > "$T/events/$e/enable"
	done
	echo 'prev_state == 2' > $T/events/sched/sched_switch/filter
	echo 'stacktrace if prev_state == 2' > $T/events/sched/sched_switch/trigger
	r0=$(awk '{ print $1 }' "/sys/block/$dm/stat")
	echo 1 > $T/tracing_on
	fio --name="$name" --directory="$mnt" --filename_format='j$jobnum/f.$filenum' \
		--nrfiles=$((1024 / jobs)) --numjobs="$jobs" --group_reporting \
		--thread --filesize=4k --bs=4k --rw=randread --lat_percentiles=1 \
		--percentile_list=50:99 --output-format=json \
		--ioengine=external:"$SO" --fh_read_op=open --fh_cold_cache=1 \
		--exec_prerun='sh -c "echo 3 > /proc/sys/vm/drop_caches"' \
		"$@" > "$out/$name.json"
	echo 0 > $T/tracing_on
	r1=$(awk '{ print $1 }' "/sys/block/$dm/stat")
	echo '!stacktrace if prev_state == 2' > $T/events/sched/sched_switch/trigger
	echo 0 > $T/events/sched/sched_switch/filter
	xz -9 < $T/trace > "$out/$name.trace.xz"
	python3 - "$out/$name.json" "$name" "$((r1 - r0))" <<'PY' | tee -a "$out/summary.txt"
import json, sys
t = open(sys.argv[1]).read()
r = json.loads(t[t.index('{'):])['jobs'][0]['read']
p = r['lat_ns']['percentile']
print('%-14s %7.0f ops/s  p50 %6.2f ms  p99 %6.2f ms  %s device reads'
      % (sys.argv[2], r['iops'], p['50.000000'] / 1e6, p['99.000000'] / 1e6,
         sys.argv[3]))
PY
}
ring=(--fh_backend=uring --iodepth=16 --iodepth_batch_submit=4
	--iodepth_batch_complete_min=1)
cell sync1 1 --fh_backend=sync
cell sync16 16 --fh_backend=sync
cell uring16 1 "${ring[@]}"
cell uring16-spread 1 "${ring[@]}" --filename_format='spread/f.$filenum'
cell sync1-spread 1 --fh_backend=sync --filename_format='spread/f.$filenum'
for c in sync1 sync16 uring16 uring16-spread sync1-spread; do
	xz -dc "$out/$c.trace.xz" | python3 "$top/kernel/smoke/dstacks.py" "$c"
done | tee -a "$out/summary.txt"
umount "$mnt"
dmsetup remove xfs-cold
losetup -d "$lo"
rm -f "$img"
