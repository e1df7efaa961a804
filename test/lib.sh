# Shared helpers for the project's shell tests.  Source it; a test is a
# function t_NAME that returns 0 (pass), 77 (skip, after printing why with
# skip) or anything else (fail, after printing why with fail).

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SO=$TOP/build/fhandle.so
PROBE=$TOP/build/examples/fhandle-probe
BACKEND=${FHANDLE_BACKEND:-sync}
export FHANDLE_SO=$SO FHANDLE_BACKEND=$BACKEND

fail() { echo "    $*"; return 1; }
skip() { echo "    $*"; return 77; }

# The kernel has both opcodes and they behave (examples/fhandle-probe).
have_opcodes() { "$PROBE" -q; }

# Tests of the build, install and README: the host stage runs them; in the
# VM (read-only root, slow) they add nothing.
host_only() {
	[ -z "${FHANDLE_VM:-}" ] || skip "host-only: the host stage runs it"
}

need_uring() {
	[ "$BACKEND" = uring ] ||
		{ skip "needs FHANDLE_BACKEND=uring (the VM suite runs it)"; return; }
	have_opcodes ||
		skip "kernel $(uname -r) has no io_uring handle opcodes (runs in the VM: make vm-test)"
}

# A fresh directory for one test, removed by the runner.
tdir() {
	local d
	d=$(mktemp -d "$WORK/t.XXXXXX")
	echo "$d"
}

# fio_engine OUT.json [FIO ARG...]: fio with the engine, JSON in OUT.json,
# the rest of its output in OUT.json.log.  Returns fio's exit status.
fio_engine() {
	local out=$1
	shift
	fio --output-format=json --output="$out.raw" \
		--ioengine=external:"$SO" --fh_backend="$BACKEND" \
		--bs=4k --filesize=4k "$@" >"$out.log" 2>&1
	local rc=$?
	# fio's log_info lines (exec_prerun) can precede the JSON
	sed -n '/^{/,$p' "$out.raw" >"$out"
	return $rc
}

# jqv FILE EXPR: one value out of fio's JSON
jqv() { jq -r "$2" "$1"; }

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_fio_error OUT PATTERN [FIO ARG...]: fio must fail, saying PATTERN.
expect_fio_error() {
	local out=$1 pattern=$2
	shift 2
	if fio --ioengine=external:"$SO" --bs=4k --filesize=4k "$@" \
		>"$out" 2>&1; then
		fail "fio exited 0 for: $*"
		return
	fi
	grep -qE -- "$pattern" "$out" ||
		{ fail "fio's output lacks /$pattern/:"; sed 's/^/      /' "$out" | head -20; return 1; }
}

# run_tests NAME...: run t_NAME for each, print PASS/FAIL/SKIP lines and
# a closing "N passed, N failed, N skipped" line; status 1 on any failure.
# FH_KEEP=1 keeps the tests' work directory (under $TMPDIR) to look at.
run_tests() {
	local name rc passed=0 failed=0 skipped=0 out start took
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-test.XXXXXX")
	export WORK
	for name in "$@"; do
		out=$WORK/$name.out
		start=$SECONDS
		(set +e; cd "$WORK" && "t_$name") >"$out" 2>&1
		rc=$?
		took="($((SECONDS - start)) s)"
		case $rc in
		0) echo "PASS $name $took"; passed=$((passed + 1)) ;;
		77) echo "SKIP $name"; skipped=$((skipped + 1)); cat "$out" ;;
		*) echo "FAIL $name (status $rc) $took"; failed=$((failed + 1))
		   tail -n 30 "$out" ;;
		esac
	done
	[ -n "${FH_KEEP:-}" ] || rm -rf "$WORK"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
}
