#!/usr/bin/env bash
# Every number the prose of BENCHMARKS.md states comes from the committed
# raw results: test/bench/report.py renders the document from them
# (test/bench/BENCHMARKS.md.in) and the committed one must be exactly
# that.  The check must also fail where a number was edited by hand: a
# copy of the document with one generated value changed is checked too.
# Prints `N passed, N failed`.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
bash test/need-pkgs.sh python3 >/dev/null || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-report-test.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() {	# NAME COMMAND...
	local name=$1
	shift
	if "$@"; then
		echo "PASS: $name"; pass=$((pass + 1))
	else
		echo "FAIL: $name"; fail=$((fail + 1))
	fi
}

python3 test/bench/report.py --check >"$work/check" 2>&1
check "BENCHMARKS.md is what the committed results give" test $? = 0
sed 's/^/      /' "$work/check"

# each generated number, one at a time for the first, middle and last:
# its first digit changed, the check must fail and name the line
python3 test/bench/report.py --positions >"$work/pos" 2>&1 ||
	{ cat "$work/pos"; echo "0 passed, 1 failed"; exit 1; }
n=$(wc -l <"$work/pos")
check "the document has generated values ($n)" test "$n" -gt 50
for k in 1 $(( (n + 1) / 2 )) "$n"; do
	read -r line col name < <(sed -n "${k}p" "$work/pos")
	python3 - "$line" "$col" BENCHMARKS.md "$work/edited.md" <<-'PY'
	import sys
	line, col, src, dst = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
	lines = open(src).read().split("\n")
	s = lines[line - 1]
	# the first digit at or after the value's column, changed
	for i in range(col - 1, len(s)):
	    if s[i].isdigit():
	        s = s[:i] + str((int(s[i]) + 1) % 10) + s[i + 1:]
	        break
	else:
	    s = s[:col - 1] + "X" + s[col - 1:]
	lines[line - 1] = s
	open(dst, "w").write("\n".join(lines))
	PY
	python3 test/bench/report.py --check --doc "$work/edited.md" \
		>"$work/edited.out" 2>&1
	rc=$?
	check "$name (line $line) edited: the check fails" test $rc = 1
	check "$name edited: the line is named" \
		grep -q "line $line does not match" "$work/edited.out"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
