#!/usr/bin/env bash
# The host's share of `make compare`: the engine's sync backend against
# fio's own floor, on the host's kernel (which lacks the opcodes).  The
# floor of an operation is 1 / (t_raw + t_null): t_raw the time of the
# operation with nothing around it (test/bench/rawloop), t_null the time
# fio's null engine takes per operation on the same file set (fio's own
# cost).  Each repeat runs the three of every operation and filesystem
# back to back, after a look at the load, so that the ratio of a repeat
# compares runs seconds apart; the report takes the median of the ratios
# and its confidence interval.
#
# Lines go to OUT/cells.jsonl (rawloop's JSON, or the fields of fio's),
# the load seen before each repeat to OUT/load.tsv.
#
# usage: host.sh --out DIR [--reps N] [--runtime SECONDS] FS=DIR...
#   FS=DIR   a filesystem's name and a directory on it (a folder is made
#            there and removed after), e.g. tmpfs=/dev/shm
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SO=$top/build/fhandle.so
RAW=$top/build/bench/rawloop

out= reps=10 runtime=1 filesystems=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	*=*) filesystems+=("$1"); shift ;;
	*) sed -n '/^# usage/,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	   exit 2 ;;
	esac
done
[ -n "$out" ] && [ ${#filesystems[@]} -gt 0 ] ||
	{ echo "host.sh: --out DIR and FS=DIR are needed" >&2; exit 2; }
for f in "$SO" "$RAW"; do
	[ -f "$f" ] || { echo "host.sh: $f is not built (make)" >&2; exit 2; }
done
mkdir -p "$out" && out=$(cd "$out" && pwd)
start=$(date +%s)
say() {
	local s=$(( $(date +%s) - start ))
	printf 'host[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}
progress() { say "$@"; }
nfail=0
# shellcheck source=test/bench/load.sh
. "$top/test/bench/load.sh"
# shellcheck source=test/bench/record.sh
. "$top/test/bench/record.sh"

# Every run: 1,000 files of a set, warm, picked at random with repeats,
# named from an fd on their directory; fio without its random map
FIO=(fio --thread --bs=4k --size=4000k --rw=randread
	--file_service_type=random --norandommap --time_based
	--runtime="$(awk -v s="$runtime" 'BEGIN { print int(s * 1000) }')ms"
	--output-format=json)

sets=()
cleanup() { rm -rf "${sets[@]}"; }
trap cleanup EXIT
for fsdir in "${filesystems[@]}"; do
	d=$(mktemp -d "${fsdir#*=}/fhandle-host.XXXXXX") || exit 1
	sets+=("$d")
	for i in $(seq 0 999); do head -c 4096 /dev/zero >"$d/f.$i"; done
done

for rep in $(seq 1 "$reps"); do
	load_check "repeat $rep"
	for i in "${!filesystems[@]}"; do
		fs=${filesystems[$i]%%=*} d=${sets[$i]}
		for op in encode open openat; do
			m=(fs="$fs" op="$op" rep="$rep")
			JQ=$FIO_FIELDS record "${m[@]}" tool=engine -- "${FIO[@]}" \
				--name=e --opendir="$d" --ioengine=external:"$SO" \
				--fh_backend=sync --fh_read_op="$op"
			record "${m[@]}" tool=raw -- "$RAW" -o "$op" \
				-t "$runtime" "$d" 1000
			JQ=$FIO_FIELDS record "${m[@]}" tool=null -- "${FIO[@]}" \
				--name=n --opendir="$d" --ioengine=null
		done
	done
done
say "done, $nfail failed"
[ "$nfail" = 0 ]
