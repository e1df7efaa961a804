#!/usr/bin/env bash
# Run a job file with the fhandle engine on a temporary file set, and show
# fio's report.  The file set is created under $TMPDIR and removed after;
# fio runs in that directory, with the set four levels below it
# (srv/export/home/set, a relative --directory), so that a job that names
# files by their whole name (fh_resolve=full) walks four components from
# the cwd and never the path to $TMPDIR: in the VM, / is the host's root
# over 9p, and a walk from there would measure 9p.
#
# Usage: jobfiles/run.sh [--backend uring|sync] [--keep] [JOBFILE] [FIO ARG...]
#   JOBFILE   default: jobfiles/handle-vs-path.fio
#   --backend default: uring where the kernel has both opcodes (checked by
#             examples/fhandle-probe), sync otherwise
#   --keep    keep the file set and print where it is
#   FIO ARG   passed to fio, which runs in the file set's top directory:
#             give the paths in them (--output=...) absolute
# Environment: FHANDLE_SO (default: build/fhandle.so of this tree)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
backend=${FHANDLE_BACKEND:-}
keep=0

usage() {
	sed -n '/^# Usage:/,/^# Environment/{s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--backend)
		[ $# -ge 2 ] || usage
		backend=$2
		shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	*) break ;;
	esac
done
job=$top/jobfiles/handle-vs-path.fio
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	job=$1
	shift
fi
[ -f "$job" ] || { echo "run.sh: no job file $job" >&2; exit 2; }

export FHANDLE_SO=${FHANDLE_SO:-$top/build/fhandle.so}
[ -f "$FHANDLE_SO" ] || {
	echo "run.sh: $FHANDLE_SO is not built: run make first" >&2
	exit 2
}
if [ -z "$backend" ]; then
	if "$top/build/examples/fhandle-probe" -q; then
		backend=uring
	else
		backend=sync
		echo "run.sh: this kernel ($(uname -r)) lacks the io_uring" \
		     "handle opcodes: running the sync backend (make vm-run" \
		     "runs the uring backend on the patched kernel)" >&2
	fi
fi
case $backend in
uring|sync) ;;
*) echo "run.sh: --backend must be uring or sync, not '$backend'" >&2
   exit 2 ;;
esac
export FHANDLE_BACKEND=$backend

dir=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-run.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "run.sh: the file set stays in $dir" >&2
else
	trap 'rm -rf "$dir"' EXIT
fi
set=srv/export/home/set
mkdir -p "$dir/$set"
echo "run.sh: $(basename "$job"), $backend backend, file set in $dir/$set" >&2
job=$(cd "$(dirname "$job")" && pwd)/$(basename "$job")
cd "$dir"
fio --directory="$set" "$@" "$job"
