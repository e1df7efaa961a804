# Sourced by test/bench/matrix.sh and exact.sh: one measured run.
# Needs $out (json/ under it), the counters nrun and nfail, and a progress
# function.

# bench_json ID CMD...: CMD's stdout (fio's JSON, or rawloop's line) into
# $out/json/ID.json without the log_info lines fio can print before the
# JSON, its stderr into ID.err (removed if empty); returns CMD's status.
bench_json() {
	local id=$1 json=$out/json/$1.json rc
	shift
	"$@" >"$json.raw" 2>"$out/json/$id.err"
	rc=$?
	sed -n '/^{/,$p' "$json.raw" >"$json"
	rm -f "$json.raw"
	[ -s "$out/json/$id.err" ] || rm -f "$out/json/$id.err"
	nrun=$((nrun + 1))
	return $rc
}

# bench_failed ID STATUS WHAT: count a failed run and say why
bench_failed() {
	nfail=$((nfail + 1))
	progress "FAILED $3 (status $2):" \
		"$(tail -n 3 "$out/json/$1.err" 2>/dev/null | tr '\n' ' ')"
}
