#!/usr/bin/env bash
# Capture nfs-ganesha's handle calls while a real NFSv3 client works.
#
# Makes a file set (a tree of small files), serves it with ganesha
# (test/nfs/ganesha.sh: private namespace, loopback only) under
# `strace -f -ttt -T -y`, and runs build/nfs/nfsload against it, one phase
# per NFS operation type so that each traced call belongs to one type:
#
#   cold-<op>  for each op: ganesha restarted and the kernel's page, dentry
#              and inode caches dropped, then that one phase alone (lookup,
#              getattr and read use the handles a readdirplus saved: NFSv3
#              handles outlive a restart, as a client's do)
#   first      a full pass (readdirplus lookup getattr read) on a restarted
#              ganesha (its caches empty) with the kernel's caches warm
#   warm       the same pass again on that now warm server
#
# Then the same runs without strace, for the client's own figures and
# what tracing costs.  Writes to OUT: capture.tsv (one line per phase:
# label, traced, trace file, phase, start, end, ops, errors, mean/p50/p99
# latency in us, ops/s), trace-*.txt (strace's logs), client-*.txt
# (nfsload's output), fileset (the set's shape), export (its path),
# handles.tsv (the kernel's handle of each file, as ganesha sees them),
# client (nfsload's operations in flight).
#
# usage: test/nfs/capture.sh [--files N] [--per-dir N] [--size BYTES]
#            [--inflight N] [--dir DIR] OUT
#   --files 10000 --per-dir 100 --size 4096 --inflight 8 by default;
#   --dir: where the file set goes (default: a new directory under /tmp,
#   removed after; a given DIR is kept)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
say() { echo "capture: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '/^# usage/,/^#   removed/s/^# \{0,1\}//p' "$0" >&2; exit 2; }

files=10000 per_dir=100 size=4096 inflight=8 dir= out=
while [ $# -gt 0 ]; do
	case $1 in
	--files) files=${2:-}; shift ;;
	--per-dir) per_dir=${2:-}; shift ;;
	--size) size=${2:-}; shift ;;
	--inflight) inflight=${2:-}; shift ;;
	--dir) dir=${2:-}; shift ;;
	-*) usage ;;
	*) [ -z "$out" ] || usage; out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || usage
[ "$(id -u)" = 0 ] || die "needs root (ganesha's open_by_handle_at needs CAP_DAC_READ_SEARCH)"
make -s -C "$top" nfsload || die "cannot build build/nfs/nfsload"
mkdir -p "$out" || die "cannot make $out"
out=$(cd "$out" && pwd)
rm -f "$out"/capture.tsv "$out"/trace-*.txt "$out"/client-*.txt

keep_dir=1
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/fhandle-nfs-set.XXXXXX) || die "mktemp failed"
	keep_dir=0
fi
state=$(mktemp -d /tmp/fhandle-nfs-state.XXXXXX) || die "mktemp failed"
cleanup() {
	bash "$top/test/nfs/ganesha.sh" stop "$state"
	rm -rf "$state"
	[ "$keep_dir" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$top/test/nfs/convert.py" fileset "$dir" --files "$files" \
	--per-dir "$per_dir" --size "$size" >"$out/fileset" ||
	die "cannot make the file set"
dir=$(cd "$dir" && pwd)
echo "$dir" >"$out/export"
echo "inflight $inflight" >"$out/client"
# the kernel's handles of the set: opens in the trace name files by them
python3 "$top/test/nfs/convert.py" handles "$dir" --from "$out/fileset" \
	>"$out/handles.tsv" || die "cannot encode the file set"
handles=$state/handles

# client LABEL TRACED TRACEFILE LOAD PHASE...: one nfsload run (LOAD=1:
# with the saved handles), its phase lines labelled into capture.tsv
client() {
	local label=$1 traced=$2 trace=$3 load=() tsv=$state/phases.tsv
	[ "$4" = 1 ] && load=(-H "$handles" -l)
	shift 4
	rm -f "$tsv"
	bash "$top/test/nfs/ganesha.sh" exec "$state" "$top/build/nfs/nfsload" \
		-c "$inflight" -o "$tsv" "${load[@]}" 127.0.0.1 "$dir" "$@" \
		>"$out/client-$label-$traced.txt" ||
		{ cat "$out/client-$label-$traced.txt" >&2; die "nfsload failed ($label)"; }
	sed "s|^|$label\t$traced\t$trace\t|" "$tsv" >>"$out/capture.tsv"
	sed "s|^|  $label ($traced): |" "$out/client-$label-$traced.txt" >&2
}

for traced in strace none; do
	say "$files files under $dir; runs with ganesha $([ $traced = strace ] && echo under strace || echo untraced)"
	trace=
	[ $traced = strace ] && trace=$out/trace-cold.txt
	# the first start also lets nfsload save every handle (a readdirplus)
	bash "$top/test/nfs/ganesha.sh" start "$state" "$dir" || die "ganesha did not start"
	bash "$top/test/nfs/ganesha.sh" exec "$state" "$top/build/nfs/nfsload" \
		-H "$handles" 127.0.0.1 "$dir" readdirplus >/dev/null ||
		die "nfsload could not list the export"
	for op in readdirplus lookup getattr read; do
		trace=
		[ $traced = strace ] && trace=$out/trace-cold-$op.txt
		bash "$top/test/nfs/ganesha.sh" restart "$state" --drop-caches \
			${trace:+--strace "$trace"} || die "ganesha did not restart"
		if [ $op = readdirplus ]; then
			client "cold-$op" $traced "${trace##*/}" 0 readdirplus
		else
			client "cold-$op" $traced "${trace##*/}" 1 $op
		fi
	done
	trace=
	[ $traced = strace ] && trace=$out/trace-warm.txt
	bash "$top/test/nfs/ganesha.sh" restart "$state" ${trace:+--strace "$trace"} ||
		die "ganesha did not restart"
	client first $traced "${trace##*/}" 0 readdirplus lookup getattr read
	client warm $traced "${trace##*/}" 0 readdirplus lookup getattr read
	bash "$top/test/nfs/ganesha.sh" stop "$state"
done
say "capture in $out"
