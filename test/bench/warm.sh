#!/usr/bin/env bash
# The warm cost of each operation, inside the kernel VM in exact mode
# (test/vm/run.sh --icount: one ns of guest time per instruction), where
# nothing waits: instructions per operation, to about one instruction.
#
#   raw    test/bench/rawloop, a million operations a cell: encode, open by
#          handle + close, openat + close as syscalls and through the ring
#          at depth 1 and 16, and IORING_OP_NOP (the ring's floor): the
#          ring's own cost, without fio; and encode and openat by their
#          full name, 8 directories deep from the cwd (rawloop -F): what
#          a path component costs
#   fio    the engine, sync and uring at iodepth 1 and 16: each cell at
#          two lengths, whose difference is the cost of an operation
#          without fio's fixed start and end inside its timed phase
#   perf   open by handle + close at depth 16 (rawloop and the engine,
#          sync and ring) under perf (cpu-clock, one sample per PERIOD
#          instructions): where the instructions go, layer by layer
#
# Every cell runs REPS times (default 2): the spread is measured, not
# assumed.  Lines go to OUT/cells.jsonl (rawloop's JSON, or the fields of
# fio's JSON the report reads), perf reports to OUT/perf/ID.txt.
#
# usage: warm.sh --out DIR [--sections "raw fio perf"] [--ops N]
#                [--fio-ops N] [--reps N] [--period N]
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SO=$top/build/fhandle.so
RAW=$top/build/bench/rawloop

out= sections="raw fio perf" ops=1000000 fio_ops=100000 reps=2 period=20000
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2-} ;;
	--sections) sections=${2-} ;;
	--ops) ops=${2-} ;;
	--fio-ops) fio_ops=${2-} ;;
	--reps) reps=${2-} ;;
	--period) period=${2-} ;;
	*) sed -n '/^# usage/,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	   exit 2 ;;
	esac
	[ $# -ge 2 ] || { echo "warm.sh: $1 needs a value" >&2; exit 2; }
	shift 2
done
[ -n "$out" ] || { echo "warm.sh: --out DIR is needed" >&2; exit 2; }
for f in "$SO" "$RAW"; do
	[ -f "$f" ] || { echo "warm.sh: $f is not built (make)" >&2; exit 2; }
done
mkdir -p "$out/perf" && out=$(cd "$out" && pwd)
[ "${FHANDLE_VM_ICOUNT:-0}" = 1 ] ||
	echo "warm.sh: not in exact mode (test/vm/run.sh --icount): the" \
		"figures are times, not instruction counts" >&2
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
start=$(date +%s)
say() {
	local s=$(( $(date +%s) - start ))
	printf 'warm[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}
nfail=0

# The set: 1,000 files on the guest's tmpfs, 8 directories below the
# cwd, named from an fd on their directory (fh_resolve=parent and
# rawloop's default) or by their name from the cwd (-F)
top_set=$(mktemp -d /mnt/tmpfs/warm.XXXXXX) || exit 1
trap 'rm -rf "$top_set"' EXIT
deep=a/b/c/d/e/f/g/h
set=$top_set/$deep
mkdir -p "$set" || exit 1
for i in $(seq 0 999); do head -c 4096 /dev/zero >"$set/f.$i"; done
cd "$top_set" || exit 1

# shellcheck source=test/bench/record.sh
. "$top/test/bench/record.sh"

fio_cmd() {	# OP BACKEND QD N
	local op=$1 be=$2 qd=$3 n=$4 depth=()
	[ "$be" = uring ] && depth=(--iodepth="$qd"
		--iodepth_batch_submit="$(( qd >= 4 ? qd / 4 : 1 ))"
		--iodepth_batch_complete_min=1)
	echo fio --thread --name=w --opendir="$set" --bs=4k --rw=randread \
		--file_service_type=random --norandommap --number_ios="$n" \
		--io_size=$((n * 4))k --percentile_list=50:99 \
		--output-format=json --ioengine=external:"$SO" \
		--fh_backend="$be" --fh_read_op="$op" "${depth[@]}"
}

raw_cells() {	# lines: OP RING DEPTH NAMES
	local op
	for op in encode open openat; do
		echo "$op 0 1 parent"
		echo "$op 1 1 parent"
		echo "$op 1 16 parent"
	done
	echo "nop 1 1 parent"
	echo "nop 1 16 parent"
	echo "encode 0 1 full"
	echo "openat 0 1 full"
}

sec_raw() {
	local op ring d names rep r
	for rep in $(seq 1 "$reps"); do
		while read -r op ring d names; do
			r=()
			[ "$ring" = 1 ] && r=(-r -q "$d")
			[ "$names" = full ] && r+=(-F)
			record section=raw op="$op" ring="$ring" depth="$d" \
				rep="$rep" -- "$RAW" -o "$op" "${r[@]}" -u \
				-n "$ops" "$deep" 1000
		done <<<"$(raw_cells)"
	done
}

sec_fio() {
	local op be qd rep n
	for rep in $(seq 1 "$reps"); do
		for op in encode open openat; do
			for be in "sync 1" "uring 1" "uring 16"; do
				read -r be qd <<<"$be"
				for n in "$fio_ops" $((2 * fio_ops)); do
					# shellcheck disable=SC2046
					JQ=$FIO_FIELDS record section=fio op="$op" \
						backend="$be" depth="$qd" n="$n" \
						rep="$rep" -- $(fio_cmd "$op" "$be" "$qd" "$n")
				done
			done
		done
	done
}

# perf ID CMD...: CMD under perf record (every CPU: io-wq workers and
# kworkers count too), then the flat profile by binary and symbol, and
# CMD's JSON line
perf_cell() {
	local id=$1
	shift
	perf record -q -e cpu-clock -c "$period" -a -o "/tmp/$id.data" \
		-- "$@" || return 1
	perf report -i "/tmp/$id.data" --stdio --no-children -g none \
		--sort dso,sym --percent-limit 0.05 >"$out/perf/$id.txt" 2>/dev/null
	rm -f "/tmp/$id.data"
}

sec_perf() {
	local rep
	command -v perf >/dev/null || { say "no perf: no profiles"; nfail=$((nfail + 1)); return; }
	for rep in $(seq 1 "$reps"); do
		record section=perf tool=rawloop variant=sync rep="$rep" -- \
			perf_cell "raw-sync-r$rep" "$RAW" -o open -u -n "$ops" "$deep" 1000
		record section=perf tool=rawloop variant=ring16 rep="$rep" -- \
			perf_cell "raw-ring16-r$rep" "$RAW" -o open -r -q 16 -u \
			-n "$ops" "$deep" 1000
		# shellcheck disable=SC2046
		JQ=$FIO_FIELDS record section=perf tool=fio variant=sync \
			rep="$rep" -- perf_cell "fio-sync-r$rep" \
			$(fio_cmd open sync 1 $((2 * fio_ops)))
		# shellcheck disable=SC2046
		JQ=$FIO_FIELDS record section=perf tool=fio variant=ring16 \
			rep="$rep" -- perf_cell "fio-ring16-r$rep" \
			$(fio_cmd open uring 16 $((2 * fio_ops)))
	done
}

say "start: $(uname -r), icount=${FHANDLE_VM_ICOUNT:-0}, sections: $sections"
has "$sections" raw && sec_raw
has "$sections" fio && sec_fio
has "$sections" perf && sec_perf
say "done, $nfail failed"
[ "$nfail" = 0 ]
