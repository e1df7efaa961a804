#!/usr/bin/env bash
# The NFS capture and replay (test/nfs), end to end on a small file set:
# ganesha serves it, nfsload works, strace captures, convert.py converts,
# replay.sh replays with the sync backend; and the converter's bad input.
# Counts only, no timing: these machines are shared.
#
# usage: test/nfs/run.sh [TEST...]
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
NFS=$TOP/test/nfs
CONVERT=$NFS/convert.py

# count_calls TRACE T0 T1 NAME: successful NAME calls of strace's log that
# started within [T0, T1] -- counted here with awk, apart from convert.py
count_calls() {
	awk -v t0="$2" -v t1="$3" -v name="$4" '
	{ tid = $1; ts = $2 + 0 }
	index($0, " " name "(") && / <unfinished \.\.\.>$/ { start[tid] = ts; next }
	index($0, "<... " name " resumed>") {
		if (start[tid] >= t0 && start[tid] <= t1 && $0 !~ /\) += -1 /) n++
		next
	}
	index($0, " " name "(") {
		if (ts >= t0 && ts <= t1 && $0 !~ /\) += -1 /) n++
	}
	END { print n + 0 }' "$1"
}

# The server's files and places: nothing of ours may stay after a run.
# ganesha.sh's processes live in a network namespace of their own: a
# ganesha, rpcbind, strace or namespace holder (sleep) outside ours is one
# of them (the machine's own rpcbind, if any, is in ours).
leftovers() {
	local marker=$1 p ns
	ns=$(readlink /proc/self/ns/net)
	for p in $(pgrep -x ganesha.nfsd) $(pgrep -x rpcbind) $(pgrep -x strace) \
		$(pgrep -x sleep); do
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] && continue
		[ -e "/proc/$p" ] || continue
		echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"
	done
	grep fhandle-nfs /proc/self/mounts
	find /var/lib/nfs /etc/ganesha /etc/default /run -maxdepth 2 \
		-newer "$marker" \( -path '/run/user*' -prune -o -print \) 2>/dev/null |
		grep -Ev '^/run$|^/run/(systemd|lock|utmp|mount)'
}

# a synthetic capture of one LOOKUP: the shape convert.py reads
synthetic() {
	local c=$1
	mkdir -p "$c"
	printf 'files 2\nper_dir 2\nsize 4096\n' >"$c/fileset"
	echo /srv/set >"$c/export"
	printf '1\t01000000\t.\n1\t02000000\tt000\n1\t03000000\tt000/d000\n1\t04000000\tt000/d000/f000000\n1\t05000000\tt000/d000/f000001\n' \
		>"$c/handles.tsv"
	printf 'cold-lookup\tstrace\ttrace.txt\tlookup\t100.000000\t200.000000\t1\t0\t10.0\t10.0\t10.0\t100\n' \
		>"$c/capture.tsv"
	cat >"$c/trace.txt" <<'TRACE'
10 150.000000 recvfrom(5<socket:[1]>, "\200\0\0x", 4, MSG_WAITALL, NULL, NULL) = 4 <0.000010>
10 150.000100 open_by_handle_at(4</>, {handle_bytes=4, handle_type=1, f_handle="\x03\x00\x00\x00"}, O_ACCMODE|O_NOFOLLOW|O_PATH <unfinished ...>
11 150.000150 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>
10 150.000200 <... open_by_handle_at resumed>) = 7 <0.000100>
10 150.000300 name_to_handle_at(7</srv/set/t000/d000>, "f000001", {handle_bytes=128 => 4, handle_type=1, f_handle="\x05\x00\x00\x00"}, [43], 0) = 0 <0.000010>
10 150.000400 close(7</srv/set/t000/d000>) = 0 <0.000010>
10 150.000500 sendmsg(5<socket:[1]>, {msg_name=NULL}, MSG_DONTWAIT) = 100 <0.000010>
1 300.000000 +++ exited with 0 +++
TRACE
}

# expect_convert_error CAPTURE PATTERN: convert.py must fail, saying it
expect_convert_error() {
	local c=$1 pattern=$2 out rc
	out=$(python3 "$CONVERT" convert "$c" "$c.out" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || { fail "convert.py exited $rc, want 1: $out"; return 1; }
	grep -qE -- "$pattern" <<<"$out" ||
		{ fail "convert.py's message lacks /$pattern/: $out"; return 1; }
	grep -q Traceback <<<"$out" && { fail "a traceback: $out"; return 1; }
	return 0
}

# ---- end to end -------------------------------------------------------

# Capture 300 files, convert, replay with the sync backend: fio performs
# exactly the captured encodes and opens, counted three ways (strace's log
# with awk, the converter's jobs.tsv, fio's JSON); ganesha saw as many
# requests as the client sent; nothing stays behind.
t_end_to_end() {
	local d marker cap conv row label trace phase t0 t1 job enc opn want \
		got ops reqs left
	d=$(tdir)
	# packages first: their installation writes /etc and /var/lib/nfs
	bash "$TOP/test/need-pkgs.sh" nfs-ganesha nfs-ganesha-vfs rpcbind \
		libnfs-utils iproute2 strace jq >"$d/pkgs.log" 2>&1 ||
		{ fail "cannot install the packages:"; cat "$d/pkgs.log"; return 1; }
	marker=$d/marker
	touch "$marker"
	sleep 1	# -newer compares whole seconds on some filesystems
	cap=$d/capture conv=$d/jobs
	# the README's commands, as written there, into this test's directory
	sed -n '/^## Capture and replay your own server/,/^## /p' "$TOP/README.md" |
		sed -n '/^```$/,/^```$/p' | grep -v '^```' |
		sed "s|/tmp/cap|$cap|; s|/tmp/jobs|$conv|" >"$d/readme.sh"
	grep -q 'capture.sh --files 300' "$d/readme.sh" ||
		{ fail "no capture command in the README's section"; return 1; }
	(cd "$TOP" && bash -e "$d/readme.sh") >"$d/readme.log" 2>&1 ||
		{ fail "the README's commands failed:"; tail -20 "$d/readme.log"; return 1; }
	left=$(leftovers "$marker")
	[ -z "$left" ] || { fail "left behind after the capture: $left"; return 1; }
	grep -c 'as captured$' "$d/readme.log" >"$d/n"
	[ "$(cat "$d/n")" -ge 4 ] || { fail "the README's replay replayed $(cat "$d/n") job files"; return 1; }
	# every phase of both servers, traced and not, is there, without errors
	expect_eq "capture lines" "$(wc -l <"$cap/capture.tsv")" 24 || return 1
	expect_eq "client errors" "$(awk -F'\t' '{ e += $8 } END { print e + 0 }' \
		"$cap/capture.tsv")" 0 || return 1
	# ganesha served each client op as one request
	while IFS=$'\t' read -r label phase ops reqs; do
		expect_eq "$label $phase: requests ganesha read" "$reqs" "$ops" || return 1
	done < <(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ print $c["state"] "\t" $c["phase"] "\t" $c["ops"] "\t" $c["requests"] }' \
		"$conv/report.tsv")
	# the cold server makes handle calls for every op type
	for phase in readdirplus lookup getattr read; do
		[ -f "$conv/cold-$phase.fio" ] ||
			{ fail "no job for the cold $phase phase"; return 1; }
	done
	while IFS=$'\t' read -r label _ trace phase t0 t1 ops _; do
		job=$conv/$label-$phase.fio
		[ "$label" = "cold-$phase" ] && job=$conv/$label.fio
		enc=$(count_calls "$cap/$trace" "$t0" "$t1" name_to_handle_at)
		opn=$(count_calls "$cap/$trace" "$t0" "$t1" open_by_handle_at)
		if [ $((enc + opn)) = 0 ]; then
			[ ! -e "$job" ] || { fail "$job for a phase without handle calls"; return 1; }
			continue
		fi
		want=$(awk -F'\t' -v f="${job##*/}" '$1 == f { r += $3; w += $4 }
			END { print r + 0, w + 0 }' "$conv/jobs.tsv")
		expect_eq "$label $phase: jobs.tsv against strace's log" "$want" "$opn $enc" ||
			return 1
		bash "$NFS/replay.sh" --backend sync --out "$d/json" "$conv" "$job" \
			>>"$d/replay.log" 2>&1 ||
			{ fail "replay of $label-$phase failed:"; tail "$d/replay.log"; return 1; }
		got=$(jq -r '[([.jobs[].read.total_ios] | add), ([.jobs[].write.total_ios] | add)] |
			map(tostring) | join(" ")' "$d/json/$(basename "$job" .fio).sync.json")
		expect_eq "$label $phase: fio's opens and encodes" "$got" "$opn $enc" || return 1
	done < <(awk -F'\t' '$2 == "strace"' "$cap/capture.tsv")
	left=$(leftovers "$marker")
	[ -z "$left" ] || fail "left behind: $left"
}

# The shipped replay (jobfiles/ganesha, the full case) replays as captured.
t_shipped_jobs() {
	local d
	d=$(tdir)
	[ -f "$TOP/jobfiles/ganesha/jobs.tsv" ] || { fail "jobfiles/ganesha has no jobs.tsv"; return 1; }
	bash "$NFS/replay.sh" --backend "$BACKEND" --dir "$d/set" "$TOP/jobfiles/ganesha" \
		>"$d/log" 2>&1 || { fail "replay failed:"; cat "$d/log"; return 1; }
	grep -q 'as captured' "$d/log" || { fail "nothing replayed: $(cat "$d/log")"; return 1; }
}

# ---- the converter's bad input -----------------------------------------

t_convert_synthetic() {
	local c
	c=$(tdir)/cap
	synthetic "$c"
	python3 "$CONVERT" convert "$c" "$c.out" >"$c.log" 2>&1 ||
		{ fail "a good capture failed: $(cat "$c.log")"; return 1; }
	expect_eq "jobs.tsv" "$(tail -n +2 "$c.out/jobs.tsv" | cut -f3,4 | tr '\t' ' ')" "1 1" ||
		return 1
	grep -q '^fh_open_flags=path$' "$c.out/cold-lookup.fio" ||
		fail "the O_PATH open is not fh_open_flags=path"
}

t_convert_empty() {
	local c
	c=$(tdir)/cap
	synthetic "$c"
	: >"$c/trace.txt"
	expect_convert_error "$c" "trace.txt: the capture is empty" || return 1
	: >"$c/capture.tsv"
	expect_convert_error "$c" "capture.tsv: the capture is empty" || return 1
	rm -f "$c/capture.tsv"
	expect_convert_error "$c" "capture.tsv: No such file"
}

t_convert_truncated() {
	local c
	c=$(tdir)/cap
	synthetic "$c"
	# cut in the middle of a line
	head -c $(($(wc -c <"$c/trace.txt") / 2)) "$c/trace.txt" >"$c/t" &&
		mv "$c/t" "$c/trace.txt"
	expect_convert_error "$c" "truncated: the last line is cut off" || return 1
	# cut at a line's end, before the server's exit
	synthetic "$c"
	head -n 4 "$c/trace.txt" >"$c/t" && mv "$c/t" "$c/trace.txt"
	expect_convert_error "$c" "truncated: the server's exit is not in it" || return 1
	# a call that never returned
	synthetic "$c"
	sed -i '/resumed/d' "$c/trace.txt"
	expect_convert_error "$c" "truncated: open_by_handle_at never returned" || return 1
	# a phase that ends after the log does
	synthetic "$c"
	sed -i 's/200\.000000/400.000000/' "$c/capture.tsv"
	expect_convert_error "$c" "truncated: it ends at" || return 1
	# a capture.tsv cut off
	synthetic "$c"
	printf 'cold-read\tstrace\ttrace.txt\tre' >>"$c/capture.tsv"
	expect_convert_error "$c" "capture.tsv: truncated"
}

t_convert_outside_set() {
	local c
	c=$(tdir)/cap
	synthetic "$c"
	sed -i 's|7</srv/set/t000/d000>, "f000001"|7</srv/other>, "f000001"|' "$c/trace.txt"
	expect_convert_error "$c" "name_to_handle_at of /srv/other/f000001: outside the file set /srv/set" ||
		return 1
	synthetic "$c"
	sed -i 's|"f000001"|"f000009"|' "$c/trace.txt"
	expect_convert_error "$c" "not a file of the set" || return 1
	synthetic "$c"
	sed -i 's|f_handle="\\x03\\x00\\x00\\x00"|f_handle="\\x09\\x00\\x00\\x00"|' "$c/trace.txt"
	expect_convert_error "$c" "open_by_handle_at of a handle \(type 1, 09000000\) that is no file of the set"
}

t_convert_not_strace() {
	local c
	c=$(tdir)/cap
	synthetic "$c"
	sed -i '2i this is not strace' "$c/trace.txt"
	expect_convert_error "$c" "trace.txt:2: not a line of strace" || return 1
	synthetic "$c"
	sed -i '1s/.*/10 150.000000 recvfrom(5<socket:[1]>, "x", 4/' "$c/trace.txt"
	expect_convert_error "$c" "trace.txt:1: a call without its result" || return 1
	synthetic "$c"
	printf '1\tzz\tt000\n' >>"$c/handles.tsv"
	expect_convert_error "$c" "handles.tsv:6: not a handle of the set"
}

# replay.sh's check can fail: a job whose capture says otherwise
t_replay_mismatch() {
	local c out
	c=$(tdir)/cap
	synthetic "$c"
	python3 "$CONVERT" convert "$c" "$c.out" >/dev/null 2>&1 || { fail "convert failed"; return 1; }
	sed -i 's/\t1\t1$/\t2\t1/' "$c.out/jobs.tsv"
	out=$(bash "$NFS/replay.sh" --backend sync "$c.out" 2>&1) &&
		{ fail "replay.sh exited 0: $out"; return 1; }
	grep -q 'MISMATCH: fio did 1 1 opens/encodes .*; the capture has 2 1' <<<"$out" ||
		fail "no mismatch said: $out"
}

# --cold (caches dropped after the inits) replays as captured, twice on
# the same tree: fio's exec_prerun output does not stay in it
t_replay_cold() {
	local c d
	d=$(tdir)
	c=$d/cap
	synthetic "$c"
	python3 "$CONVERT" convert "$c" "$c.out" >/dev/null 2>&1 || { fail "convert failed"; return 1; }
	for i in 1 2; do
		bash "$NFS/replay.sh" --backend "$BACKEND" --cold --dir "$d/set" "$c.out" \
			>"$d/log" 2>&1 || { fail "cold replay $i failed: $(cat "$d/log")"; return 1; }
		grep -q 'cold-lookup (.*, cold): .*as captured' "$d/log" ||
			{ fail "cold replay $i: $(cat "$d/log")"; return 1; }
	done
	expect_eq "the tree's top" "$(ls "$d/set")" t000
}

t_fileset_refuses_other_dir() {
	local d out
	d=$(tdir)
	mkdir "$d/set" && echo mine >"$d/set/precious"
	out=$(python3 "$CONVERT" fileset "$d/set" --files 10 2>&1) &&
		{ fail "fileset took a directory with other files"; return 1; }
	grep -q 'neither empty nor this file set' <<<"$out" || { fail "$out"; return 1; }
	expect_eq "the user's file" "$(cat "$d/set/precious")" mine
}

t_nfsload_bad_usage() {
	local out rc
	out=$("$TOP/build/nfs/nfsload" 127.0.0.1 /x lookup 2>&1)
	rc=$?
	expect_eq "exit status" "$rc" 2 || return 1
	grep -q 'the first phase must be readdirplus' <<<"$out" || { fail "$out"; return 1; }
	out=$("$TOP/build/nfs/nfsload" 127.0.0.1 /x dance 2>&1)
	expect_eq "exit status" "$?" 2 || return 1
	grep -q "unknown phase 'dance'" <<<"$out" || fail "$out"
}

# No server: nfsload says so and fails (in a namespace of its own, so that
# no server of the machine's answers)
t_nfsload_no_server() {
	local out rc
	out=$(unshare -n sh -c 'ip link set lo up; exec timeout 60 "$0" 127.0.0.1 /x readdirplus' \
		"$TOP/build/nfs/nfsload" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || { fail "exit status $rc: $out"; return 1; }
	grep -qi 'nfsload: .*\(refused\|fail\|connect\)' <<<"$out" || fail "$out"
}

t_ganesha_bad_export() {
	local d out
	d=$(tdir)
	out=$(bash "$NFS/ganesha.sh" start "$d/state" relative/path 2>&1) &&
		{ fail "started on a relative path"; bash "$NFS/ganesha.sh" stop "$d/state"; return 1; }
	grep -q 'EXPORT must be an absolute path' <<<"$out" || { fail "$out"; return 1; }
	out=$(bash "$NFS/ganesha.sh" exec "$d/state" true 2>&1) &&
		{ fail "exec without a server exited 0"; return 1; }
	grep -q 'no server runs there' <<<"$out" || fail "$out"
}

# BENCHMARKS.md's section is what the committed results give, and the
# check fails on an edited number
t_benchmarks_section() {
	local d
	d=$(tdir)
	python3 "$NFS/summary.py" "$TOP/test/bench/results/nfs" --check \
		"$TOP/BENCHMARKS.md" || { fail "the section differs"; return 1; }
	cp "$TOP/BENCHMARKS.md" "$d/B.md"
	# the first number of the section's first table row, plus one
	python3 - "$d/B.md" <<'PY' || { fail "cannot edit the copy"; return 1; }
import re, sys
p = sys.argv[1]
t = open(p).read()
i = t.index("## nfs-ganesha's own handle calls, replayed")
m = re.compile(r"\| (\d+) \|").search(t, i)
t = t[:m.start(1)] + str(int(m.group(1)) + 1) + t[m.end(1):]
open(p, "w").write(t)
PY
	python3 "$NFS/summary.py" "$TOP/test/bench/results/nfs" --check "$d/B.md" \
		2>"$d/err" && { fail "an edited number passed the check"; return 1; }
	grep -q 'is not what' "$d/err" || fail "$(cat "$d/err")"
}

all="convert_synthetic convert_empty convert_truncated convert_outside_set
	convert_not_strace replay_mismatch replay_cold fileset_refuses_other_dir
	nfsload_bad_usage nfsload_no_server ganesha_bad_export end_to_end
	shipped_jobs benchmarks_section"
# shellcheck disable=SC2086
run_tests ${*:-$all}
