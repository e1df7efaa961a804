#!/usr/bin/env bash
# The NFS part of make compare (BENCHMARKS.md, "nfs-ganesha's own handle
# calls, replayed"): the full case.
#
#   host: test/nfs/capture.sh on 10,000 files, convert.py into
#         jobfiles/ganesha (replaced), the sync backend's replay 5 times
#   vm:   test/nfs/vm-bench.sh in the kernel VM in exact mode (both
#         backends, warm on tmpfs/ext4/xfs, cold on ext4 on a null_blk
#         device with 1 ms reads)
#   then test/nfs/summary.py rewrites BENCHMARKS.md's section.
#
# Results: test/bench/results/nfs/{capture,host,vm}/ (committed: every
# number of the section comes from there); the capture itself, strace's
# logs included, in build/bench/nfs-capture.  A --part run keeps the other
# part's results; --part replay runs only the host's replays, of the
# committed jobs (the capture, and the VM part made from it, stay).
# --quick: 1,000 files, one repeat, into build/bench/nfs, nothing
# committed changes.
#
# usage: test/nfs/bench.sh [--part host|replay|vm] [--quick]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
say() { echo "nfs-bench: $*"; }
only= quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--part) only=${2:-}; shift ;;
	--part=*) only=${1#*=} ;;
	--quick) quick=1 ;;
	*) sed -n '/^# usage/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
	shift
done
case $only in
""|host|replay|vm) ;;
*) say "--part must be host, replay or vm"; exit 2 ;;
esac

files=10000 reps=5 res=$top/test/bench/results/nfs jobs=$top/jobfiles/ganesha
if [ "$quick" = 1 ]; then
	files=1000 reps=1 res=$top/build/bench/nfs jobs=$top/build/bench/nfs/jobs
fi
work=$(mktemp -d /tmp/fhandle-nfs-bench.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
status=0
t0=$(date +%s)

# trim.jq: what summary.py and a reader need of fio's JSON
trim='{fio_version, jobs: [.jobs[] | {jobname, error, job_runtime,
	read: {total_ios: .read.total_ios, clat_ns: (.read.clat_ns | {mean, percentile})},
	write: {total_ios: .write.total_ios, clat_ns: (.write.clat_ns | {mean, percentile})}}]}'

out=$res/host
progress() { say "$*"; }
# shellcheck source=test/bench/load.sh
. test/bench/load.sh
if [ "$only" = "" ] || [ "$only" = host ]; then
	say "host part: capture on $files files"
	rm -rf "$res/capture" "$res/host"
	mkdir -p "$res/capture" "$res/host"
	load_check "the capture"
	# the capture with strace's logs stays in build/ (not committed:
	# hundreds of MB) for a later conversion
	cap=$top/build/bench/nfs-capture
	rm -rf "$cap"
	bash test/nfs/capture.sh --files "$files" "$cap" || exit 1
	python3 test/nfs/convert.py convert "$cap" "$work/jobs" || exit 1
	cp "$cap"/{capture.tsv,fileset,client} "$cap"/client-*.txt \
		"$work"/jobs/report.* "$res/capture/"
	rm -rf "$jobs" && mkdir -p "$jobs" &&
		cp -r "$work"/jobs/{*.fio,iolog,jobs.tsv,fileset} "$jobs/" || exit 1
fi
if [ "$only" != vm ]; then
	if [ "$only" = replay ]; then
		say "host replays of $jobs (the capture stays)"
		[ -f "$out/load.tsv" ] || { say "no $out/load.tsv: run --part host"; exit 1; }
		awk -F'\t' '$2 == "the capture"' "$out/load.tsv" >"$work/load.tsv"
		rm -rf "$out" && mkdir -p "$out" && mv "$work/load.tsv" "$out/"
	fi
	for rep in $(seq "$reps"); do
		load_check "replay $rep"
		bash test/nfs/replay.sh --backend sync --out "$work/json/$rep" \
			--tsv "$res/host/replay.tsv" --tag "host-$rep" "$jobs" || status=1
	done
	mkdir -p "$res/host/json"
	for j in "$work"/json/1/*.json; do
		jq "$trim" "$j" >"$res/host/json/$(basename "$j")"
	done
fi

if [ "$only" = "" ] || [ "$only" = vm ]; then
	say "VM part: exact mode, both backends, warm and on the modelled disk"
	rm -rf "$res/vm" && mkdir -p "$res/vm"
	FHANDLE_VM_DISK_MB=${FHANDLE_VM_DISK_MB:-2048} \
	bash test/vm/run.sh --icount --timeout 5400 --out "$work/vm" \
		-c "bash test/nfs/vm-bench.sh \"\$FHANDLE_OUT\" \"$jobs\"" >"$res/vm/vm-bench.log" 2>&1 ||
		{ say "the VM part failed:"; tail -20 "$res/vm/vm-bench.log"; status=1; }
	cp "$work/vm/replay.tsv" "$work/vm/disk-reads.tsv" "$work/vm/disk.tsv" \
		"$res/vm/" 2>/dev/null
	for d in "$work"/vm/json/*/; do
		[ -d "$d" ] || continue
		mkdir -p "$res/vm/json/$(basename "$d")"
		for j in "$d"*.json; do
			jq "$trim" "$j" >"$res/vm/json/$(basename "$d")/$(basename "$j")"
		done
	done
fi

if [ "$quick" = 0 ]; then
	python3 test/nfs/summary.py "$res" --doc BENCHMARKS.md || status=1
fi
say "done in $(( $(date +%s) - t0 )) s; results in $res"
exit $status
