#!/usr/bin/env bash
# Exact mode repeats: one small cell of the exact matrix (encode, sync
# backend, 1,000 files on tmpfs, 20,000 operations) run twice in each of
# two VMs booted with `test/vm/run.sh --icount`; all four ops/s must agree
# within 0.5%.  Plus the error paths of --icount and of exact.sh.
# About a minute on a quiet host.  Prints `N passed, N failed, N skipped`.
#
# The kernel: FHANDLE_VM_KERNEL, else FHANDLE_BENCH_KERNEL, else
# kernel/build.sh's (built once, cached).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-exact-test.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

pass=0 fail=0 skip=0
check() {	# NAME COMMAND...
	local name=$1
	shift
	if "$@"; then
		echo "PASS: $name"; pass=$((pass + 1))
	else
		echo "FAIL: $name"; fail=$((fail + 1))
	fi
}
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ $fail = 0 ]; exit; }

# --- error paths, no VM ----------------------------------------------------
FHANDLE_VM_ICOUNT=2 bash test/vm/run.sh -c true >"$work/u1" 2>&1
rc=$?
check "FHANDLE_VM_ICOUNT=2: status 2 (got $rc)" test $rc = 2
check "FHANDLE_VM_ICOUNT=2: named" grep -q "FHANDLE_VM_ICOUNT must be 0 or 1" "$work/u1"
FHANDLE_VM_ACCEL=kvm bash test/vm/run.sh --icount -c true >"$work/u2" 2>&1
rc=$?
check "--icount with KVM: status 2 (got $rc)" test $rc = 2
check "--icount with KVM: says why" grep -q -- "--icount needs TCG" "$work/u2"
bash test/bench/exact.sh --out "$work/x" --ops many >"$work/u3" 2>&1
rc=$?
check "exact.sh --ops many: status 2 (got $rc)" test $rc = 2
check "exact.sh --ops many: named" grep -q "'many' is not a whole number" "$work/u3"
bash test/bench/exact.sh --bogus >"$work/u4" 2>&1
rc=$?
check "exact.sh --bogus: status 2, named (got $rc)" \
	bash -c "test $rc = 2 && grep -q \"unknown argument '--bogus'\" '$work/u4'"

# --- the cell, twice in each of two VMs -------------------------------------
kernel=${FHANDLE_VM_KERNEL:-${FHANDLE_BENCH_KERNEL:-}}
if [ -z "$kernel" ]; then
	kernel=$(bash kernel/build.sh 2>"$work/build.err" | tail -n 1)
fi
if [ -z "$kernel" ] || [ ! -f "$kernel" ]; then
	echo "FAIL: no kernel to boot (kernel/build.sh: $(tail -n 2 "$work/build.err" 2>/dev/null))"
	fail=$((fail + 1))
	finish
fi
make -s engine >/dev/null && mkdir -p build/bench &&
	make -s build/bench/rawloop ||
	{ echo "FAIL: cannot build the engine and rawloop"; fail=$((fail + 1)); finish; }
cell='for r in 1 2; do bash test/bench/exact.sh --out "$FHANDLE_OUT/r$r" --sections warm --ops 20000 --cell encode/sync/1 || exit 1; done'
for boot in 1 2; do
	bash test/vm/run.sh --icount --kernel "$kernel" --timeout 600 \
		--out "$work/b$boot" -c "$cell" >"$work/b$boot.log" 2>&1
	rc=$?
	check "boot $boot: the cell ran twice (status $rc)" test $rc = 0
	[ $rc = 0 ] || sed 's/^/      | /' "$work/b$boot.log" | tail -n 15
done
vals=()
for f in "$work"/b?/r?/json/warm-tmpfs-encode-sync-qd1.json; do
	[ -f "$f" ] && vals+=("$(jq '.jobs[0].read.iops' "$f")")
done
echo "      ops/s of the four runs: ${vals[*]}"
check "four results" test ${#vals[@]} = 4
check "identical within 0.5% (max/min - 1)" awk -v l="${vals[*]}" 'BEGIN {
	n = split(l, v, " "); lo = hi = v[1]
	for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
	printf "      spread %.3f%%\n", (hi / lo - 1) * 100
	exit !(n == 4 && lo > 0 && hi / lo - 1 <= 0.005) }'
finish
