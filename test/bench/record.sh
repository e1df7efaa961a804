# Sourced by the benchmark scripts: one measured run as one line of JSON.
# Needs $out and a say function; counts failed runs in nfail.

# The fields of fio's JSON the report reads (JQ=$FIO_FIELDS record ...):
# the jobs' operations and ops/s added up, the first job's percentiles
FIO_FIELDS='{tool: "fio",
	ops: ([.jobs[] | .read.total_ios + .write.total_ios] | add),
	ops_per_sec: ([.jobs[] | .read.iops + .write.iops] | add),
	runtime_ms: ([.jobs[] | .read.runtime, .write.runtime] | max),
	p50_ns: (.jobs[0] | if .read.total_ios > 0 then .read else .write end |
		.clat_ns.percentile["50.000000"]),
	p99_ns: (.jobs[0] | if .read.total_ios > 0 then .read else .write end |
		.clat_ns.percentile["99.000000"]),
	error: ([.jobs[] | .error] | max)}'

# record KEY=VALUE... -- CMD...: CMD's line of JSON (rawloop's, or fio's
# JSON through the jq filter $JQ), with the keys added (numbers as
# numbers), appended to $out/cells.jsonl; 1 after saying why if CMD failed.
record() {
	local meta=() line
	while [ "$1" != -- ]; do meta+=("$1"); shift; done
	shift
	if ! line=$("$@" 2>"$out/last.err" | sed -n '/^{/,$p' |
		    jq -ce "${JQ:-.}" 2>>"$out/last.err"); then
		nfail=$((nfail + 1))
		say "FAILED: ${meta[*]}: $*: $(tail -3 "$out/last.err" | tr '\n' ' ')"
		return 1
	fi
	jq -c --argjson m "$(printf '%s\n' "${meta[@]}" |
		jq -R 'split("=") | {(.[0]): (.[1:] | join("=") | tonumber? // .)}' |
		jq -s add)" '. + $m' <<<"$line" >>"$out/cells.jsonl"
	say "${meta[*]}: $(jq -r '"\(.ops) ops, \(.ops_per_sec | floor) ops/s" +
		(if .busy_ns_per_op then ", \(.busy_ns_per_op | floor) ns busy/op, \(.reads_per_op) reads/op" else "" end)' <<<"$line")"
}
