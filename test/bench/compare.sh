#!/usr/bin/env bash
# make compare: the benchmark matrix of BENCHMARKS.md, from scratch.
#
# 1. on the host (whose kernel lacks the io_uring opcodes): the engine's
#    sync backend against fio's floor (rawloop + fio's null engine), fio's
#    filestat and test/bench/rawloop on tmpfs and ext4, with the scale
#    steps (1,000 and 100,000 files; 1,000,000 with --1m); the load is
#    checked before the part and before every repeat (build/bench/results/
#    host/load.tsv), and a part that was not quiet says so;
# 2. in the kernel VM in exact mode (test/vm/run.sh --icount: guest time
#    is one ns per instruction): the same matrix plus the uring backend
#    at iodepth 1-64 on tmpfs, ext4 and xfs, then test/bench/exact.sh
#    (instructions per operation, their split by layer from perf, the
#    ring's NOP floor, and cold opens on a modelled disk);
# 3. test/bench/report.py: tables, plots, summary;
# 4. test/nfs/bench.sh: nfs-ganesha's handle calls captured and replayed
#    (its host half with the host part, its VM half with the VM part;
#    PART=nfs runs both halves alone), results in test/bench/results/nfs.
#
# Results: build/bench/results/{host,vm}/json/*.json (fio's JSON of every
# run), tables.md, summary.csv, *.png.  After a run (not --quick or
# --no-doc) the tables, summary and plots are copied to test/bench/results/
# and the tables of BENCHMARKS.md rewritten, from the results of both
# parts (a --part run keeps the other part's results of an earlier run).
#
# usage: test/bench/compare.sh [--1m] [--part host|vm|nfs] [--quick] [--no-doc]
#   --part host (or --host-only), --part vm (or --vm-only), --part nfs:
#   one part only
# The same as variables for make compare: FHANDLE_BENCH_1M=1,
# PART=host|vm|nfs (or FHANDLE_BENCH_ONLY), FHANDLE_BENCH_QUICK=1;
# FHANDLE_BENCH_KERNEL=BZIMAGE boots that kernel instead of kernel/build.sh's.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

big=${FHANDLE_BENCH_1M:-0} only=${PART:-${FHANDLE_BENCH_ONLY:-}}
quick=${FHANDLE_BENCH_QUICK:-0} doc=1
while [ $# -gt 0 ]; do
	case $1 in
	--1m) big=1 ;;
	--host-only) only=host ;;
	--vm-only) only=vm ;;
	--part) only=${2:-}; shift ;;
	--part=*) only=${1#*=} ;;
	--quick) quick=1 ;;
	--no-doc) doc=0 ;;
	*) sed -n '/^# usage/,/^# FHANDLE_BENCH_KERNEL/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
	shift
done

case $only in
""|host|vm|nfs) ;;
*) echo "compare: --part (PART) must be host, vm or nfs, not '$only'" >&2; exit 2 ;;
esac

say() { printf 'compare: %s\n' "$*"; }
t0=$(date +%s)

bash test/need-pkgs.sh gnuplot-nox jq bc time fio e2fsprogs dmsetup \
	linux-perf xfsprogs || exit 1
[ -f build/fhandle.so ] || { say "build/fhandle.so missing: run make"; exit 2; }
mkdir -p build/bench
make -s build/bench/rawloop || exit 1

results=$top/build/bench/results
# A part replaces its own results only: `make compare PART=host` on a
# quiet machine adds the host's tables to the VM's of an earlier run.
for part in host vm; do
	[ -z "$only" ] || [ "$only" = $part ] && rm -rf "${results:?}/$part"
done
mkdir -p "$results"
status=0

# VM runs are 0.2 s of guest time: 200 million instructions each
reps=3 runtime=1 scale="1000 100000" vm_runtime=0.2 cold=20000 vm_cold=2000
exact_args=""
[ "$big" = 1 ] && scale="$scale 1000000"
if [ "$quick" = 1 ]; then
	reps=1 scale=1000 cold=2000 vm_cold=1000
	exact_args="--ops 10000 --disk-files 256 --delays 1"
fi

# The host's ext4: a fresh one on a loop device backed by tmpfs, not the
# root disk, which other work shares and which is mounted with `discard`
# (there, removing 100,000 files took minutes).  Enough inodes for 1M.
ext4_mnt= ext4_img=
ext4_cleanup() {
	[ -n "$ext4_mnt" ] && { umount "$ext4_mnt"; rmdir "$ext4_mnt"; }
	[ -n "$ext4_img" ] && rm -f "$ext4_img"
}
trap ext4_cleanup EXIT
ext4_setup() {
	ext4_img=$(mktemp /dev/shm/fhandle-bench-ext4.XXXXXX) &&
	truncate -s 8G "$ext4_img" &&
	mkfs.ext4 -q -F -N 1200000 -E nodiscard "$ext4_img" &&
	ext4_mnt=$(mktemp -d /tmp/fhandle-bench-ext4.XXXXXX) &&
	mount -o loop "$ext4_img" "$ext4_mnt"
}

if [ -z "$only" ] || [ "$only" = host ]; then
	say "host part: $(uname -r), sync backend and peers on tmpfs and ext4"
	mkdir -p "$results/host"
	# a first look at the load: what else runs shows in every figure
	out=$results/host
	# shellcheck source=test/bench/load.sh
	. test/bench/load.sh
	progress() { say "$*"; }
	load_check "the host part"
	if ! ext4_setup; then
		say "cannot make the loop-mounted ext4"
		exit 1
	fi
	bash test/bench/matrix.sh --where host --out "$results/host" \
		--reps "$reps" --runtime "$runtime" --cold-files "$cold" \
		--scale "$scale" tmpfs=/dev/shm ext4="$ext4_mnt" || status=1
	ext4_cleanup
	ext4_mnt= ext4_img=
	if awk -F'\t' '$3 > 10 { bad = 1 } END { exit !bad }' "$results/host/load.tsv"; then
		say "WARNING: the host was not quiet during the host part (CPUs" \
			"more than 10% busy before some runs: $results/host/load.tsv);" \
			"its figures are not the quiet machine's"
	fi
fi

if [ -z "$only" ] || [ "$only" = vm ]; then
	say "VM part, exact mode (icount: one ns per instruction): the matrix" \
		"on tmpfs, ext4 and xfs, then test/bench/exact.sh"
	mkdir -p "$results/vm"
	# three VMs, each from a fresh boot: the matrix, exact.sh's warm
	# cells, its modelled disk (the committed figures came from the same)
	fscmd="fs=(); for d in \$FHANDLE_SCRATCH; do fs+=(\"\$(basename \$d)=\$d\"); done;"
	vmcmds=(
		"$fscmd bash test/bench/matrix.sh --where vm --out \"\$FHANDLE_OUT\" --backends 'sync uring' --reps 1 --runtime $vm_runtime --filestat-loops 10 --cold-files $vm_cold --sections 'peers qd depth abspath cold' \"\${fs[@]}\""
		"bash test/bench/exact.sh --out \"\$FHANDLE_OUT/exact\" --sections warm $exact_args"
		"bash test/bench/exact.sh --out \"\$FHANDLE_OUT/exact\" --sections disk $exact_args"
	)
	kernel=()
	[ -n "${FHANDLE_BENCH_KERNEL:-}" ] && kernel=(--kernel "$FHANDLE_BENCH_KERNEL")
	for vmcmd in "${vmcmds[@]}"; do
		FHANDLE_VM_DISK_MB=${FHANDLE_VM_DISK_MB:-2048} \
		bash test/vm/run.sh --icount "${kernel[@]}" --timeout 5400 \
			--out "$results/vm" -c "$vmcmd" ||
			{ say "VM part failed: $vmcmd"; status=1; }
	done
fi

nfs_args=()
[ "$only" = host ] || [ "$only" = vm ] && nfs_args+=(--part "$only")
[ "$quick" = 1 ] && nfs_args+=(--quick)
say "NFS part: test/nfs/bench.sh ${nfs_args[*]}"
bash test/nfs/bench.sh "${nfs_args[@]}" || status=1
if [ "$only" = nfs ]; then
	say "done in $(( $(date +%s) - t0 )) s"
	exit $status
fi

say "report"
args=("$results")
# Every run but a quick one replaces the committed tables, plots and
# summary, from what build/bench/results holds: this part's new results
# and the other part's from an earlier run.
if [ "$quick" = 1 ]; then
	doc=0
	say "a quick run: test/bench/results and BENCHMARKS.md stay as they are"
elif [ "$doc" = 1 ] && { [ ! -s "$results/vm/cases.tsv" ] ||
			[ ! -s "$results/vm/exact/cases.tsv" ]; }; then
	# the committed VM tables would be emptied
	doc=0
	say "no VM results in $results/vm (make compare PART=vm makes them):" \
		"test/bench/results and BENCHMARKS.md stay as they are"
fi
[ "$doc" = 1 ] && args+=(--copy "$top/test/bench/results")
[ "$doc" = 1 ] && [ -f BENCHMARKS.md ] && args+=(--doc "$top/BENCHMARKS.md")
/usr/bin/python3 test/bench/report.py "${args[@]}" || status=1
say "done in $(( $(date +%s) - t0 )) s; results in $results," \
	"tables in $results/tables.md"
exit $status
