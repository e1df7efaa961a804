# Sourced by test/bench/host.sh: is the machine quiet?
# Needs $out (where load.tsv goes) and a progress function.

# idle and total jiffies of all CPUs
cpu_times() {
	awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# load_check WHAT: the share of the CPUs busy over one second, and the
# 1-minute load average, to $out/load.tsv and the progress line; a busy
# share above 10% (another engineer's build, a VM) is called not quiet.
load_check() {
	local a b busy la
	a=$(cpu_times)
	sleep 1
	b=$(cpu_times)
	busy=$(echo "$a $b" | awk '{ t = $4 - $2; printf "%.1f", (t > 0 ? 100 * (1 - ($3 - $1) / t) : 0) }')
	la=$(cut -d' ' -f1 /proc/loadavg)
	printf '%s\t%s\t%s\t%s\n' "$(date +%s)" "$1" "$busy" "$la" >>"$out/load.tsv"
	if awk -v b="$busy" 'BEGIN { exit !(b > 10) }'; then
		progress "NOT QUIET before $1: CPUs ${busy}% busy, load $la"
	else
		progress "quiet before $1: CPUs ${busy}% busy, load $la"
	fi
}
