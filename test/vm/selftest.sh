#!/bin/bash
# Tests of the VM runner itself (test/vm/run.sh).  One line per check, then
# `N passed, N failed`; non-zero exit status if any check failed.
#
# The kernel comes from kernel/build.sh like run.sh's (built once, cached),
# or from FHANDLE_VM_KERNEL=/path/to/bzImage; the kmemleak check boots the
# debug kernel (FHANDLE_VM_KERNEL_DEBUG, else kernel/build.sh --debug).
# About seven short VM boots.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUN=$HERE/run.sh
cd "$REPO" || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-vm-selftest.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass=0
fail=0
check() {  # check NAME CONDITION-COMMAND... ; shows the log on failure
	local name=$1
	shift
	if "$@"; then
		echo "ok:   $name"
		pass=$((pass + 1))
	else
		echo "FAIL: $name"
		fail=$((fail + 1))
		[[ -n ${last_log:-} && -f $last_log ]] &&
			sed 's/^/      | /' "$last_log" | tail -n 30
	fi
}

# vm NAME [run.sh args...]: run.sh with stdout and stderr kept apart.
vm() {
	local name=$1
	shift
	last_log=$work/$name.all
	bash "$RUN" "$@" > "$work/$name.out" 2> "$work/$name.err"
	local rc=$?
	echo "$rc" > "$work/$name.rc"
	cat "$work/$name.out" "$work/$name.err" > "$last_log"
	return 0
}
rc_of() { cat "$work/$1.rc"; }

# The kernel, once.
if [[ -n ${FHANDLE_VM_KERNEL:-} ]]; then
	kernel=$FHANDLE_VM_KERNEL
else
	kernel=$(bash kernel/build.sh 2> "$work/build.err" | tail -n1)
fi
last_log=$work/build.err
check "a kernel to boot (${kernel:-none})" test -n "$kernel" -a -f "$kernel"
if [[ -z $kernel || ! -f $kernel ]]; then
	echo "$pass passed, $fail failed"
	exit 1
fi

# --- bad usage: no VM needed ------------------------------------------------
last_log=
bash "$RUN" > "$work/u1.out" 2>&1
u1=$?
check "missing -c: exit status 2 (got $u1)" test "$u1" -eq 2
check "missing -c: says so" grep -q 'missing -c' "$work/u1.out"
bash "$RUN" --bogus -c true > "$work/u2.out" 2>&1
u2=$?
check "unknown option: exit status 2 (got $u2)" test "$u2" -eq 2
check "unknown option: names it" grep -q "unknown argument '--bogus'" "$work/u2.out"
bash "$RUN" --timeout soon -c true > "$work/u3.out" 2>&1
u3=$?
check "bad --timeout: exit status 2 (got $u3)" test "$u3" -eq 2

# --- one boot: status, output, environment, shares, mounts -----------------
out=$work/share
mkdir "$out"
vm basic --kernel "$kernel" --out "$out" -c '
echo "selftest-hello from $(uname -r)"
echo "cwd=$(pwd)"
echo "env FHANDLE_VM=$FHANDLE_VM TMPDIR=$TMPDIR HOME=$HOME"
echo "scratch=$FHANDLE_SCRATCH"
echo "out=$FHANDLE_OUT"
echo "payload $$" > "$FHANDLE_OUT/from-guest.txt"
for d in /mnt/tmpfs /mnt/ext4 /mnt/xfs /tmp /root; do
	awk -v d=$d "\$2 == d { print \"mount \" d \" \" \$3 }" /proc/mounts
done
touch /mnt/ext4/w /mnt/xfs/w /mnt/tmpfs/w /tmp/w && echo scratch-writable
touch /usr/fhandle-selftest 2>/dev/null || echo root-read-only
echo to-stderr >&2
exit 3'
o=$work/basic.out
check "exit status propagates (exit 3 -> $(rc_of basic))" test "$(rc_of basic)" -eq 3
check "output comes back on stdout" grep -q '^selftest-hello from ' "$o"
check "stderr of the command comes back too" grep -q '^to-stderr$' "$o"
check "no CR added to the output" bash -c "! grep -q $'\r' '$o'"
check "cwd is the caller's directory" grep -qx "cwd=$REPO" "$o"
check "FHANDLE_VM=1, TMPDIR=/tmp, HOME=/root" \
	grep -qx 'env FHANDLE_VM=1 TMPDIR=/tmp HOME=/root' "$o"
check "FHANDLE_OUT written by the guest is on the host" \
	grep -q '^payload ' "$out/from-guest.txt"
check "guest kernel log saved to the output folder" test -s "$out/vm-dmesg.log"
check "/mnt/tmpfs is tmpfs" grep -qx 'mount /mnt/tmpfs tmpfs' "$o"
check "/mnt/ext4 is ext4" grep -qx 'mount /mnt/ext4 ext4' "$o"
check "/mnt/xfs is xfs" grep -qx 'mount /mnt/xfs xfs' "$o"
check "/tmp and /root are tmpfs" \
	bash -c "grep -qx 'mount /tmp tmpfs' '$o' && grep -qx 'mount /root tmpfs' '$o'"
check "FHANDLE_SCRATCH lists the three" \
	grep -qx 'scratch=/mnt/tmpfs /mnt/ext4 /mnt/xfs' "$o"
check "scratch filesystems writable" grep -qx scratch-writable "$o"
check "root filesystem read-only" grep -qx root-read-only "$o"

# --- a clean run succeeds ---------------------------------------------------
vm clean --kernel "$kernel" -c 'test "$FHANDLE_VM" = 1'
check "a clean run exits 0 (got $(rc_of clean))" test "$(rc_of clean)" -eq 0

# --- a kernel-log splat fails the run ---------------------------------------
vm splat --kernel "$kernel" -c \
	'echo "WARNING: CPU: 0 PID: 1 at fake/selftest.c:1 fake_splat" > /dev/kmsg'
check "a WARNING: in the kernel log fails the run (got $(rc_of splat))" \
	test "$(rc_of splat)" -ne 0
check "the splat is printed" grep -q 'fake_splat' "$work/splat.err"

# --- a kmemleak report fails the run ------------------------------------------
# No userspace action makes a correct kernel leak, so the log scan is
# checked with the line kmemleak logs when a scan finds leaks.
vm leak --kernel "$kernel" -c \
	'echo "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" > /dev/kmsg'
check "a kmemleak report in the kernel log fails the run (got $(rc_of leak))" \
	test "$(rc_of leak)" -ne 0
check "the kmemleak line is printed" grep -q 'new suspected memory leaks' "$work/leak.err"

# --- on a kernel with kmemleak, every run ends with a scan --------------------
# (the debug kernel: FHANDLE_VM_KERNEL_DEBUG, else kernel/build.sh --debug)
if [[ -n ${FHANDLE_VM_KERNEL_DEBUG:-} ]]; then
	dkernel=$FHANDLE_VM_KERNEL_DEBUG
else
	dkernel=$(bash kernel/build.sh --debug 2> "$work/build-debug.err" | tail -n1)
fi
if [[ -n $dkernel && -f $dkernel ]]; then
	kout=$work/kshare
	mkdir "$kout"
	vm kmemleak --kernel "$dkernel" --debug --out "$kout" -c \
		'test -e /sys/kernel/debug/kmemleak && echo has-kmemleak'
	if grep -qx has-kmemleak "$work/kmemleak.out"; then
		check "debug kernel: a clean run exits 0 (got $(rc_of kmemleak))" \
			test "$(rc_of kmemleak)" -eq 0
		check "debug kernel: the kmemleak report is saved (empty)" \
			bash -c "test -f '$kout/vm-kmemleak.log' && ! test -s '$kout/vm-kmemleak.log'"
		check "debug kernel: the scan ran" \
			grep -q 'fhandle-vm: kmemleak: no leaks' "$kout/vm-console.log"
	else
		echo "skip: $dkernel has no kmemleak: the end-of-run scan not checked"
	fi
else
	echo "skip: no debug kernel ($dkernel): the end-of-run kmemleak scan not checked"
fi

# --- make vm-run passes CMD to the guest's shell as written --------------------
last_log=$work/vmrun.all
FHANDLE_VM_KERNEL=$kernel make -s vm-run \
	CMD='echo $FHANDLE_SCRATCH; echo "pid=$$"' > "$work/vmrun.all" 2>&1
vmrun_rc=$?
check "make vm-run: exit status 0 (got $vmrun_rc)" test "$vmrun_rc" -eq 0
check "make vm-run CMD='echo \$FHANDLE_SCRATCH': the guest's scratch list" \
	grep -qx '/mnt/tmpfs /mnt/ext4 /mnt/xfs' "$work/vmrun.all"
check "make vm-run CMD='echo \$\$': the guest shell's pid" \
	grep -qx 'pid=[0-9][0-9]*' "$work/vmrun.all"

# --- a timeout fails with the console shown ----------------------------------
t0=$(date +%s)
vm timeout --kernel "$kernel" --timeout 30 -c 'echo sleeping; sleep 600'
t1=$(date +%s)
check "a hung command times out with status 124 (got $(rc_of timeout))" \
	test "$(rc_of timeout)" -eq 124
check "the timeout is bounded ($((t1 - t0))s)" test $((t1 - t0)) -lt 75
check "the console log is shown" \
	bash -c "grep -q 'did not finish within 30s' '$work/timeout.err' &&
		grep -q 'last lines of the guest console' '$work/timeout.err' &&
		grep -q '^\[ *[0-9]*\.[0-9]*\] ' '$work/timeout.err'"

echo "$pass passed, $fail failed"
((fail == 0))
