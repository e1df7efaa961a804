#!/usr/bin/env bash
# The VM share of `make compare` in exact mode: run inside
# `test/vm/run.sh --icount`, where guest time is one ns per instruction,
# so fio's ops/s is 1e9 / instructions per operation and repeats exactly.
#
#   warm  tmpfs, 1,000 files, warm caches: encode, open by handle, openat,
#         sync and uring at iodepth 1 and 16, plain and fixed files, and
#         rawloop's IORING_OP_NOP batches (the ring's floor); then each
#         cell again under perf (cpu-clock: one sample per PERIOD
#         instructions), whose samples give the split by layer.
#   disk  ext4 and xfs on a RAM disk in the guest (a loop device on a
#         tmpfs file) behind device-mapper's delay target: cold opens by
#         handle and cold encodes, sync with 1/4/16/64 threads and uring
#         from one thread at iodepth 4/16/64, plain and fixed.
#
# Writes OUT/json/ID.json (fio's or rawloop's JSON), OUT/perf/ID.txt (perf
# report) and one line per run to OUT/cases.tsv; test/bench/report.py
# --exact reads them.
#
# usage: exact.sh --out DIR [--sections "warm disk"] [--ops N]
#                 [--delays "1 5"] [--disk-files N] [--period N]
#                 [--cell OP/VARIANT/QD]
#   --ops N         operations per warm run (default 50000)
#   --delays MS...  dm-delay's per-I/O delay in ms (default "1 5")
#   --disk-files N  files a one-thread cold run opens (default 1024)
#   --period N      perf's sampling period in ns = instructions (20000)
#   --cell C        only this warm cell, without perf (e.g. encode/sync/1)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SO=$top/build/fhandle.so
RAW=$top/build/bench/rawloop

out= sections="warm disk" ops=50000 delays="1 5" disk_files=1024
period=20000 only_cell=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--sections) sections=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	--delays) delays=$2; shift 2 ;;
	--disk-files) disk_files=$2; shift 2 ;;
	--period) period=$2; shift 2 ;;
	--cell) only_cell=$2; shift 2 ;;
	*) echo "exact.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { sed -n '/^# usage/,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
for n in "$ops" "$disk_files" "$period"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] ||
		{ echo "exact.sh: '$n' is not a whole number > 0" >&2; exit 2; }
done
[ "${FHANDLE_VM_ICOUNT:-0}" = 1 ] ||
	echo "exact.sh: warning: not under test/vm/run.sh --icount: the" \
		"figures are times, not instruction counts" >&2
for f in "$SO" "$RAW"; do
	[ -f "$f" ] || { echo "exact.sh: $f is not built (make compare builds it)" >&2; exit 2; }
done
mkdir -p "$out/json" "$out/perf" && out=$(cd "$out" && pwd)
cases=$out/cases.tsv
[ -f "$cases" ] ||
	printf 'id\tsection\tfs\ttool\top\tvariant\tqd\tjobs\tdelay_ms\tnrfiles\tperf\n' >"$cases"
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
start=$(date +%s)
nrun=0 nfail=0
progress() {
	local s=$(( $(date +%s) - start ))
	printf 'exact[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}

# Debian 12's linux-perf (6.1) is /usr/bin/perf; it profiles later
# kernels too (cpu-clock and kallsyms are all it needs here).
PERF=$(command -v perf)
# shellcheck source=test/bench/run-json.sh
. "$top/test/bench/run-json.sh"

# run ID SECTION FS TOOL OP VARIANT QD JOBS DELAY NRFILES PERF -- CMD...
run() {
	local id=$1 meta=("${@:2:10}") sum rc
	shift 11
	[ "$1" = -- ] && shift
	bench_json "$id" "$@"
	rc=$?
	if [ $rc != 0 ] || ! sum=$(jq -er 'if .tool == "rawloop" then
		"\(.ops) ops, \(.ops_per_sec | floor) ops/s"
		else (.jobs | map(.read.total_ios) | add) as $n | if $n > 0 then
		"\($n) ops, \(.jobs | map(.read.iops) | add | floor) ops/s"
		else error("no operation") end end' "$out/json/$id.json" 2>/dev/null); then
		bench_failed "$id" "$rc" "$id"
		return 1
	fi
	(IFS=$'\t'; printf '%s\t%s\n' "$id" "${meta[*]}" >>"$cases")
	progress "$id: $sum"
}

# perf_wrap ID CMD...: CMD under perf record (every CPU: io-wq workers and
# kworkers count too), then the flat profile by binary and symbol
perf_wrap() {
	local id=$1
	shift
	"$PERF" record -q -e cpu-clock -c "$period" -a -o "/tmp/$id.data" \
		-- "$@" || return 1
	"$PERF" report -i "/tmp/$id.data" --stdio --no-children -g none \
		--sort dso,sym --percent-limit 0 >"$out/perf/$id.txt" 2>/dev/null
	rm -f "/tmp/$id.data"
}

FIO_COMMON=(--thread --filesize=4k --bs=4k --rw=randread
	--filename_format='f.$filenum' --lat_percentiles=1
	--percentile_list=50:99 --output-format=json)

fh_variant_args() {	# VARIANT QD
	case $1 in
	sync) echo "--fh_backend=sync" ;;
	uring*) echo "--fh_backend=uring --iodepth=$2" \
		"--iodepth_batch_submit=$(( $2 >= 4 ? $2 / 4 : 1 ))" \
		"--iodepth_batch_complete_min=1" ;;
	esac
	case $1 in *fixed*) echo "--fh_fixedfiles=1" ;; esac
}

# ---------------------------------------------------------------- warm
# A cell is run plain (the table's figure), then under perf twice, with
# half the operations and with all: the difference of the two profiles is
# the steady state, without fio's start-up (dynamic linking, clock
# calibration, option parsing) or its end.
warm_cell() {	# DIR OP VARIANT QD PERF(0|1|2)
	local d=$1 op=$2 var=$3 qd=$4 p=$5 id cmd n=$ops tool=fhandle
	id=warm-tmpfs-$op-${var//+/_}-qd$qd
	[ "$p" != 0 ] && id+=-perf$p
	[ "$p" = 1 ] && n=$((ops / 2))
	if [ "$op" = nop ]; then
		tool=rawloop
		cmd=("$RAW" -o nop -q "$qd" -n "$n" x 1)
	else
		# shellcheck disable=SC2046
		cmd=(fio --name="$id" --directory="$d" --nrfiles=1000
			"${FIO_COMMON[@]}" --file_service_type=random
			--norandommap --number_ios="$n" --io_size=$((n * 4))k
			--ioengine=external:"$SO" --fh_read_op="$op"
			$(fh_variant_args "$var" "$qd"))
	fi
	[ "$p" != 0 ] && cmd=(perf_wrap "$id" "${cmd[@]}")
	run "$id" warm tmpfs "$tool" "$op" "$var" "$qd" 1 0 1000 "$p" -- \
		"${cmd[@]}"
}

warm_cells() {
	local op var qd
	for op in encode open openat; do
		echo "$op sync 1"
		for var in uring uring+fixed; do
			[ "$op" = encode ] && [ "$var" = uring+fixed ] && continue
			for qd in 1 16; do echo "$op $var $qd"; done
		done
	done
	echo "nop uring 1"
	echo "nop uring 16"
}

layout() {	# DIR NRFILES [FIO ARG...]
	local d=$1 n=$2
	shift 2
	mkdir -p "$d"
	fio --name=layout --thread --ioengine=sync --directory="$d" \
		--nrfiles="$n" --filesize=4k --bs=4k --rw=write --create_only=1 \
		--create_serialize=1 "$@" >/dev/null 2>&1
}

sec_warm() {
	local base d cell op var qd p
	base=$(mktemp -d /mnt/tmpfs/exact.XXXXXX) || return 1
	cd "$base" || return 1
	layout a 1000 --filename_format='f.$filenum' ||
		{ echo "exact.sh: layout failed in $base" >&2; return 1; }
	for p in 0 1 2; do
		while read -r op var qd; do
			if [ -n "$only_cell" ]; then
				[ "$op/$var/$qd" = "$only_cell" ] && [ $p = 0 ] || continue
			fi
			warm_cell a "$op" "$var" "$qd" "$p"
		done <<<"$(warm_cells)"	# no /dev/fd in the guest
	done
	cd /tmp && rm -rf "$base"
}

# ---------------------------------------------------------------- disk
# The lower device is a loop device on a tmpfs file, not the scratch
# virtio disk: a virtio request is served by the host in host time, and
# with icount's sleep=off an idle guest jumps to its next timer meanwhile,
# so a host-served read would last a random number of guest ticks.  The
# loop device's copies are guest instructions, counted like the rest.
dm_lower= dm_img=
disk_make() {	# FS: loop device + file system, mounted on /mnt/exact-FS-raw
	local fs=$1
	dm_img=/dev/shm/exact-$fs.img
	truncate -s 1G "$dm_img" && dm_lower=$(losetup -f --show "$dm_img") ||
		return 1
	case $fs in
	# one inode per 4 KiB block, no inode-table read-ahead: every cold
	# inode is one read of its own
	ext4) mkfs.ext4 -q -F -I 4096 -N 16384 -E lazy_itable_init=0,lazy_journal_init=0 "$dm_lower" ;;
	xfs) mkfs.xfs -q -f -i size=2048 "$dm_lower" ;;
	esac
}

disk_mount() {	# FS DELAY_MS: the delayed device, mounted on /mnt/exact-FS
	local fs=$1 ms=$2 sectors opts=
	sectors=$(blockdev --getsz "$dm_lower") || return 1
	dmsetup create "exact-$fs" --table "0 $sectors delay $dm_lower 0 $ms" ||
		return 1
	dmsetup mknodes "exact-$fs"
	[ "$fs" = ext4 ] && opts=-oinode_readahead_blks=0
	mkdir -p "/mnt/exact-$fs"
	mount $opts "/dev/mapper/exact-$fs" "/mnt/exact-$fs"
}

disk_umount() {	# FS
	umount "/mnt/exact-$1" 2>/dev/null
	dmsetup remove "exact-$1" 2>/dev/null
}

disk_remove() {	# FS
	disk_umount "$1"
	[ -n "$dm_lower" ] && losetup -d "$dm_lower"
	rm -f "$dm_img"
	dm_lower= dm_img=
}

# The file sets: job J of JOBS works in jJ/ on NRFILES/JOBS files of its
# own (fio's filename_format has $jobnum, not a file offset), so j0/ holds
# the whole set for one thread and jK/ the largest share any JOBS gives K.
# One python3 writes them all: 64 fio layouts took ten minutes under TCG.
disk_layout() {	# DIR
	python3 - "$1" "$disk_files" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for k in range(64):
    count = n if k == 0 else n // 4 if k < 4 else n // 16 if k < 16 else n // 64
    os.makedirs(f"{top}/j{k}", exist_ok=True)
    for i in range(count):
        with open(f"{top}/j{k}/f.{i}", "wb") as f:
            f.write(bytes(4096))
PY
}

# The dm device's reads and the ms they took (field 1 and 4 of its stat)
dm_reads() {
	awk '{ print $1, $4 }' "/sys/block/$(dmsetup info -c --noheadings \
		-o blkdevname "exact-$1")/stat"
}

disk_cell() {	# FS DELAY OP VARIANT QD JOBS
	local fs=$1 ms=$2 op=$3 var=$4 qd=$5 jobs=$6 id n r0 r1
	id=disk-$fs-${ms}ms-$op-${var//+/_}-qd$qd-j$jobs
	n=$((disk_files / jobs))
	r0=$(dm_reads "$fs")
	# shellcheck disable=SC2046
	run "$id" disk "$fs" fhandle "$op" "$var" "$qd" "$jobs" "$ms" \
		"$disk_files" 0 -- fio --name="$id" --directory="/mnt/exact-$fs" \
		--filename_format='j$jobnum/f.$filenum' --nrfiles="$n" \
		--numjobs="$jobs" --group_reporting --thread --filesize=4k \
		--bs=4k --rw=randread --lat_percentiles=1 \
		--percentile_list=50:99 --output-format=json \
		--ioengine=external:"$SO" --fh_read_op="$op" --fh_cold_cache=1 \
		--exec_prerun='sh -c "echo 3 > /proc/sys/vm/drop_caches"' \
		$(fh_variant_args "$var" "$qd") || return 1
	r1=$(dm_reads "$fs")
	# the reads the run made, beside its JSON
	echo "$r0 $r1" | awk '{ printf "{\"reads\": %d, \"read_ms\": %d}\n", $3 - $1, $4 - $2 }' \
		>"$out/json/$id.dm"
}

sec_disk() {
	local fs ms op var qd
	command -v dmsetup >/dev/null ||
		{ echo "exact.sh: dmsetup missing (Debian package dmsetup)" >&2; return 1; }
	for fs in ext4 xfs; do
		command -v "mkfs.$fs" >/dev/null || continue
		progress "disk: $fs on a loop device, laying out $disk_files files x 3.25"
		disk_make "$fs" && disk_mount "$fs" 0 &&
			disk_layout "/mnt/exact-$fs" ||
			{ echo "exact.sh: cannot set up $fs" >&2; disk_remove "$fs"; nfail=$((nfail + 1)); continue; }
		disk_umount "$fs"
		for ms in $delays; do
			disk_mount "$fs" "$ms" ||
				{ nfail=$((nfail + 1)); continue; }
			for op in open encode; do
				disk_cell "$fs" "$ms" "$op" sync 1 1
				for qd in 4 16 64; do
					disk_cell "$fs" "$ms" "$op" sync 1 "$qd"
				done
				for var in uring uring+fixed; do
					[ "$op" = encode ] && [ "$var" = uring+fixed ] && continue
					for qd in 4 16 64; do
						disk_cell "$fs" "$ms" "$op" "$var" "$qd" 1
					done
				done
			done
			disk_umount "$fs"
		done
		disk_remove "$fs"
	done
}

# fio writes exec_prerun's output to JOB.prerun.txt in its working folder
cd /tmp || exit 1
progress "start: $(uname -r), icount=${FHANDLE_VM_ICOUNT:-0}, sections: $sections," \
	"perf: ${PERF:-none}"
has "$sections" warm && sec_warm
has "$sections" disk && sec_disk
progress "done: $nrun runs, $nfail failed"
[ $nfail = 0 ]
