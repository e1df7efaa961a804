#!/usr/bin/env bash
# make compare: every figure of BENCHMARKS.md, from scratch.
#
#   host  test/bench/host.sh on this machine's kernel (no opcodes): the
#         engine's sync backend against fio's floor, 10 interleaved
#         repeats, on tmpfs and on an ext4 of its own; the load is looked
#         at before each repeat
#   vm    in the kernel VM in exact mode (test/vm/run.sh --icount: one
#         vCPU, one ns of guest time per instruction), one boot each:
#         test/bench/warm.sh (the warm cost of each operation, with and
#         without fio, and where it goes), test/bench/breakeven.sh on
#         ext4 (and a part on xfs, and on a shallow queue); then the key
#         thread-against-ring cells on 2 vCPUs without icount (ratios
#         within one run, 3 repeats)
#   nfs   test/nfs/bench.sh: nfs-ganesha's handle calls, captured and
#         replayed
#
# Each part writes build/bench/results/PART/ and, unless --quick, replaces
# test/bench/results/PART/ (the raw results, one line of JSON a run) with
# it; then test/bench/report.py draws the plots and rewrites BENCHMARKS.md
# from every part's committed results.
#
# usage: test/bench/compare.sh [--part host|vm|nfs] [--quick]
# As variables of make compare: PART=host|vm|nfs, FHANDLE_BENCH_QUICK=1;
# FHANDLE_BENCH_KERNEL=BZIMAGE boots that kernel instead of kernel/build.sh's.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

only=${PART:-} quick=${FHANDLE_BENCH_QUICK:-0}
while [ $# -gt 0 ]; do
	case $1 in
	--part) only=${2:-}; shift ;;
	--part=*) only=${1#*=} ;;
	--quick) quick=1 ;;
	*) sed -n '/^# usage/,/^# FHANDLE_BENCH_KERNEL/s/^# \{0,1\}//p' "$0" >&2
	   exit 2 ;;
	esac
	shift
done
case $only in
""|host|vm|nfs) ;;
*) echo "compare: --part (PART) must be host, vm or nfs, not '$only'" >&2
   exit 2 ;;
esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

say() { printf 'compare: %s\n' "$*"; }
t0=$(date +%s)
bash test/need-pkgs.sh gnuplot-nox jq fio e2fsprogs xfsprogs linux-perf \
	python3 || exit 1
make -s all || exit 1
results=$top/build/bench/results
status=0

# The host's ext4: on a loop device backed by tmpfs, not the root disk
# that other work shares
ext4_mnt= ext4_img=
ext4_cleanup() {
	[ -n "$ext4_mnt" ] && { umount "$ext4_mnt"; rmdir "$ext4_mnt"; }
	[ -n "$ext4_img" ] && rm -f "$ext4_img"
	ext4_mnt= ext4_img=
}
trap ext4_cleanup EXIT

part_host() {
	local reps=10 runtime=1
	[ "$quick" = 1 ] && reps=2 runtime=0.2
	ext4_img=$(mktemp /dev/shm/fhandle-bench-ext4.XXXXXX) &&
		truncate -s 1G "$ext4_img" &&
		mkfs.ext4 -q -F -E nodiscard "$ext4_img" &&
		ext4_mnt=$(mktemp -d /tmp/fhandle-bench-ext4.XXXXXX) &&
		mount -o loop "$ext4_img" "$ext4_mnt" ||
		{ say "cannot make the loop-mounted ext4"; return 1; }
	bash test/bench/host.sh --out "$results/host" --reps "$reps" \
		--runtime "$runtime" tmpfs=/dev/shm ext4="$ext4_mnt"
	local rc=$?
	ext4_cleanup
	if awk -F'\t' '$3 > 10 { bad = 1 } END { exit !bad }' "$results/host/load.tsv"; then
		say "WARNING: the host was not quiet (CPUs more than 10% busy" \
			"before some repeats: $results/host/load.tsv)"
	fi
	return $rc
}

# vm_run OUT ARGS... -- CMD: one VM boot
vm_run() {
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	[ -n "${FHANDLE_BENCH_KERNEL:-}" ] && args+=(--kernel "$FHANDLE_BENCH_KERNEL")
	FHANDLE_VM_MEM=${FHANDLE_VM_MEM:-3072} bash test/vm/run.sh \
		--timeout 14400 --out "$results/vm" "${args[@]}" -c "$1" ||
		{ say "VM part failed: $1"; return 1; }
}

part_vm() {
	local be=test/bench/breakeven.sh sweep rc=0
	local full="--files 1024 --stride 32 --reps 2"
	local smp="--files 1024 --stride 32 --reps 3"
	[ "$quick" = 1 ] &&
		full="--files 256 --stride 32 --reps 1 --lat-us '100 1000' --miss '0 0.5 1' --ring '1 16' --pool '1 16'" \
		smp="--files 256 --stride 32 --reps 1"
	vm_run --icount -- "bash test/bench/warm.sh --out \"\$FHANDLE_OUT/warm\" $([ "$quick" = 1 ] && echo '--ops 20000 --fio-ops 5000 --reps 1')" || rc=1
	sweep="bash $be --out \"\$FHANDLE_OUT/breakeven\" --fs ext4 --iowq 64,64 $full &&
		bash $be --out \"\$FHANDLE_OUT/breakeven\" --fs xfs --ops open --lat-us '100 1000' --miss '0 0.1 1' $full &&
		bash $be --out \"\$FHANDLE_OUT/breakeven\" --fs ext4 --qcap 4 --lat-us '1000 5000' --miss '0.1 1' --ops open --tag shallow $full"
	vm_run --icount -- "$sweep" || rc=1
	FHANDLE_VM_SMP=2 vm_run -- "bash $be --out \"\$FHANDLE_OUT/smp2\" --fs ext4 --lat-us '100 1000' --miss 1 --ops 'open encode' --ring '16 64' --pool '1 16 64' --tag smp2 $smp" || rc=1
	return $rc
}

for part in host vm nfs; do
	want "$part" || continue
	rm -rf "${results:?}/$part"
	mkdir -p "$results/$part"
	say "$part part"
	case $part in
	host) part_host || status=1 ;;
	vm) part_vm || status=1 ;;
	# test/nfs/bench.sh replaces test/bench/results/nfs itself
	nfs) bash test/nfs/bench.sh $([ "$quick" = 1 ] && echo --quick) ||
		status=1
	     continue ;;
	esac
	if [ "$quick" = 1 ]; then
		say "a quick run: test/bench/results and BENCHMARKS.md stay as they are"
	elif [ $status = 0 ]; then
		rm -rf "test/bench/results/$part"
		cp -r "$results/$part" "test/bench/results/$part"
		find "test/bench/results/$part" -name last.err -delete
	fi
done

if [ "$quick" != 1 ] && [ $status = 0 ]; then
	say "report"
	python3 test/bench/report.py --plots || status=1
fi
say "done in $(( $(date +%s) - t0 )) s"
exit $status
