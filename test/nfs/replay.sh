#!/usr/bin/env bash
# Replay converted ganesha calls (test/nfs/convert.py's jobs) through the
# engine, and check that fio performed exactly the encodes and opens the
# conversion recorded (jobs.tsv), from fio's JSON.
#
# usage: test/nfs/replay.sh [--backend sync|uring] [--dir DIR] [--out OUT]
#            [--cold] [--tsv FILE --tag TAG] JOBDIR [JOBFILE...]
#   JOBDIR: convert.py's output (jobfiles/ganesha is one); JOBFILEs: some
#   of its *.fio (default: all).  --dir: where the file set is made (it
#   must be empty or hold this very set; default: a new directory under
#   /tmp, removed after; in the VM, a scratch filesystem).  --out: where
#   fio's JSON goes (default: a temporary directory, removed after).
#   --backend: the engine's fh_backend (default $FHANDLE_BACKEND or sync).
#   --cold: the jobs load the handles a drop-only job saved (fh_drop_caches,
#   fh_handle_file) instead of encoding them, and each drops every cache
#   (root only) before its first operation; fio's JSON keeps the drop job
#   (cold-drop), the checks and figures leave it out.
#   --tsv: append one line per job file to FILE: TAG, job file, backend,
#   jobs, fio's longest job_runtime (ms), opens, encodes, their mean
#   completion latency (ns), the summed busy time of all jobs (us).
# Prints one line per job file: operations, the time the jobs took
# together (fio's longest job_runtime), opens and encodes per second, and
# their mean completion latency; exit status 1 on any mismatch or error.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
say() { echo "replay: $*"; }
die() { echo "replay: $*" >&2; exit 1; }
usage() { sed -n '/^# usage/,/^#   --backend/s/^# \{0,1\}//p' "$0" >&2; exit 2; }

backend=${FHANDLE_BACKEND:-sync} dir= out= jobdir= jobs=() cold=0 tsv= tag=
while [ $# -gt 0 ]; do
	case $1 in
	--backend) backend=${2:-}; shift ;;
	--dir) dir=${2:-}; shift ;;
	--out) out=${2:-}; shift ;;
	--cold) cold=1 ;;
	--tsv) tsv=${2:-}; shift ;;
	--tag) tag=${2:-}; shift ;;
	-*) usage ;;
	*) if [ -z "$jobdir" ]; then jobdir=$1; else jobs+=("$1"); fi ;;
	esac
	shift
done
[ -n "$jobdir" ] || usage
case $backend in sync|uring) ;; *) die "--backend must be sync or uring" ;; esac
[ -z "$tsv" ] || [ -n "$tag" ] || die "--tsv needs --tag"
[ -f "$jobdir/jobs.tsv" ] && [ -f "$jobdir/fileset" ] ||
	die "$jobdir: not a converted capture (no jobs.tsv or fileset)"
jobdir=$(cd "$jobdir" && pwd)
so=$top/build/fhandle.so
[ -f "$so" ] || die "$so missing: run make"
command -v jq >/dev/null || bash "$top/test/need-pkgs.sh" jq || exit 1
if [ ${#jobs[@]} = 0 ]; then
	for j in "$jobdir"/*.fio; do
		[ -e "$j" ] && jobs+=("$j")
	done
fi
[ ${#jobs[@]} -gt 0 ] || die "$jobdir: no job file"

tmp_dir= tmp_out=
cleanup() {
	[ -z "$tmp_dir" ] || rm -rf "$tmp_dir"
	[ -z "$tmp_out" ] || rm -rf "$tmp_out"
}
trap cleanup EXIT
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/fhandle-nfs-replay.XXXXXX) || exit 1
	tmp_dir=$dir
fi
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/fhandle-nfs-json.XXXXXX) || exit 1
	tmp_out=$out
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
python3 "$top/test/nfs/convert.py" fileset "$dir" --from "$jobdir/fileset" \
	>/dev/null || die "cannot make the file set in $dir"

# cold_job JOBFILE PREFIX: JOBFILE run cold.  A drop-only job
# (fh_drop_caches) encodes the files of every iolog of JOBFILE and saves
# their handles to PREFIX.handles; behind a stonewall JOBFILE's jobs, all
# at once, load the handles instead of encoding them at init, and each
# drops every cache (exec_prerun: sync, echo 3) before its first
# operation.  That drop is per job because fio stats each file an iolog
# adds in the job's own thread, after any earlier job's drop; and it drops
# the page cache too, or ext4's inode-table blocks stay cached in the
# block device and a cold open reads nothing from the disk.  The drop job
# is named cold-drop: the checks leave it out.
cold_job() {
	local job=$1 prefix=$2 logs
	logs=$(sed -n 's|^read_iolog=\${FHANDLE_NFS_JOBS}/||p' "$job" | sed "s|^|$jobdir/|")
	[ -n "$logs" ] || return 1
	# shellcheck disable=SC2086
	{ echo "fio version 3 iolog"
	  awk '$3 == "add" && !seen[$2]++ { print "0 " $2 " add" }' $logs
	  awk '$3 == "add" { print "0 " $2 " read 0 4096"; exit }' $logs
	} >"$prefix.files.iolog" || return 1
	awk -v prefix="$prefix" '
	/^\[global\]$/ { section = "global"; print; next }
	/^\[/ {
		if (section == "global") {
			print ""
			print "[cold-drop]"
			print engine
			print backend
			print "fh_handle_file=" prefix ".handles"
			print "fh_drop_caches=all"
			print "read_iolog=" prefix ".files.iolog"
			print ""
			first = 1
		}
		section = $0
		print
		if (first) { print "stonewall"; first = 0 }
		print engine
		print backend
		print "fh_handle_file=" prefix ".handles"
		# no ";": fio takes the rest of the line for a comment
		print "exec_prerun=sh -c \"sync && echo 3 > /proc/sys/vm/drop_caches\""
		next
	}
	section == "global" && /^ioengine=/ { engine = $0; next }
	section == "global" && /^fh_backend=/ { backend = $0; next }
	{ print }' "$job"
}

status=0
for j in "${jobs[@]}"; do
	name=$(basename "$j" .fio)
	[ -f "$jobdir/$name.fio" ] || { say "$j: not a job file of $jobdir"; status=1; continue; }
	json=$out/$name.$backend.json
	job=$jobdir/$name.fio
	if [ "$cold" = 1 ]; then
		job=$out/$name.cold.fio
		cold_job "$jobdir/$name.fio" "$out/$name" >"$job" ||
			{ say "$name: cannot write its cold job"; status=1; continue; }
	fi
	# fio's names are relative to the file set's root (fio 3.33 crashes
	# on read_iolog with directory=)
	if ! (cd "$dir" && FHANDLE_SO=$so FHANDLE_BACKEND=$backend \
		FHANDLE_NFS_JOBS=$jobdir fio --output-format=json \
		--output="$json.raw" "$job" >"$json.log" 2>&1); then
		say "$name: fio failed:"; tail -n 20 "$json.log" "$json.raw" | sed 's/^/  /'
		rm -f "$dir"/*.prerun.txt
		status=1
		continue
	fi
	# exec_prerun (--cold) leaves JOBNAME.prerun.txt in the working
	# directory, with what the drop said: nothing, if it dropped (fio
	# itself ignores the command's status)
	if [ "$cold" = 1 ]; then
		said=$(cat "$dir"/*.prerun.txt 2>&1)
		if [ -n "$said" ] || [ "$(ls "$dir"/*.prerun.txt 2>/dev/null | wc -l)" != \
			"$(grep -c '^exec_prerun=' "$job")" ]; then
			say "$name: a job's drop of the caches failed: $said"
			rm -f "$dir"/*.prerun.txt
			status=1
			continue
		fi
	fi
	rm -f "$dir"/*.prerun.txt
	sed -n '/^{/,$p' "$json.raw" >"$json" && rm -f "$json.raw"
	want=$(awk -F'\t' -v f="$name.fio" '$1 == f { r += $3; w += $4 } END { print r + 0, w + 0 }' \
		"$jobdir/jobs.tsv")
	# the replayed jobs: not the cold run's drop jobs
	jq '.jobs |= map(select(.jobname | startswith("cold-") | not))' "$json" >"$json.t" &&
		mv "$json.t" "$json"
	got=$(jq -r '[([.jobs[].read.total_ios] | add), ([.jobs[].write.total_ios] | add)] | map(tostring) | join(" ")' "$json")
	errs=$(jq '[.jobs[].error] | map(select(. != 0)) | length' "$json")
	# the numbers of the line and of --tsv, from fio's JSON
	nums=$(jq -r '
		def mean(d): ([.jobs[] | .[d].clat_ns.mean * .[d].total_ios] | add) /
			(([.jobs[] | .[d].total_ios] | add) | if . > 0 then . else 1 end);
		def busy: [.jobs[] | .read.clat_ns.mean * .read.total_ios +
			.write.clat_ns.mean * .write.total_ios] | add / 1000;
		[(.jobs | length), ([.jobs[].job_runtime] | max),
		 ([.jobs[].read.total_ios] | add), ([.jobs[].write.total_ios] | add),
		 (mean("read") | round), (mean("write") | round), (busy | round)] |
		map(tostring) | join("\t")' "$json")
	IFS=$'\t' read -r njobs ms r w rlat wlat busy <<<"$nums"
	line="$njobs jobs at once, $ms ms: $r opens (clat mean $((rlat / 1000)).$((rlat % 1000 / 100)) us), $w encodes (clat mean $((wlat / 1000)).$((wlat % 1000 / 100)) us)"
	if [ "$got" != "$want" ] || [ "$errs" != 0 ]; then
		say "$name ($backend): MISMATCH: fio did $got opens/encodes with $errs job errors; the capture has $want"
		status=1
	else
		say "$name ($backend$([ $cold = 1 ] && echo ", cold")): $line; as captured"
		[ -z "$tsv" ] || printf '%s\t%s\t%s\t%s\n' "$tag" "$name" "$backend" "$nums" >>"$tsv"
	fi
done
exit $status
