#!/usr/bin/env bash
# One machine's share of `make compare`: fio with the fhandle engine, fio's
# filestat engine and test/bench/rawloop over the same file sets, on each
# file system given.  Writes each run's output (fio's JSON, or rawloop's
# line of JSON) to OUT/json/ID.json and one line per run to OUT/cases.tsv;
# test/bench/report.py turns them into tables and plots.  compare.sh runs
# it on the host (sync backend) and in the kernel VM (both backends).
#
# usage: matrix.sh --where NAME --out DIR [--backends "sync uring"]
#                  [--runtime SECONDS] [--reps N] [--cold-files N]
#                  [--filestat-loops N] [--scale "1000 100000"]
#                  [--sections "floor peers qd depth abspath cold scale"]
#                  FS=DIR...
#
#   FS=DIR   a file system's name and a directory on it for the file sets,
#            e.g. tmpfs=/dev/shm ext4=/var/tmp (a temporary folder is made
#            in DIR and removed after)
#
# Every run works in that temporary folder and names its files by paths
# relative to it (directory=a, a/b/c/d/e/f/g/h): a path walk that starts
# at / would cross the root file system first, which in the VM is 9p,
# whose dentries need revalidation, so io_uring's cached (inline) lookup
# fails and every path operation goes to io-wq.  The abspath section
# measures that difference with absolute paths.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SO=$top/build/fhandle.so
RAW=$top/build/bench/rawloop

where=host out= backends=sync runtime=1 reps=3 cold_files=20000
filestat_loops=100 scale="1000 100000"
sections="floor peers qd depth abspath cold scale"
filesystems=()
while [ $# -gt 0 ]; do
	case $1 in
	--where) where=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--backends) backends=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--cold-files) cold_files=$2; shift 2 ;;
	--filestat-loops) filestat_loops=$2; shift 2 ;;
	--scale) scale=$2; shift 2 ;;
	--sections) sections=$2; shift 2 ;;
	*=*) filesystems+=("$1"); shift ;;
	*) echo "matrix.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] && [ ${#filesystems[@]} -gt 0 ] ||
	{ sed -n '9,18s/^# \{0,1\}//p' "$0" >&2; exit 2; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
for f in "$SO" "$RAW"; do
	[ -x "$f" ] || [ -f "$f" ] ||
		{ echo "matrix.sh: $f is not built (make compare builds it)" >&2; exit 2; }
done
mkdir -p "$out/json"
cases=$out/cases.tsv
[ -f "$cases" ] ||
	printf 'id\twhere\tfs\tsection\ttool\top\tvariant\tqd\tdepth\tcache\tnrfiles\trep\textra\n' >"$cases"
start=$(date +%s)
nrun=0 nfail=0

has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

progress() {
	local s=$(( $(date +%s) - start ))
	printf 'bench[%s %02d:%02d] %s\n' "$where" $((s / 60)) $((s % 60)) "$*"
}

# shellcheck source=test/bench/load.sh
. "$top/test/bench/load.sh"
# shellcheck source=test/bench/run-json.sh
. "$top/test/bench/run-json.sh"

# The one-line summary of a result file, for the progress line (one line
# per job of a fio run); fails if the file is no JSON of a result.  One jq
# per run: under TCG each start of jq costs a good part of a second.
summary() {
	jq -er 'if .tool == "rawloop" then
		"\(.ops_per_sec | floor) ops/s, p50 \(.p50_ns) ns"
	else .jobs[] | .read as $r |
		"\($r.iops | floor) ops/s, p50 \(($r.lat_ns.percentile // $r.clat_ns.percentile)["50.000000"]) ns"
	end' "$1" 2>/dev/null
}

# record ID FS SECTION TOOL OP VARIANT QD DEPTH CACHE NRFILES REP EXTRA
record() {
	local id=$1
	shift
	local IFS=$'\t'
	printf '%s\t%s\t%s\n' "$id" "$where" "$*" >>"$cases"
}

# run_case KIND ID FS SECTION TOOL OP VARIANT QD DEPTH CACHE NRFILES REP -- CMD...
# Runs CMD with its stdout in OUT/json/ID.json and records it.
run_case() {
	local id=$1 rc sum
	shift
	local meta=("${@:1:10}")
	shift 10
	[ "$1" = -- ] && shift
	bench_json "$id" "$@"
	rc=$?
	if [ $rc != 0 ] || ! sum=$(summary "$out/json/$id.json"); then
		bench_failed "$id" "$rc" "${meta[*]:0:9}"
		return 1
	fi
	[ "${meta[5]}" = sweep ] ||
		record "$id" "${meta[@]}" ""
	progress "${meta[0]} ${meta[1]} ${meta[2]}/${meta[4]} ${meta[3]}" \
		"qd${meta[5]} depth${meta[6]} ${meta[7]}:" $sum
}

FIO_COMMON=(--thread --filesize=4k --bs=4k --rw=randread
	--file_service_type=random --filename_format='f.$filenum'
	--lat_percentiles=1 --percentile_list=50:99:99.9
	--output-format=json)

# fio's own layout of NRFILES files of SIZE in DIR (the same files for
# every tool: fio then finds them with the right size and keeps them)
layout() {
	local dir=$1 n=$2 size=${3:-4k}
	shift 3
	mkdir -p "$dir"
	fio "$@" --name=layout --thread --ioengine=sync --directory="$dir" \
		--nrfiles="$n" --filesize="$size" --bs="$size" --rw=write \
		--create_only=1 --create_serialize=1 \
		--filename_format='f.$filenum' >/dev/null 2>&1
}

# The fio arguments of an fhandle variant: sync, uring, uring+fixed,
# uring+async, uring+fixed+async.
fh_args() {
	local variant=$1 op=$2 qd=$3 batch
	batch=$((qd / 4))
	[ $batch -ge 1 ] || batch=1
	echo "--ioengine=external:$SO --fh_read_op=$op"
	case $variant in
	sync) echo "--fh_backend=sync" ;;
	uring*) echo "--fh_backend=uring --iodepth=$qd" \
		"--iodepth_batch_submit=$batch --iodepth_batch_complete_min=1" ;;
	esac
	has "${variant//+/ }" fixed && echo "--fh_fixedfiles=1"
	has "${variant//+/ }" async && echo "--fh_force_async=1"
	return 0
}

# fh FS SECTION OP VARIANT QD DEPTH CACHE NRFILES REP DIR [FIO ARG...]
fh() {
	local fs=$1 sec=$2 op=$3 var=$4 qd=$5 depth=$6 cache=$7 n=$8 rep=$9
	local dir=${10} id
	shift 10
	id=$fs-$sec-fhandle-$var-$op-qd$qd-d$depth-$cache-n$n-r$rep
	id=${id//+/_}
	# shellcheck disable=SC2046
	run_case "$id" "$fs" "$sec" fhandle "$op" "$var" "$qd" "$depth" \
		"$cache" "$n" "$rep" -- fio --name="$id" --directory="$dir" \
		--nrfiles="$n" "${FIO_COMMON[@]}" $(fh_args "$var" "$op" "$qd") "$@"
}

# raw FS SECTION OP DEPTH CACHE NRFILES REP DIR [RAWLOOP ARG...]
raw() {
	local fs=$1 sec=$2 op=$3 depth=$4 cache=$5 n=$6 rep=$7 dir=$8 id
	shift 8
	id=$fs-$sec-rawloop-$op-d$depth-$cache-n$n-r$rep
	run_case "$id" "$fs" "$sec" rawloop "$op" raw 1 "$depth" "$cache" \
		"$n" "$rep" -- "$RAW" -o "$op" "$@" "$dir" "$n"
}

# filestat FS SECTION STAT_TYPE DEPTH NRFILES REP DIR: every file stat-ed
# once per loop (filestat stats in its open_file hook, once per file open)
filestat() {
	local fs=$1 sec=$2 type=$3 depth=$4 n=$5 rep=$6 dir=$7 id
	id=$fs-$sec-filestat-$type-d$depth-warm-n$n-r$rep
	run_case "$id" "$fs" "$sec" filestat "$type" "$type" 1 "$depth" warm \
		"$n" "$rep" -- fio --name="$id" --directory="$dir" \
		--nrfiles="$n" "${FIO_COMMON[@]}" --ioengine=filestat \
		--stat_type="$type" --loops="$filestat_loops"
}

# fio's runtime is whole seconds unless a unit is given: in ms, so that
# the VM can run 0.2 s
timed=(--time_based --runtime="$(awk -v s="$runtime" 'BEGIN { print int(s * 1000) }')ms")
uring=0
has "$backends" uring && uring=1

# ---------------------------------------------------------------- floor
# The host target: the sync backend against fio's own floor, 1 / (t_raw +
# t_null), t_raw the bare loop's time per operation (rawloop: the very
# paths fio gives the engine, a/f.N) and t_null fio's null engine's on the
# same file set, all with norandommap; each repeat runs the three of every
# operation back to back, after a look at the load.
sec_floor() {
	local fs=$1 d=$2 rep op nr=(--norandommap)
	for rep in $(seq 1 "$reps"); do
		load_check "$fs floor repeat $rep"
		for op in encode open openat; do
			fh "$fs" floor "$op" sync 1 1 warm 1000 "$rep" "$d" \
				"${timed[@]}" "${nr[@]}"
			raw "$fs" floor "$op" 1 warm 1000 "$rep" "$d" -t "$runtime"
			run_case "$fs-floor-null-$op-r$rep" "$fs" floor null "$op" \
				null 1 1 warm 1000 "$rep" -- fio --name=null-$op \
				--directory="$d" --nrfiles=1000 "${FIO_COMMON[@]}" \
				--ioengine=null "${timed[@]}" "${nr[@]}"
		done
	done
}

# ---------------------------------------------------------------- peers
# iodepth 1, 1000 files one directory deep, warm: the engine's sync
# backend, fio's filestat, and the bare loop, each REPS times interleaved.
sec_peers() {
	local fs=$1 d=$2 rep op
	for rep in $(seq 1 "$reps"); do
		load_check "$fs peers repeat $rep"
		for op in encode open openat; do
			fh "$fs" peers "$op" sync 1 1 warm 1000 "$rep" "$d" "${timed[@]}"
			raw "$fs" peers "$op" 1 warm 1000 "$rep" "$d" -t "$runtime"
		done
		filestat "$fs" peers stat 1 1000 "$rep" "$d"
		filestat "$fs" peers statx 1 1000 "$rep" "$d"
	done
}

# ---------------------------------------------------------------- qd
# The uring backend at iodepth 1, 4, 16, 64, plain, with fixed files,
# with IOSQE_ASYNC forced, and both.  The four iodepths of a variant are
# four jobs of one fio run (stonewalled: one after the other), which
# saves three fio start-ups: under TCG each costs seconds.
fh_qd_sweep() {
	local fs=$1 op=$2 var=$3 d=$4 qd batch id ids=() jobs=() i
	for qd in 1 4 16 64; do
		id=$fs-qd-fhandle-$var-$op-qd$qd-d1-warm-n1000-r1
		id=${id//+/_}
		batch=$((qd / 4))
		[ $batch -ge 1 ] || batch=1
		ids+=("$id")
		jobs+=(--name="$id" --iodepth=$qd --iodepth_batch_submit=$batch
		       --iodepth_batch_complete_min=1 --stonewall)
	done
	# shellcheck disable=SC2046
	if ! run_case "$fs-qd-fhandle-${var//+/_}-$op-sweep" "$fs" qd fhandle "$op" \
		"$var" sweep 1 warm 1000 1 -- fio --directory="$d" \
		--nrfiles=1000 "${FIO_COMMON[@]}" $(fh_args "$var" "$op" 1) \
		"${timed[@]}" "${jobs[@]}"; then
		return 1
	fi
	# a line per iodepth: job I of the sweep's JSON (report.py reads it)
	i=0
	for qd in 1 4 16 64; do
		record "${ids[$i]}" "$fs" qd fhandle "$op" "$var" "$qd" 1 warm \
			1000 1 "$fs-qd-fhandle-${var//+/_}-$op-sweep:$i"
		i=$((i + 1))
	done
}

sec_qd() {
	local fs=$1 d=$2 op var vars
	for op in encode open openat; do
		case $op in
		open) vars="uring uring+fixed uring+async uring+fixed+async" ;;
		openat) vars="uring uring+fixed" ;;
		*) vars="uring uring+async" ;;
		esac
		for var in $vars; do
			fh_qd_sweep "$fs" "$op" "$var" "$d"
		done
	done
}

# ---------------------------------------------------------------- depth
# The same at directory depth 8 (depth 1 is in peers and qd).
sec_depth() {
	local fs=$1 d8=$2 op
	for op in encode open openat; do
		fh "$fs" depth "$op" sync 1 8 warm 1000 1 "$d8" "${timed[@]}"
		raw "$fs" depth "$op" 8 warm 1000 1 "$d8" -t "$runtime"
		[ $uring = 1 ] &&
			fh "$fs" depth "$op" uring 16 8 warm 1000 1 "$d8" "${timed[@]}"
	done
	return 0
}

# ---------------------------------------------------------------- abspath
# Depth 1 again, by absolute path ($PWD/a/f.N instead of a/f.N).
sec_abspath() {
	local fs=$1 dabs=$2 op
	for op in encode open openat; do
		fh "$fs" abspath "$op" sync 1 1 warm 1000 1 "$dabs" "${timed[@]}"
		[ $uring = 1 ] &&
			fh "$fs" abspath "$op" uring 16 1 warm 1000 1 "$dabs" "${timed[@]}"
	done
	return 0
}

# ---------------------------------------------------------------- cold
# Each of COLD_FILES files opened once, in a random order, with warm
# caches and after dropping dentries and inodes (fh_cold_cache=1, or
# rawloop -c: echo 2 > drop_caches).
sec_cold() {
	local fs=$1 dc=$2 n=$cold_files op cache flag rflag
	for op in open openat; do
		for cache in warm cold; do
			flag=() rflag=()
			[ $cache = cold ] && flag=(--fh_cold_cache=1) rflag=(-c)
			fh "$fs" cold "$op" sync 1 1 "$cache" "$n" 1 "$dc" "${flag[@]}"
			raw "$fs" cold "$op" 1 "$cache" "$n" 1 "$dc" -u -n "$n" "${rflag[@]}"
			[ $uring = 1 ] &&
				fh "$fs" cold "$op" uring 16 1 "$cache" "$n" 1 "$dc" "${flag[@]}"
		done
	done
	return 0
}

# ---------------------------------------------------------------- scale
# Per number of files: fio's layout time, fio's set-up with the engine
# (which encodes every handle) and with the null engine, maximum RSS of
# both (one process: --thread), the bare encode of every file, and ops/s.
now() { date +%s.%N; }

# timed_fio JSON_OUT MAXRSS_OUT FIO ARGS...: fio under /usr/bin/time
timed_fio() {
	local json=$1 rssf=$2
	shift 2
	/usr/bin/time -f '%M' -o "$rssf" fio "$@" --output-format=json \
		--output="$json.raw" >/dev/null 2>"$json.err"
}

sec_scale() {
	local fs=$1 n dir t0 t1 t1l t2 t3 id j common rss_fh rss_null big r
	local best_fh best_null
	for n in $scale; do
		dir=s$n
		# fio keeps its per-file state in its smalloc pools, too small
		# for 1,000,000 files by default: 1 KiB a file more
		big=()
		[ "$n" -gt 50000 ] && big=(--alloc-size=$n)
		id=$fs-scale-n$n
		j=$out/json/$id
		progress "$fs scale $n files: laying out"
		t0=$(now)
		if ! layout "$dir" "$n" 512 "${big[@]}"; then
			progress "FAILED $fs scale layout of $n files"
			nfail=$((nfail + 1))
			continue
		fi
		t1l=$(now)
		common=("${big[@]}" --name="$id" --thread --directory="$dir" --nrfiles="$n"
			--filesize=512 --bs=512 --rw=randread --norandommap
			--file_service_type=random --filename_format='f.$filenum'
			--number_ios=1)
		# twice each, alternating; the shorter time of each counts (the
		# host is shared: a pause only ever adds)
		best_fh=1e9 best_null=1e9
		for r in 1 2; do
			t1=$(now)
			timed_fio "$j-setup-fhandle.json" "$j-rss-fhandle" \
				"${common[@]}" --ioengine=external:"$SO" \
				--fh_backend=sync --fh_read_op=open
			t2=$(now)
			timed_fio "$j-setup-null.json" "$j-rss-null" \
				"${common[@]}" --ioengine=null
			t3=$(now)
			best_fh=$(awk -v a="$best_fh" -v b="$(echo "$t2 - $t1" | bc)" 'BEGIN { print (b < a ? b : a) }')
			best_null=$(awk -v a="$best_null" -v b="$(echo "$t3 - $t2" | bc)" 'BEGIN { print (b < a ? b : a) }')
		done
		raw "$fs" scale encode 1 warm "$n" 1 "$dir" -s -n "$n"
		rss_fh=$(tail -n 1 "$j-rss-fhandle") rss_null=$(tail -n 1 "$j-rss-null")
		jq -n --argjson n "$n" --arg fs "$fs" \
			--argjson layout "$(echo "$t1l - $t0" | bc)" \
			--argjson setup_fhandle "$best_fh" \
			--argjson setup_null "$best_null" \
			--argjson rss_fhandle_kib "${rss_fh:-0}" \
			--argjson rss_null_kib "${rss_null:-0}" \
			'{tool: "scale", fs: $fs, files: $n, layout_s: $layout,
			  setup_fhandle_s: $setup_fhandle, setup_null_s: $setup_null,
			  rss_fhandle_kib: $rss_fhandle_kib, rss_null_kib: $rss_null_kib}' \
			>"$j.json"
		rm -f "$j"-setup-*.raw "$j"-rss-*
		record "$id" "$fs" scale scale setup - 1 1 warm "$n" 1 ""
		progress "$fs scale $n files: layout $(jq .layout_s "$j.json") s," \
			"fio+engine set-up $(jq .setup_fhandle_s "$j.json") s," \
			"fio+null $(jq .setup_null_s "$j.json") s," \
			"max RSS $rss_fh KiB vs $rss_null KiB"
		fh "$fs" scale open sync 1 1 warm "$n" 1 "$dir" "${timed[@]}" \
			--filesize=512 --bs=512 --norandommap "${big[@]}"
		raw "$fs" scale open 1 warm "$n" 1 "$dir" -t "$runtime"
		progress "$fs scale $n files: removing"
		rm -rf "$dir"
	done
}

cleanup_dirs=()
trap 'rm -rf "${cleanup_dirs[@]}"' EXIT
trap 'exit 130' INT TERM

progress "start: $(uname -r), backends: $backends, runtime ${runtime}s," \
	"file systems: ${filesystems[*]}, sections: $sections"
for spec in "${filesystems[@]}"; do
	fs=${spec%%=*}
	root=${spec#*=}
	base=$(mktemp -d "$root/fhbench.XXXXXX") ||
		{ echo "matrix.sh: cannot make a folder in $root" >&2; exit 1; }
	cleanup_dirs+=("$base")
	cd "$base" || exit 1
	d1=a
	d8=a/b/c/d/e/f/g/h
	progress "$fs: laying out 1000 files in $d1 and $d8"
	layout "$d1" 1000 4k && layout "$d8" 1000 4k ||
		{ echo "matrix.sh: fio's layout failed in $base" >&2; exit 1; }
	has "$sections" floor && sec_floor "$fs" "$d1"
	has "$sections" peers && sec_peers "$fs" "$d1"
	has "$sections" qd && [ $uring = 1 ] && sec_qd "$fs" "$d1"
	has "$sections" depth && sec_depth "$fs" "$d8"
	has "$sections" abspath && sec_abspath "$fs" "$base/$d1"
	if has "$sections" cold; then
		progress "$fs: laying out $cold_files files for the cold runs"
		layout cold "$cold_files" 4k && sec_cold "$fs" cold
	fi
	has "$sections" scale && sec_scale "$fs"
	cd "$top" || exit 1
	rm -rf "$base"
done
progress "done: $nrun runs, $nfail failed"
[ $nfail = 0 ]
