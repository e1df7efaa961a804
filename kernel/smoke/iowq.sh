#!/bin/bash
# Cold opens by handle and cold encodes on ext4 and xfs on a null_blk
# device with a fixed read latency: with the syscalls from 1, 4 and 16
# threads, and through one ring at several queue depths with io-wq's
# default worker limits and with the other choice of worker for the
# request emulated by its limits (opens, unbound: capped at 4, what bound
# workers get per CPU; encodes, bound: raised to 64), all on the same files
# in the same order.  Two file sets: "dense", 1024 files made one after the
# other, whose inodes share metadata blocks (a read brings in many: most
# cold requests then read nothing), and "sparse", 256 files each in a
# metadata block of its own (every cold request reads the device; ext4 is
# remounted with inode_readahead_blks=0 for it).  The figures behind the
# choice of bound or unbound io-wq workers (kernel/README.md).  Run in the
# VM, in exact mode so that they repeat:
#
#   bash test/vm/run.sh --icount [--kernel BZIMAGE] \
#       -c 'bash kernel/smoke/iowq.sh [OUT]'
#
# One coldopen line per run (see coldopen.c), prefixed with the filesystem
# and the file set; OUT (default: standard output only) also gets them.
# Environment: IOWQ_LAT_NS (default 1000000), IOWQ_FS ("ext4 xfs"),
# IOWQ_SETS ("dense sparse"), IOWQ_THREADS ("1 4 16"), IOWQ_QDS
# ("1 4 16 64").
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/dev/null}
lat=${IOWQ_LAT_NS:-1000000}
bin=${TMPDIR:-/tmp}/coldopen
gcc -std=gnu11 -O2 -Wall -I"$top/engines" -o "$bin" -pthread \
	"$top/kernel/smoke/coldopen.c" -luring

echo "# $(uname -r), $(nproc) CPU(s), icount=${FHANDLE_VM_ICOUNT:-0}," \
	"null_blk completion_nsec=$lat hw_queue_depth=1023" | tee -a "$out"
run() {	# FS SET ARGS...
	printf 'fs=%s set=%s %s\n' "$1" "$2" "$("$bin" "${@:3}")" | tee -a "$out"
}
for fs in ${IOWQ_FS:-ext4 xfs}; do
	mp=/mnt/iowq-$fs
	bash "$top/test/vm/nullb.sh" up "iowq$fs" "$fs" "$lat" 1023 1024 "$mp"
	for set in ${IOWQ_SETS:-dense sparse}; do
		case $set in
		dense) n=1024 stride=1 ;;
		sparse) n=256 stride=64 ;;
		esac
		d=$mp/$set
		mkdir "$d"
		python3 - "$d" "$((n * stride))" <<'PY'
import sys
for i in range(int(sys.argv[2])):
    open(f"{sys.argv[1]}/f{i}", "wb").close()
PY
		[[ $fs/$set == ext4/sparse ]] &&
			mount -o remount,inode_readahead_blks=0 "$mp"
		for op in open encode; do
			# the other placement, emulated by the worker limits
			case $op in
			open) other=0:4 ;;
			encode) other=64:0 ;;
			esac
			for t in ${IOWQ_THREADS:-1 4 16}; do
				run "$fs" "$set" -s "$stride" "$d" "$n" sync "$t" "$op"
			done
			for qd in ${IOWQ_QDS:-1 4 16 64}; do
				for w in 0:0 "$other"; do
					run "$fs" "$set" -s "$stride" -w "$w" "$d" \
						"$n" ring "$qd" "$op"
				done
			done
		done
	done
	bash "$top/test/vm/nullb.sh" down "iowq$fs" "$mp"
done
