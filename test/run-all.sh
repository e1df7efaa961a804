#!/usr/bin/env bash
# Every test of the project, from a fresh Debian 12 machine: installs what
# it needs, builds, runs the host suites, then the kernel VM suite.  Prints
# each stage's wall time and ends with the total "N passed, N failed".
#
# Usage: test/run-all.sh [--host-only]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

host_only=0
case ${1:-} in
--host-only) host_only=1 ;;
"") ;;
*) echo "run-all: unknown argument '$1' (usage: run-all.sh [--host-only])" >&2
   exit 2 ;;
esac

total_passed=0 total_failed=0 total_skipped=0

# stage NAME COMMAND...: run it, show its output, add up its closing line
stage() {
	local name=$1 start log rc line p f s
	shift
	log=$(mktemp)
	start=$(date +%s)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "=== $name: no result line (status $rc): counted as a failure"
		total_failed=$((total_failed + 1))
	else
		p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
		total_passed=$((total_passed + p))
		total_failed=$((total_failed + f))
		total_skipped=$((total_skipped + ${s:-0}))
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			echo "=== $name exited $rc with no failed test: counted as a failure"
			total_failed=$((total_failed + 1))
		fi
	fi
	echo "=== $name: $(( $(date +%s) - start )) s"
}

build() {
	bash test/need-pkgs.sh jq valgrind util-linux gcc nfs-ganesha \
		nfs-ganesha-vfs rpcbind libnfs-utils strace iproute2 &&
	make -s all && echo "1 passed, 0 failed"
}

# kernel/build.sh --checkpatch fails on any warning of any patch
checkpatch() {
	if bash kernel/build.sh --checkpatch; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, 1 failed"
	fi
}

stage "set-up and build" build
stage "engine tests (sync backend)" bash test/engine/run.sh
stage "job files (sync backend)" bash test/jobs.sh
stage "fio client/server on loopback" bash test/bench/client-server-test.sh
stage "BENCHMARKS.md against its committed results (test/bench/report-test.sh)" \
	bash test/bench/report-test.sh
# ganesha serving 300 files to a libnfs client, captured, converted and
# replayed (sync backend): about a minute and a half
stage "NFS capture and replay (test/nfs/run.sh)" bash test/nfs/run.sh
stage "kernel tests on this kernel (they skip without the opcodes)" \
	bash test/kernel/run.sh
if [ "$host_only" = 0 ]; then
	stage "kernel patches: checkpatch --strict" checkpatch
	stage "VM runner self-test" bash test/vm/selftest.sh
	# two short VM boots in exact mode (icount): about a minute
	stage "exact mode repeats (test/bench/exact-test.sh)" \
		bash test/bench/exact-test.sh
	# the engine stage takes about 10 minutes under TCG on a quiet host
	FHANDLE_SUITE_TIMEOUT=${FHANDLE_SUITE_TIMEOUT:-1800} \
		stage "kernel VM suite (make vm-test)" bash test/vm/suite.sh
fi

echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" = 0 ]
