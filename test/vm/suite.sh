#!/bin/bash
# The kernel-side test suite (`make vm-test`, which first builds the engine,
# the examples and the test/kernel binaries on the host):
#
#   1. build (or reuse) the normal and the debug kernel (kernel/build.sh)
#   2. normal kernel, one VM boot per stage:
#        kernel conformance tests on every scratch filesystem, and those
#        that need a slow device on ext4 and xfs on null_blk
#        engine tests with the uring backend
#        every jobfiles/*.fio briefly with the uring backend
#   3. debug kernel (KASAN, lockdep): the kernel conformance tests again
#
# Each stage's `N passed, N failed` lines are added up; a stage whose VM
# crashed, timed out or left warnings in the kernel log counts one failure
# more.  The last line is the total; the exit status is non-zero if
# anything failed.
#
# Environment: FHANDLE_VM_KERNEL / FHANDLE_VM_KERNEL_DEBUG: bzImages to use
# instead of building them; FHANDLE_SUITE_TIMEOUT (seconds per VM stage,
# default 900);
# FHANDLE_SUITE_KEEP=DIR keeps every stage's output and logs in DIR; the
# variables of test/vm/run.sh (FHANDLE_VM_ACCEL, ...) apply to every stage.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 2
stage_timeout=${FHANDLE_SUITE_TIMEOUT:-900}

if [[ -n ${FHANDLE_SUITE_KEEP:-} ]]; then
	work=$FHANDLE_SUITE_KEEP
	mkdir -p "$work" || exit 2
	keep=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-suite.XXXXXX") || exit 2
	keep=0
fi
cleanup() { ((keep)) || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf 'suite: %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

total_pass=0
total_fail=0
total_skip=0
summary=()
suite_start=$(now)

# Kernels.
declare -A kernel
for variant in normal debug; do
	args=()
	[[ $variant == debug ]] && args=(--debug)
	t=$(now)
	override=FHANDLE_VM_KERNEL
	[[ $variant == debug ]] && override=FHANDLE_VM_KERNEL_DEBUG
	if [[ -n ${!override:-} ]]; then
		say "kernel ($variant): \$$override=${!override}"
		echo "${!override}" > "$work/build-$variant.out"
	else
		say "kernel ($variant): bash kernel/build.sh ${args[*]}"
	fi
	if { [[ -n ${!override:-} ]] ||
	     bash kernel/build.sh "${args[@]}" > "$work/build-$variant.out"; } &&
	   image=$(tail -n1 "$work/build-$variant.out") && [[ -f $image ]]; then
		kernel[$variant]=$image
		summary+=("$(printf '%-28s %7ss  ok' "kernel build ($variant)" "$(since "$t")")")
		say "kernel ($variant): $image ($(since "$t")s)"
	else
		cat "$work/build-$variant.out"
		summary+=("$(printf '%-28s %7ss  FAILED' "kernel build ($variant)" "$(since "$t")")")
		say "kernel ($variant): build FAILED ($(since "$t")s)"
		total_fail=$((total_fail + 1))
	fi
done

# The guest side of a stage: run each part, framed by marker lines that
# the host side reads back.  $1 = name, rest = command (one string).
part() {
	printf '@@suite-part %s\n' "$1"
	bash -c "$2"
	printf '@@suite-rc %s %d\n' "$1" "$?"
}
part_def=$(declare -f part)

count_re='^([A-Za-z][A-Za-z0-9_-]*: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?[[:space:]]*$'

# count_stage LOG RC NAME: add up a stage's output into pass, fail, skip
# and note.  Per part, its last count line.  A part that never printed one
# (it died or the VM stopped) is counted by its PASS/FAIL/SKIP lines; a part
# that failed without counting a failure, or never finished, counts one
# failure more; so does a VM that timed out, died or left a dirty kernel
# log (once, whether or not a part was cut short by it).
count_stage() {
	local log=$1 rc=$2 name=$3
	local line cur= counted=0 parts=0 cp=0 cf=0 cs=0 lp=0 lf=0 ls=0 prc
	local unfinished=0
	pass=0 fail=0 skip=0 note=
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line == '@@suite-part '* ]]; then
			cur=${line#@@suite-part } cp=0 cf=0 cs=0 counted=0 lp=0 lf=0 ls=0
		elif [[ -z $cur ]]; then
			continue
		elif [[ $line == '@@suite-rc '* ]]; then
			prc=${line##* }
			((counted)) || cp=$lp cf=$lf cs=$ls
			((prc != 0 && cf == 0)) && cf=1
			((prc == 0 && cp + cf + cs == 0)) && cp=1
			pass=$((pass + cp)) fail=$((fail + cf)) skip=$((skip + cs))
			parts=$((parts + 1))
			((prc == 0)) || say "$name: '$cur' exited with status $prc"
			cur=
		elif [[ $line =~ $count_re ]]; then
			cp=${BASH_REMATCH[2]} cf=${BASH_REMATCH[3]} counted=1
			cs=${BASH_REMATCH[5]:-0}
		elif [[ $line =~ ^PASS([[:space:]]|:|$) ]]; then
			lp=$((lp + 1))
		elif [[ $line =~ ^FAIL([[:space:]]|:|$) ]]; then
			lf=$((lf + 1))
		elif [[ $line =~ ^SKIP([[:space:]]|:|$) ]]; then
			ls=$((ls + 1))
		fi
	done < "$log"
	if [[ -n $cur ]]; then
		say "$name: '$cur' did not finish"
		((counted)) || cp=$lp cf=$lf cs=$ls
		pass=$((pass + cp)) fail=$((fail + cf)) skip=$((skip + cs))
		unfinished=1 note=" ('$cur' did not finish)"
	fi
	if ((rc == 124)); then
		note=" (VM timed out)"
	elif ((rc == 125)); then
		note=" (VM died)"
	elif grep -q '^vm: FAIL: the guest kernel log' "$log"; then
		note=" (kernel log not clean)"
	elif ((rc != 0 && fail == 0 && !unfinished)); then
		note=" (status $rc)"
	elif ((parts == 0 && !unfinished)); then
		note=" (no test ran)"
	fi
	[[ -n $note ]] && fail=$((fail + 1))
}

# run_stage NAME VARIANT BODY: one VM boot running BODY, guest bash code
# that runs its tests through `part NAME COMMAND`.
run_stage() {
	local name=$1 variant=$2 body=$3
	local slug=${name//[^A-Za-z0-9]/_}
	say "==== $name ($variant kernel)"
	local t rc pass fail skip note took
	t=$(now)
	if [[ -z ${kernel[$variant]:-} ]]; then
		say "$name: no $variant kernel: FAILED"
		summary+=("$(printf '%-28s %7s   0 passed, 1 failed (no kernel)' "$name" "-")")
		total_fail=$((total_fail + 1))
		return
	fi
	local dbg=() slow_ns=100000000
	[[ $variant == debug ]] && dbg=(--debug) slow_ns=400000000
	FHANDLE_SLOW_NS=$slow_ns bash "$HERE/run.sh" \
		--kernel "${kernel[$variant]}" "${dbg[@]}" \
		--timeout "$stage_timeout" --out "$work/$slug.out" \
		-c "$part_def"$'\n'"$body" 2>&1 | tee "$work/$slug.log"
	rc=${PIPESTATUS[0]}
	count_stage "$work/$slug.log" "$rc" "$name"
	total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	took=$(since "$t")
	say "$name: $pass passed, $fail failed, $skip skipped$note in ${took}s"
	summary+=("$(printf '%-28s %7ss  %d passed, %d failed, %d skipped%s' "$name" "$took" "$pass" "$fail" "$skip" "$note")")
}

# The kernel conformance tests (test/kernel/run.sh, given the directory
# to test in), once per scratch filesystem; then the tests that need a slow
# device (test/kernel/nowait) on ext4 and xfs on null_blk devices whose
# reads take $FHANDLE_SLOW_NS (test/vm/nullb.sh): 100 ms on the normal
# kernel, 400 ms on the debug one, whose submit of nowait's batch took
# 43-54 ms on a loaded host (it must take less than a quarter of a read).
ktests='
slowdev() {
	local ns=${FHANDLE_SLOW_NS:-100000000}
	bash test/vm/nullb.sh up slowext4 ext4 "$ns" 1023 512 /mnt/slow-ext4 &&
	bash test/vm/nullb.sh up slowxfs xfs "$ns" 1023 512 /mnt/slow-xfs &&
	KTESTS="nowait" bash test/kernel/run.sh /mnt/slow-ext4 /mnt/slow-xfs
}
export -f slowdev
if [ -f test/kernel/run.sh ]; then
	for d in $FHANDLE_SCRATCH; do
		part "kernel tests on $d" "bash test/kernel/run.sh $d"
	done
	part "kernel tests on slow devices" slowdev
else
	part "kernel tests" "echo test/kernel/run.sh does not exist; exit 1"
fi'

run_stage "kernel tests" normal "$ktests"
run_stage "engine tests (uring)" normal \
	"part engine 'FHANDLE_BACKEND=uring bash test/engine/run.sh'"
run_stage "jobfiles (uring)" normal \
	"part jobs 'FHANDLE_BACKEND=uring bash test/jobs.sh'"
run_stage "kernel tests (debug)" debug "$ktests"

say "==== summary (total $(since "$suite_start")s)"
for s in "${summary[@]}"; do say "  $s"; done
((keep)) && say "logs kept in $work"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
((total_fail == 0))
