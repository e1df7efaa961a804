#!/usr/bin/env bash
# Exact mode repeats: two cells of test/bench/rawloop on a warm tmpfs set
# in the VM (encode as syscalls, openat through the ring at depth 16,
# 100,000 operations each), run twice in each of two VMs booted with
# `test/vm/run.sh --icount`: the four figures of a cell must agree within
# 0.5%, on a measure whose step is one nanosecond of a 100,000-operation
# span (a millionth of a per cent of an operation).  Plus the error paths
# of --icount and of the benchmark scripts' arguments.  About two minutes
# on a quiet host.  Prints `N passed, N failed, N skipped`.
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
for script in warm breakeven; do
	bash test/bench/$script.sh --out "$work/x" --reps >"$work/u3" 2>&1
	rc=$?
	check "$script.sh --reps (no value): status 2 (got $rc)" test $rc = 2
	check "$script.sh --reps: named" grep -q -- "--reps needs a value" "$work/u3"
	bash test/bench/$script.sh --bogus x >"$work/u4" 2>&1
	rc=$?
	check "$script.sh --bogus: status 2, usage (got $rc)" \
		bash -c "test $rc = 2 && grep -q '^usage: $script.sh' '$work/u4'"
done
build/bench/rawloop -o open -q 0 x 1 >"$work/u5" 2>&1
rc=$?
check "rawloop -q 0: status 2 (got $rc)" test $rc = 2
check "rawloop -q 0: named" grep -q "'0' is not a number from 1 to 4096" "$work/u5"

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
make -s build/bench/rawloop >/dev/null ||
	{ echo "FAIL: cannot build the engine and rawloop"; fail=$((fail + 1)); finish; }
cell='d=$(mktemp -d /mnt/tmpfs/exact.XXXXXX) &&
	for i in $(seq 0 999); do : >"$d/f.$i"; done &&
	for r in 1 2; do
		build/bench/rawloop -o encode -u -n 100000 "$d" 1000 &&
		build/bench/rawloop -o openat -r -q 16 -u -n 100000 "$d" 1000 ||
		exit 1
	done >"$FHANDLE_OUT/cells.jsonl"'
for boot in 1 2; do
	bash test/vm/run.sh --icount --kernel "$kernel" --timeout 600 \
		--out "$work/b$boot" -c "$cell" >"$work/b$boot.log" 2>&1
	rc=$?
	check "boot $boot: the cell ran twice (status $rc)" test $rc = 0
	[ $rc = 0 ] || sed 's/^/      | /' "$work/b$boot.log" | tail -n 15
done
for op in encode openat; do
	vals=()
	for f in "$work"/b?/cells.jsonl; do
		[ -f "$f" ] && vals+=($(jq -r "select(.op == \"$op\") | .ns_per_op" "$f"))
	done
	echo "      $op: ns (= instructions) per operation of the four runs: ${vals[*]}"
	check "$op: four results" test ${#vals[@]} = 4
	check "$op: identical within 0.5% (max/min - 1)" awk -v l="${vals[*]}" 'BEGIN {
		n = split(l, v, " "); lo = hi = v[1]
		for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
		printf "      spread %.4f%%\n", (hi / lo - 1) * 100
		exit !(n == 4 && lo > 0 && hi / lo - 1 <= 0.005) }'
done
finish
