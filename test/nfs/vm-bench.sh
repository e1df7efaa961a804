#!/usr/bin/env bash
# In the kernel VM (test/nfs/bench.sh boots it with test/vm/run.sh
# --icount): replay jobfiles/ganesha with both backends, warm on each
# scratch filesystem, then cold on ext4 on a memory-backed null_blk device
# with 1 ms timer completions (the modelled disk, test/vm/nullb.sh).
# Appends to OUT/replay.tsv (replay.sh --tsv) and keeps fio's JSON in
# OUT/json/TAG; OUT/disk-reads.tsv: the disk's reads per cold replay
# (tag, job file, backend, reads); OUT/disk.tsv: the latency of a read on
# it as fio measures it (psync, O_DIRECT, depth 1: p50 and mean, ns).
#
# usage: test/nfs/vm-bench.sh OUT [JOBDIR]   (default jobfiles/ganesha)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: vm-bench.sh OUT [JOBDIR]}
jobs=${2:-$top/jobfiles/ganesha}
delay_ms=1 nb=nbnfs
mkdir -p "$out/json"
status=0
replay() {	# TAG DIR [REPLAY ARG...]
	local tag=$1 dir=$2 b
	shift 2
	for b in sync uring; do
		bash "$top/test/nfs/replay.sh" --backend "$b" --dir "$dir" \
			--out "$out/json/$tag" --tsv "$out/replay.tsv" --tag "$tag" \
			"$@" "$jobs" || status=1
	done
}

# warm: the set was just written, every dentry and inode in memory
for fs in ${FHANDLE_SCRATCH:-}; do
	replay "warm-$(basename "$fs")" "$fs/nfs-set"
	rm -rf "$fs/nfs-set"
done

# cold on the modelled disk: ext4 on null_blk, one inode per 4 KiB block
# and no inode-table read-ahead, so that each cold inode is a read of its
# own; caches dropped after the jobs' inits
bash "$top/test/vm/nullb.sh" up "$nb" none $((delay_ms * 1000000)) 1023 512 none \
	>/dev/null &&
	mkfs.ext4 -q -F -I 4096 -N 32768 -E lazy_itable_init=0,lazy_journal_init=0 "/dev/$nb" &&
	mkdir -p /mnt/nfs-disk &&
	mount -o noatime,inode_readahead_blks=0 "/dev/$nb" /mnt/nfs-disk ||
	{ echo "vm-bench: cannot make the modelled disk" >&2; exit 1; }
fio --name=lat --filename="/dev/$nb" --ioengine=psync --direct=1 \
	--rw=randread --bs=4k --size=64m --number_ios=200 --output-format=json \
	--readonly 2>/dev/null |
	jq -r '.jobs[0].read.clat_ns | "\(.percentile["50.000000"])\t\(.mean)"' \
	>"$out/disk.tsv"
# the disk's reads (field 1 of its stat) around each replay
disk_reads() {
	awk '{ print $1 }' "/sys/block/$nb/stat"
}
tag=cold-ext4-nullblk-${delay_ms}ms
for j in "$jobs"/*.fio; do
	for b in sync uring; do
		r0=$(disk_reads)
		bash "$top/test/nfs/replay.sh" --backend "$b" --dir /mnt/nfs-disk/nfs-set \
			--out "$out/json/$tag" --tsv "$out/replay.tsv" --tag "$tag" \
			--cold "$jobs" "$j" || status=1
		printf '%s\t%s\t%s\t%s\n' "$tag" "$(basename "$j" .fio)" "$b" \
			$(($(disk_reads) - r0)) >>"$out/disk-reads.tsv"
	done
done
umount /mnt/nfs-disk
bash "$top/test/vm/nullb.sh" down "$nb"
exit $status
