#!/bin/bash
# Run every kernel conformance test (build/test/kernel/*, built by
# `make ktests`) on every directory given, one line per (test, fs, dir):
#
#	PASS|FAIL|SKIP  TEST  FSTYPE  DIR  [why]
#
# then "N passed, N failed, N skipped".  Exits 1 if any test failed (skips
# are not failures), 2 on bad usage or when nothing is built.
#
# usage: test/kernel/run.sh [DIR...]
#   default DIRs: $FHANDLE_SCRATCH (space-separated) if set, else a fresh
#   directory under ${TMPDIR:-/tmp}, removed afterwards.
# Environment: KTESTS="encode open ..." runs only those tests;
# KTEST_TIMEOUT (seconds, default 300) limits each run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=$REPO/build/test/kernel
TIMEOUT=${KTEST_TIMEOUT:-300}

tests=()
if [[ -n ${KTESTS:-} ]]; then
	for t in $KTESTS; do
		[[ -x $BIN/$t ]] || { echo "run.sh: no test $BIN/$t" >&2; exit 2; }
		tests+=("$t")
	done
else
	for f in "$BIN"/*; do
		[[ -f $f && -x $f ]] && tests+=("${f##*/}")
	done
fi
if ((${#tests[@]} == 0)); then
	echo "run.sh: no tests in $BIN: run 'make ktests' first" >&2
	exit 2
fi

tmpdir=
cleanup() { [[ -n $tmpdir ]] && rm -rf "$tmpdir"; }
trap cleanup EXIT
dirs=("$@")
if ((${#dirs[@]} == 0)); then
	if [[ -n ${FHANDLE_SCRATCH:-} ]]; then
		read -r -a dirs <<< "$FHANDLE_SCRATCH"
	else
		tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/ktest.XXXXXX") || exit 2
		dirs=("$tmpdir")
	fi
fi

log=$(mktemp "${TMPDIR:-/tmp}/ktest-log.XXXXXX") || exit 2
trap 'cleanup; rm -f "$log"' EXIT
passed=0 failed=0 skipped=0
for dir in "${dirs[@]}"; do
	if [[ ! -d $dir ]]; then
		printf 'FAIL  %-8s  %-8s  %s  no such directory\n' "-" "-" "$dir"
		failed=$((failed + 1))
		continue
	fi
	fs=$(stat -f -c %T "$dir" 2>/dev/null || echo '?')
	for t in "${tests[@]}"; do
		timeout -k 10 "$TIMEOUT" "$BIN/$t" "$dir" > "$log" 2>&1
		rc=$?
		case $rc in
		0)
			verdict=PASS why=
			passed=$((passed + 1)) ;;
		77)
			verdict=SKIP
			why=$(grep -m1 '^skip:' "$log" || tail -n1 "$log")
			skipped=$((skipped + 1)) ;;
		*)
			verdict=FAIL
			why=$(grep -m1 '^FAIL' "$log" || tail -n1 "$log")
			((rc == 124)) && why="timed out after ${TIMEOUT}s"
			[[ -z $why ]] && why="exit status $rc"
			failed=$((failed + 1)) ;;
		esac
		printf '%s  %-8s  %-8s  %s%s\n' "$verdict" "$t" "$fs" "$dir" \
			"${why:+  $why}"
		if [[ $verdict == FAIL ]]; then
			sed 's/^/	| /' "$log"
		fi
	done
done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
