#!/usr/bin/env bash
# fio's client/server mode with the fhandle engine, on loopback: a server
# on 127.0.0.1 at an unused port (always killed, every run bounded in
# time), jobs sent by `fio --client`.  Prints PASS/FAIL/SKIP lines and
# "N passed, N failed, N skipped".  FHANDLE_BACKEND picks the backend
# (sync by default; uring where the kernel has the opcodes).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

JOB=$TOP/jobfiles/client-server.fio
SERVER_PID=
PORT=

# A TCP port nobody listens on, from a range away from the usual ones.
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# start_server DIR: a fio server on 127.0.0.1, its log in DIR/server.log.
# The server has none of the FHANDLE_* variables: the client expands them.
start_server() {
	local d=$1 i
	PORT=$(free_port) || { fail "no free port"; return 1; }
	env -u FHANDLE_SO -u FHANDLE_BACKEND \
		timeout 60 fio --server=ip:127.0.0.1,"$PORT" \
		>"$d/server.log" 2>&1 &
	SERVER_PID=$!
	trap stop_server EXIT
	for i in $(seq 1 50); do
		ss -Htln "sport = :$PORT" | grep -q . && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the fio server did not listen on 127.0.0.1:$PORT:"
	cat "$d/server.log"
	return 1
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}
trap stop_server EXIT

# client OUT.json JOBFILE: fio --client with a 30 s bound.  In fio 3.33's
# client mode, options placed after --client go to the server as a command
# line of their own and do not reach a job file's jobs (a --directory there
# is lost); options after the job file are the client's.  So every job
# option goes in the job file.
client() {
	local out=$1 job=$2
	timeout 30 fio --client=ip:127.0.0.1,"$PORT" "$job" \
		--output-format=json --output="$out.raw" >"$out.log" 2>&1
	local rc=$?
	sed -n '/^{/,$p' "$out.raw" >"$out" 2>/dev/null
	return $rc
}

# mkjob FILE DIR [OPTION=VALUE...]: a one-job file on the engine
mkjob() {
	local f=$1 d=$2
	shift 2
	{
		echo "[global]"
		echo "ioengine=external:$SO"
		echo "fh_backend=$BACKEND"
		echo "directory=$d"
		printf '%s\n' "$@"
		echo "[opens]"
	} >"$f"
}

# The job file of jobfiles/, both of its jobs, through the server.
t_jobfile_via_server() {
	local d j
	d=$(tdir)
	start_server "$d" || return 1
	j=$d/out.json
	# the job's directory is the server's: set it in the job itself
	sed "s/^runtime=.*/runtime=1/; s|^\\[global\\]\$|&\\ndirectory=$d|" \
		"$JOB" >"$d/job.fio"
	client "$j" "$d/job.fio" ||
		{ fail "fio --client failed:"; cat "$j.log" "$d/server.log"; return 1; }
	stop_server
	expect_eq "jobs reported" "$(jq '.client_stats | map(select(.jobname != "All clients")) | length' "$j")" 2 || return 1
	jq -e '.client_stats | map(select(.jobname != "All clients")) |
		all(.error == 0 and (.read.total_ios + .write.total_ios) > 0)' \
		"$j" >/dev/null ||
		{ fail "a job erred or did nothing"; jq '.client_stats' "$j"; return 1; }
	# the server laid out the file set, prefixed with its address
	[ -f "$d/127.0.0.1.f.0" ] || fail "no file set made by the server in $d"
}

# A fixed number of operations: the same count through the server as run
# locally, in fio's read statistics.
t_same_count_as_local() {
	local d n_local n_remote
	d=$(tdir)
	mkjob "$d/job.fio" "$d" nrfiles=1000 filesize=4k bs=4k rw=randread \
		file_service_type=random number_ios=777
	fio "$d/job.fio" --output-format=json --output="$d/local.json" \
		>/dev/null 2>&1 || { fail "the local run failed"; return 1; }
	n_local=$(jq '.jobs[0].read.total_ios' "$d/local.json")
	start_server "$d" || return 1
	client "$d/remote.json" "$d/job.fio" ||
		{ fail "fio --client failed:"; cat "$d/remote.json.log"; return 1; }
	stop_server
	n_remote=$(jq '.client_stats[0].read.total_ios' "$d/remote.json")
	expect_eq "local total_ios" "$n_local" 777 || return 1
	expect_eq "total_ios through the server" "$n_remote" 777
}

# An engine error on the server reaches the client: an error of the
# engine's init, its message and a non-zero exit status; a value the
# engine refuses when fio parses the job, its message (the client exits 0
# for that, as it does for fio's own rw=bogus: fio drops the job).
t_engine_error_reaches_client() {
	local d
	d=$(tdir)
	start_server "$d" || return 1
	mkjob "$d/job.fio" "$d" fh_open_flags=path fh_read_op=open_read \
		nrfiles=5 filesize=4k bs=4k rw=randread number_ios=10
	if client "$d/out.json" "$d/job.fio"; then
		fail "fio --client exited 0 for an O_PATH read"
		return 1
	fi
	grep -q "an O_PATH fd cannot be read" "$d/out.json.log" \
		"$d/out.json.raw" 2>/dev/null ||
		{ fail "the engine's init error did not reach the client:";
		  cat "$d/out.json.log"; return 1; }
	mkjob "$d/bad.fio" "$d" fh_open_flags=bogus nrfiles=5 filesize=4k \
		bs=4k rw=randread number_ios=10
	client "$d/bad.json" "$d/bad.fio"
	stop_server
	grep -q "unknown fh_open_flags value 'bogus'" "$d/bad.json.log" \
		"$d/bad.json.raw" 2>/dev/null &&
		grep -q "job global dropped" "$d/bad.json.log" "$d/bad.json.raw" \
		2>/dev/null ||
		{ fail "the parse error did not reach the client:";
		  cat "$d/bad.json.log"; return 1; }
}

# The server goes away when killed: no fio left listening on the port.
t_server_stops() {
	local d port
	d=$(tdir)
	start_server "$d" || return 1
	port=$PORT
	stop_server
	sleep 0.2
	if ss -Htln "sport = :$port" | grep -q .; then
		fail "something still listens on $port"
		return 1
	fi
}

[ -f "$SO" ] || { echo "build/fhandle.so missing: run make"; echo "0 passed, 1 failed"; exit 1; }
if [ "$BACKEND" = uring ] && ! have_opcodes; then
	echo "FHANDLE_BACKEND=uring on a kernel without the opcodes:" \
	     "using sync"
	BACKEND=sync FHANDLE_BACKEND=sync
fi
run_tests jobfile_via_server same_count_as_local \
	engine_error_reaches_client server_stops
