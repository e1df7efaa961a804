#!/usr/bin/env bash
# In the kernel VM (test/nfs/bench.sh boots it with test/vm/run.sh
# --icount): replay jobfiles/ganesha with both backends, warm on each
# scratch filesystem, then cold on ext4 behind dm-delay (the modelled disk).
# Appends to OUT/replay.tsv (replay.sh --tsv) and keeps fio's JSON in
# OUT/json/TAG; OUT/disk-reads.tsv: the delayed disk's reads per cold
# replay (tag, job file, backend, reads).
#
# usage: test/nfs/vm-bench.sh OUT [JOBDIR]   (default jobfiles/ganesha)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: vm-bench.sh OUT [JOBDIR]}
jobs=${2:-$top/jobfiles/ganesha}
delay_ms=1
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

# cold on the modelled disk: ext4 on a loop device over tmpfs behind
# dm-delay (each I/O delayed $delay_ms ms, rounded up to a timer tick),
# one inode per 4 KiB block and no inode-table read-ahead, so that each
# cold inode is a read of its own; caches dropped after the jobs' inits
img=/dev/shm/nfs-disk.img
truncate -s 512M "$img" && lower=$(losetup -f --show "$img") &&
	mkfs.ext4 -q -F -I 4096 -N 32768 -E lazy_itable_init=0,lazy_journal_init=0 "$lower" &&
	dmsetup create nfs-delay --table "0 $(blockdev --getsz "$lower") delay $lower 0 $delay_ms" &&
	dmsetup mknodes nfs-delay && mkdir -p /mnt/nfs-disk &&
	mount -o inode_readahead_blks=0 /dev/mapper/nfs-delay /mnt/nfs-disk ||
	{ echo "vm-bench: cannot make the delayed disk" >&2; exit 1; }
# the disk's reads (field 1 of its stat) around each replay
dm_reads() {
	awk '{ print $1 }' /sys/block/"$(dmsetup info -c --noheadings -o blkdevname nfs-delay)"/stat
}
tag=cold-ext4-dmdelay-${delay_ms}ms
for j in "$jobs"/*.fio; do
	for b in sync uring; do
		r0=$(dm_reads)
		bash "$top/test/nfs/replay.sh" --backend "$b" --dir /mnt/nfs-disk/nfs-set \
			--out "$out/json/$tag" --tsv "$out/replay.tsv" --tag "$tag" \
			--cold "$jobs" "$j" || status=1
		printf '%s\t%s\t%s\t%s\n' "$tag" "$(basename "$j" .fio)" "$b" \
			$(($(dm_reads) - r0)) >>"$out/disk-reads.tsv"
	done
done
umount /mnt/nfs-disk
dmsetup remove nfs-delay
losetup -d "$lower"
rm -f "$img"
exit $status
