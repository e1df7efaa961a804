#!/usr/bin/env bash
# The break-even sweep of `make compare`, inside the kernel VM (exact mode:
# test/vm/run.sh --icount, guest time one ns per instruction): when does
# the ring pay against threads, at which device latency and miss ratio.
#
# For each filesystem, a memory-backed null_blk device (test/vm/nullb.sh)
# holds N*STRIDE files of which every STRIDE-th is used (4 KiB of data
# each; the others, empty, keep two used inodes from sharing an inode
# block, so that a cold operation reads the device itself).  For each
# device latency and queue depth cap, the device is set to them (its data
# kept), its read latency measured (fio, psync, O_DIRECT, queue depth 1),
# and every cell run by test/bench/rawloop: one cache drop, 1 - MISS of the
# used files read back, then each used file once in one shuffled order
# (the same seed for every variant), through the ring from one thread at
# each DEPTH, or as syscalls from a pool of each THREADS.  A cell's line
# (rawloop's JSON with the cell's coordinates) goes to OUT/cells.jsonl;
# each device setting's measured read latency to OUT/devices.jsonl.
#
# usage: breakeven.sh --out DIR [--fs "ext4 xfs"] [--lat-us "20 100 1000 5000"]
#                     [--qcap "1023"] [--miss "0 0.01 0.1 0.5 1"]
#                     [--ops "open open_read encode"] [--ring "1 4 16 64"]
#                     [--pool "1 4 16 64"] [--iowq "64,64"] [--files N]
#                     [--stride K] [--reps N] [--tag TAG]
#   --miss 0 cells do not read the device: they run at the first latency
#   only.  --iowq: ring cells again with these io-wq worker limits
#   (IORING_REGISTER_IOWQ_MAX_WORKERS), cold encodes only.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
RAW=$top/build/bench/rawloop
NULLB=$top/test/vm/nullb.sh

out= fss="ext4 xfs" lats="20 100 1000 5000" qcaps=1023
misses="0 0.01 0.1 0.5 1" ops="open open_read encode" rings="1 4 16 64"
pools="1 4 16 64" iowqs= files=4096 stride=32 reps=2 tag=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2-} ;;
	--fs) fss=${2-} ;;
	--lat-us) lats=${2-} ;;
	--qcap) qcaps=${2-} ;;
	--miss) misses=${2-} ;;
	--ops) ops=${2-} ;;
	--ring) rings=${2-} ;;
	--pool) pools=${2-} ;;
	--iowq) iowqs=${2-} ;;
	--files) files=${2-} ;;
	--stride) stride=${2-} ;;
	--reps) reps=${2-} ;;
	--tag) tag=${2-} ;;
	*) sed -n '/^# usage/,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	   exit 2 ;;
	esac
	[ $# -ge 2 ] || { echo "breakeven.sh: $1 needs a value" >&2; exit 2; }
	shift 2
done
[ -n "$out" ] || { echo "breakeven.sh: --out DIR is needed" >&2; exit 2; }
[ -x "$RAW" ] || { echo "breakeven.sh: $RAW is not built (make)" >&2; exit 2; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
[ "${FHANDLE_VM_ICOUNT:-0}" = 1 ] ||
	echo "breakeven.sh: not in exact mode (test/vm/run.sh --icount):" \
		"the figures are times, not instruction counts" >&2

start=$(date +%s)
say() {
	local s=$(( $(date +%s) - start ))
	printf 'breakeven[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}

# The files: N*STRIDE in DIR, every STRIDE-th with 4 KiB of data.
make_files() {
	python3 - "$1" "$files" "$stride" <<-'EOF'
	import os, sys
	d, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	data = b"\xa5" * 4096
	for i in range(n * k):
	    with open(os.path.join(d, "f.%d" % i), "wb") as f:
	        if i % k == 0:
	            f.write(data)
	EOF
}

# Mount options: no atime updates (a read would dirty the inode, and its
# write-back would run inside a timed phase); ext4 without inode-table
# read-ahead (32 blocks by default: one cold inode would bring hundreds of
# others in, and no other operation would read the device)
mount_opts() {	# FS
	case $1 in
	ext4) echo noatime,inode_readahead_blks=0 ;;
	*) echo noatime ;;
	esac
}

# retune NAME FS NS QCAP MNT: the device's latency and queue depth cap,
# its data kept (null_blk keeps a memory-backed device's data while it is
# powered off)
retune() {
	local name=$1 fs=$2 ns=$3 qcap=$4 mnt=$5 a=/sys/kernel/config/nullb/$1
	umount "$mnt" && echo 0 >"$a/power" &&
		echo "$ns" >"$a/completion_nsec" &&
		echo "$qcap" >"$a/hw_queue_depth" && echo 1 >"$a/power" ||
		return 1
	rm -f "/dev/$name"
	mknod "/dev/$name" b $(tr : ' ' <"/sys/block/$name/dev") &&
		mount -t "$fs" -o "$(mount_opts "$fs")" "/dev/$name" "$mnt"
}

# The device's read latency as fio sees it: psync, O_DIRECT, depth 1
measure() {	# NAME -> p50 and mean in ns
	fio --name=lat --filename="/dev/$1" --ioengine=psync --direct=1 \
		--rw=randread --bs=4k --size=64m --number_ios=200 \
		--output-format=json 2>/dev/null |
		jq -r '.jobs[0].read.clat_ns | "\(.percentile["50.000000"]) \(.mean)"'
}

nfail=0
# shellcheck source=test/bench/record.sh
. "$top/test/bench/record.sh"

for fs in $fss; do
	name=nb$fs mnt=/mnt/$name first=1
	say "$fs: null_blk $name, $((files * stride)) files"
	bash "$NULLB" up "$name" "$fs" 0 1023 2048 "$mnt" >/dev/null ||
		{ say "cannot set up $name"; nfail=$((nfail + 1)); continue; }
	mkdir "$mnt/set" && make_files "$mnt/set" && sync -f "$mnt/set" ||
		{ say "cannot make the files"; bash "$NULLB" down "$name" "$mnt"; continue; }
	for qcap in $qcaps; do
		for lat in $lats; do
			retune "$name" "$fs" $((lat * 1000)) "$qcap" "$mnt" ||
				{ say "cannot retune $name"; nfail=$((nfail + 1)); continue; }
			read -r p50 mean <<<"$(measure "$name")"
			jq -nc --arg fs "$fs" --argjson lat "$lat" \
				--argjson qcap "$qcap" --argjson p50 "${p50:-0}" \
				--argjson mean "${mean:-0}" --arg tag "$tag" \
				'{fs: $fs, lat_us: $lat, qcap: $qcap, read_p50_ns: $p50, read_mean_ns: $mean, tag: $tag}' \
				>>"$out/devices.jsonl"
			say "$fs: latency $lat us asked, $((${p50%.*} / 1000)) us measured (p50), queue depth cap $qcap"
			# a first pass over the set, not recorded: the first run
			# after a mount costs more than the next ones
			"$RAW" -o open -c -m 1 -k "$stride" "$mnt/set" "$files" >/dev/null
			for op in $ops; do
				for miss in $misses; do
					# no read, no latency: once
					[ "$miss" = 0 ] && [ $first = 0 ] && continue
					for rep in $(seq 1 "$reps"); do
						meta=(fs="$fs" lat_us="$lat" qcap="$qcap" rep="$rep" tag="$tag")
						args=(-o "$op" -c -m "$miss" -k "$stride" -D "$name" -S 7)
						# no miss: the set 4 times, for a longer span
						[ "$miss" = 0 ] && args+=(-n $((4 * files)))
						for d in $rings; do
							record "${meta[@]}" iowq=0 -- "$RAW" "${args[@]}" -r -q "$d" "$mnt/set" "$files"
						done
						for j in $pools; do
							record "${meta[@]}" iowq=0 -- "$RAW" "${args[@]}" -j "$j" "$mnt/set" "$files"
						done
						[ "$op" = encode ] && [ "$miss" != 0 ] || continue
						for w in $iowqs; do
							for d in $rings; do
								[ "$d" -gt 4 ] || continue
								record "${meta[@]}" iowq="$w" -- "$RAW" "${args[@]}" -r -q "$d" -W "$w" "$mnt/set" "$files"
							done
						done
					done
				done
			done
			first=0
		done
	done
	bash "$NULLB" down "$name" "$mnt"
done
say "done, $nfail failed"
[ "$nfail" = 0 ]
