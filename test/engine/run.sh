#!/usr/bin/env bash
# The engine's tests: real fio runs of the real engine.  Backend from
# FHANDLE_BACKEND (sync by default; the VM suite runs uring).  Tests that
# need the opcodes skip on kernels without them.
#
# Usage: test/engine/run.sh [TEST...]
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

# ---- operation counts ---------------------------------------------------

t_counts_read() {
	local d j
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=c --directory="$d" --nrfiles=37 --loops=3 \
		--rw=randread --fh_read_op=open --iodepth=4 ||
		{ fail "fio failed"; cat "$j.log"; return 1; }
	expect_eq "read total_ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 111 &&
	expect_eq "write total_ios" "$(jqv "$j" '.jobs[0].write.total_ios')" 0 &&
	expect_eq "error" "$(jqv "$j" '.jobs[0].error')" 0
}

t_counts_write() {
	local d j
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=c --directory="$d" --nrfiles=25 --loops=4 \
		--rw=randwrite --fh_write_op=encode --iodepth=8 ||
		{ fail "fio failed"; cat "$j.log"; return 1; }
	expect_eq "write total_ios" "$(jqv "$j" '.jobs[0].write.total_ios')" 100 &&
	expect_eq "read total_ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 0
}

# a read/write mix: the two kinds add up to what was asked
t_counts_mix() {
	local d j r w
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=c --directory="$d" --nrfiles=50 --loops=8 \
		--rw=randrw --rwmixread=70 --iodepth=4 ||
		{ fail "fio failed"; cat "$j.log"; return 1; }
	r=$(jqv "$j" '.jobs[0].read.total_ios')
	w=$(jqv "$j" '.jobs[0].write.total_ios')
	expect_eq "reads + writes" $((r + w)) 400 || return 1
	[ "$r" -gt "$w" ] && [ "$w" -gt 0 ] ||
		fail "rwmixread=70 gave $r reads, $w writes"
}

# every operation, in both directions where it makes sense
t_every_operation() {
	local d j op dir rw
	d=$(tdir)
	for op in encode open open_read openat openat_read; do
		for dir in read write; do
			j=$d/$op-$dir.json
			[ $dir = read ] && rw=randread || rw=randwrite
			fio_engine "$j" --name=o --directory="$d" --nrfiles=10 \
				--rw=$rw --fh_${dir}_op=$op --loops=2 ||
				{ fail "$op as $dir failed"; cat "$j.log"; return 1; }
			expect_eq "$op as $dir ios" \
				"$(jqv "$j" ".jobs[0].$dir.total_ios")" 20 ||
				return 1
		done
	done
}

# open_read reads bs bytes of every file: fio counts them as bytes read
t_open_read_bytes() {
	local d j
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=b --directory="$d" --nrfiles=8 --rw=read \
		--fh_read_op=open_read || { fail "fio failed"; return 1; }
	expect_eq "io_bytes" "$(jqv "$j" '.jobs[0].read.io_bytes')" 32768 &&
	expect_eq "short_ios" "$(jqv "$j" '.jobs[0].read.short_ios // 0')" 0
}

# ---- a handle-open opens the very file that was encoded ------------------

# fio writes each file with verify headers (psync); then the engine reads
# them back through handle-opens, and fio checks every block's seed, which
# differs per file.  Swapping two files' contents must then fail.
t_same_file() {
	local d j args
	d=$(tdir)
	j=$d/out.json
	args=(--name=v --directory="$d" --nrfiles=16 --verify=crc32c
	      --rw=randrw --rwmixread=0)
	fio --ioengine=psync --bs=4k --filesize=4k --do_verify=0 "${args[@]}" \
		>"$d/write.log" 2>&1 || { fail "psync write failed"; return 1; }
	fio_engine "$j" "${args[@]}" --fh_read_op=open_read --verify_only=1 ||
		{ fail "verify through handle-opens failed"; cat "$j.log"; return 1; }
	expect_eq "verified reads" "$(jqv "$j" '.jobs[0].read.total_ios')" 16 ||
		return 1
	mv "$d/v.0.3" "$d/swap" && mv "$d/v.0.4" "$d/v.0.3" &&
		mv "$d/swap" "$d/v.0.4"
	if fio_engine "$j" "${args[@]}" --fh_read_op=open_read --verify_only=1; then
		fail "verify passed with two files swapped: the check cannot fail"
		return 1
	fi
	grep -q "bad header rand_seed" "$j.log" "$j.raw" ||
		fail "swapped files failed for another reason: $(head -3 "$j.log")"
}

# ---- results come out of fio --------------------------------------------

t_latency_stats() {
	local d j
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=l --directory="$d" --nrfiles=20 --loops=5 \
		--rw=randread --iodepth=2 --output-format=json+ ||
		{ fail "fio failed"; return 1; }
	jq -e '.jobs[0].read.clat_ns.percentile["99.000000"] > 0 and
	       .jobs[0].read.lat_ns.mean > 0 and .jobs[0].read.iops > 0 and
	       (.jobs[0].read.clat_ns.bins | length) > 0' "$j" >/dev/null ||
		fail "json+ lacks clat percentiles, lat, iops or bins"
}

t_output_formats() {
	local d out
	d=$(tdir)
	out=$(fio --ioengine=external:"$SO" --fh_backend="$BACKEND" --bs=4k \
		--filesize=4k --name=f --directory="$d" --nrfiles=10 \
		--rw=randread --output-format=normal,terse 2>&1) ||
		{ fail "fio failed: $out"; return 1; }
	grep -q "clat percentiles" <<<"$out" ||
		{ fail "normal output lacks clat percentiles"; return 1; }
	# terse v3: field 6 is the number of read ios... (total io KiB); the
	# line starts with the version and fio's version
	grep -qE '^3;fio-[0-9.]+;f;' <<<"$out" || fail "no terse line"
}

t_latency_logs() {
	local d n
	d=$(tdir)
	(cd "$d" && fio --ioengine=external:"$SO" --fh_backend="$BACKEND" \
		--bs=4k --filesize=4k --name=g --directory="$d" --nrfiles=30 \
		--rw=randwrite --write_lat_log=lat --write_hist_log=hist \
		--log_hist_msec=10 --time_based --runtime=1 \
		--output=/dev/null) || { fail "fio failed"; return 1; }
	for f in lat_clat.1.log lat_slat.1.log lat_lat.1.log \
		 hist_clat_hist.1.log; do
		[ -f "$d/$f" ] || { fail "no $f"; return 1; }
	done
	n=$(wc -l <"$d/lat_clat.1.log")
	[ "$n" -gt 100 ] || fail "lat_clat.1.log has $n lines"
	# field 3 is the direction: 1 = write, the encodes
	awk -F, '$3 != 1 { bad = 1 } END { exit bad }' "$d/lat_clat.1.log" ||
		fail "lat log has entries that are not writes"
}

# fio 3.33 takes the engine's path here, without "external:"
t_enghelp() {
	local out o
	host_only || return
	out=$(fio --enghelp="$SO" 2>&1) || { fail "$out"; return 1; }
	for o in fh_backend fh_read_op fh_write_op fh_open_flags \
		 fh_encode_flags fh_resolve fh_fixedfiles fh_force_async \
		 fh_sqpoll fh_iowq_max_workers fh_encode_opcode \
		 fh_open_opcode fh_drop_caches fh_handle_file; do
		grep -q "^$o" <<<"$out" ||
			grep -qE "^\s*$o\b" <<<"$out" ||
			{ fail "--enghelp lacks $o"; echo "$out"; return 1; }
	done
	# none clashes with a fio option
	for o in $(grep -oE '^\s*fh_[a-z_]+' <<<"$out"); do
		fio --cmdhelp="$o" 2>&1 | grep -q "No such command" ||
			{ fail "$o is also a fio option"; return 1; }
	done
	# the values of the multi-value options, as fio lists its own
	for o in "fh_open_flags rdonly nofollow" "fh_encode_flags fid mnt_id_unique"; do
		set -- $o
		out=$(fio --enghelp="$SO,$1" 2>&1)
		grep -q "valid values: $2 " <<<"$out" && grep -q ": $3 " <<<"$out" ||
			{ fail "--enghelp=$SO,$1 lists no values:"; echo "$out"; return 1; }
	done
}

# ---- the build matches the fio that loads it ----------------------------

t_built_for_this_fio() {
	local want got
	host_only || return
	want=$(dpkg-query -W -f='${Version}' fio)
	got=$(cat "$TOP/build/fio-src/.fhandle-fio-package")
	expect_eq "fio source package" "$got" "$want" || return 1
	grep -q "\"$(fio --version)\"" "$TOP/build/fio-src/fhandle-fio-version.h" ||
		fail "headers are not fio $(fio --version)'s"
}

# An engine built against other headers must refuse to run: one built
# against a struct thread_data with one more field, and one claiming
# another fio version.
t_abi_skew_refused() {
	local d src
	host_only || return
	d=$(tdir)
	src=$d/fio-src
	cp -r "$TOP/build/fio-src" "$src"
	sed -i 's/^struct thread_data {$/&\n\tint fhandle_test_skew[4];/' \
		"$src/fio.h"
	grep -q fhandle_test_skew "$src/fio.h" || { fail "could not skew"; return 1; }
	make -s -C "$TOP" FIO_SRC="$src" ENGINE="$d/skew.so" \
		"$d/skew.so" >/dev/null || { fail "skewed build failed"; return 1; }
	SO=$d/skew.so expect_fio_error "$d/skew.out" \
		"does not match the layout" --name=s --directory="$d" \
		--nrfiles=2 --rw=randread --fh_backend=sync || return 1

	cp -r "$TOP/build/fio-src" "$d/fio-old"
	echo '#define FHANDLE_FIO_VERSION "fio-0.0"' \
		>"$d/fio-old/fhandle-fio-version.h"
	make -s -C "$TOP" FIO_SRC="$d/fio-old" ENGINE="$d/old.so" \
		"$d/old.so" >/dev/null || { fail "old build failed"; return 1; }
	SO=$d/old.so expect_fio_error "$d/old.out" \
		"built against the headers of fio-0.0 but is loaded by fio-3" \
		--name=s --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync
}

# ---- bad input: a clear error and a non-zero exit -----------------------

t_err_uring_without_opcodes() {
	local d
	have_opcodes && { skip "this kernel has the opcodes"; return; }
	d=$(tdir)
	expect_fio_error "$d/o" "kernel $(uname -r) has no IORING_OP_OPEN_BY_HANDLE_AT \(io_uring opcode 64\).*make vm-run" \
		--name=u --directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend=uring || return 1
	expect_fio_error "$d/o" "has no IORING_OP_NAME_TO_HANDLE_AT \(io_uring opcode 63\)" \
		--name=u --directory="$d" --nrfiles=3 --rw=randwrite \
		--fh_backend=uring
}

# A number liburing's header gives another operation is refused at once;
# one it does not know is checked by behaviour: 55 is IORING_OP_FTRUNCATE
# from Linux 6.9 on (the host's 6.18 and the VM's 6.12), "supported" by
# the probe, and it encodes nothing, which only the check can tell.
t_err_opcode_does_something_else() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "fh_encode_opcode=18 is IORING_OP_OPENAT on every kernel" \
		--name=n --directory="$d" --nrfiles=3 --rw=randwrite \
		--fh_backend=uring --fh_encode_opcode=18 || return 1
	expect_fio_error "$d/o" "fh_open_opcode=0 is IORING_OP_NOP on every kernel" \
		--name=n --directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend=uring --fh_open_opcode=0 || return 1
	kernel_at_least 6.9 || { skip "kernel $(uname -r) has no opcode 55"; return; }
	expect_fio_error "$d/o" "opcode 55 does not behave as IORING_OP_NAME_TO_HANDLE_AT.*fh_encode_opcode" \
		--name=n --directory="$d" --nrfiles=3 --rw=randwrite \
		--fh_backend=uring --fh_encode_opcode=55 || return 1
	expect_fio_error "$d/o" "opcode 55 does not behave as IORING_OP_OPEN_BY_HANDLE_AT.*fh_open_opcode" \
		--name=n --directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend=uring --fh_open_opcode=55
}

# /proc cannot export handles: said at init, for opens by handle and for
# encodes (readonly: fio leaves the file as it is)
t_err_no_export_support() {
	local d op
	d=$(tdir)
	for op in open encode; do
		expect_fio_error "$d/o" "filesystem of /proc/self/status cannot export file handles" \
			--name=p --filename=/proc/self/status --rw=randread \
			--readonly --size=4k --fh_read_op=$op \
			--fh_backend=sync || return 1
	done
}

t_err_no_cap_dac_read_search() {
	local d
	command -v setpriv >/dev/null || { skip "no setpriv"; return; }
	d=$(tdir)
	if setpriv --bounding-set=-dac_read_search --inh-caps=-dac_read_search \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=c \
		--directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend="$BACKEND" >"$d/o" 2>&1; then
		fail "handle-open without CAP_DAC_READ_SEARCH succeeded"
		return 1
	fi
	grep -q "needs CAP_DAC_READ_SEARCH in the initial user namespace" "$d/o" ||
		{ fail "no clear message:"; cat "$d/o"; return 1; }
	# root of a user namespace: since 6.10 its capabilities open only
	# directory handles (O_DIRECTORY); a file set's files never are
	if unshare --user --map-root-user true 2>/dev/null; then
		unshare --user --map-root-user fio --ioengine=external:"$SO" \
			--bs=4k --filesize=4k --name=c --directory="$d" \
			--nrfiles=3 --rw=randread --fh_backend="$BACKEND" \
			>"$d/ns" 2>&1 &&
			{ fail "handle-open in a user namespace succeeded"; return 1; }
		grep -q "a user namespace's capabilities open only directory handles" "$d/ns" ||
			{ fail "no clear message in a user namespace:"; cat "$d/ns"; return 1; }
	fi
	# opens by path need no capability
	setpriv --bounding-set=-dac_read_search --inh-caps=-dac_read_search \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=c \
		--directory="$d" --nrfiles=3 --rw=randread --fh_read_op=openat \
		--fh_backend="$BACKEND" >"$d/o2" 2>&1 ||
		{ fail "openat without the capability failed"; cat "$d/o2"; return 1; }
}

# A file deleted after its handle was encoded: -ESTALE is an I/O error,
# which continue_on_error (with ignore_error=ESTALE: fio ignores only EIO
# and EILSEQ by default) turns into a count; without it fio stops cleanly.
# exec_prerun runs after the engine's init and before the timed phase: the
# deletion is there, not timed (a timed one failed under a loaded TCG VM,
# the run ending before the deletion came).  On ext4, an open by handle that races with the inode's
# eviction can fail once with ENOMEM (12) instead (seen on 6.18, from
# open_by_handle_at(2) itself, under strace): the engine reports what the
# kernel says, and the job ignores both.
t_err_file_deleted() {
	local d j errs
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=s --directory="$d" --nrfiles=4 --rw=randread \
		--time_based --runtime=2 --continue_on_error=read \
		--ignore_error=116:12 --exec_prerun="rm -f $d/s.0.2" ||
		{ fail "fio failed despite continue_on_error"; cat "$j.log" "$j.raw"; return 1; }
	errs=$(jqv "$j" '.jobs[0].total_err')
	[ "$errs" -gt 0 ] || { fail "no errors counted"; return 1; }
	case $(jqv "$j" '.jobs[0].first_error') in
	116|12) ;;
	*) fail "first error $(jqv "$j" '.jobs[0].first_error'), want ESTALE"
	   return 1 ;;
	esac
	[ "$(jqv "$j" '.jobs[0].read.total_ios')" -gt "$errs" ] ||
		fail "only errors were counted"

	if fio --ioengine=external:"$SO" --fh_backend="$BACKEND" --bs=4k \
		--filesize=4k --name=t --directory="$d" --nrfiles=4 \
		--rw=randread --loops=3 --exec_prerun="rm -f $d/t.0.1" \
		>"$d/o" 2>&1; then
		fail "fio exited 0 without continue_on_error"
		return 1
	fi
	grep -qE "Stale file handle|Cannot allocate memory" "$d/o" ||
		{ fail "no ESTALE in:"; cat "$d/o"; return 1; }
}

t_err_missing_directory() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "$d/missing/dir" --name=m \
		--directory="$d/missing/dir" --nrfiles=3 --rw=randread \
		--fh_backend=sync --create_on_open=0 --allow_file_create=0
}

t_err_iodepth_too_deep() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "iodepth=20000 needs 60000 SQEs, more than an io_uring can hold" \
		--name=q --directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend=uring --iodepth=20000 || return 1
	# 3 x 1431655766 does not fit 32 bits: the message says it unwrapped
	expect_fio_error "$d/o" "iodepth=1431655766 needs 4294967298 SQEs" \
		--name=q --directory="$d" --nrfiles=3 --rw=randread \
		--fh_read_op=openat --fh_backend=uring --iodepth=1431655766
}

t_err_unknown_values() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o1" "fh_backend" --name=x --directory="$d" \
		--nrfiles=2 --rw=randread --fh_backend=bogus || return 1
	expect_fio_error "$d/o2" "fh_read_op" --name=x --directory="$d" \
		--nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_read_op=lookup || return 1
	# a bad name fails fio's parse, before or after a good one (fio's
	# own multi-value options let a bad name before a good one pass)
	for v in rdonly,bogus bogus,rdonly; do
		expect_fio_error "$d/o3" "unknown fh_open_flags value 'bogus'" \
			--name=x --directory="$d" --nrfiles=2 --rw=randread \
			--fh_backend=sync --fh_open_flags=$v || return 1
		grep -q "^fio: failed parsing fh_open_flags=$v" "$d/o3" ||
			{ fail "$v: not failed at parse time"; cat "$d/o3"; return 1; }
	done
	expect_fio_error "$d/o3" "unknown fh_encode_flags value 'x'" \
		--name=x --directory="$d" --nrfiles=2 --rw=randwrite \
		--fh_backend=sync --fh_encode_flags=x,fid || return 1
	expect_fio_error "$d/o4" "need fh_backend=uring" --name=x \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_fixedfiles=1 || return 1
	expect_fio_error "$d/o5" "O_PATH fd cannot be read" --name=x \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_read_op=open_read --fh_open_flags=path || return 1
	expect_fio_error "$d/o6" "trims have no meaning" --name=x \
		--directory="$d" --nrfiles=2 --rw=randtrim --fh_backend=sync ||
		return 1
	expect_fio_error "$d/o7" "cloexec has no meaning for fixed files" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=uring --fh_fixedfiles=1 --fh_open_flags=cloexec ||
		return 1
	# files laid out after init cannot have been encoded
	expect_fio_error "$d/o8" "does not exist; the engine encodes the files fio lays out" \
		--name=late --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --create_serialize=0
}

# ---- the uring backend (needs the opcodes) ------------------------------

t_uring_every_mode() {
	local d j fx as op
	need_uring || return
	d=$(tdir)
	for op in open open_read encode openat_read; do
		for fx in 0 1; do
			for as in 0 1; do
				j=$d/$op-$fx-$as.json
				[ $op = encode ] && fx=0
				fio_engine "$j" --name=m --directory="$d" \
					--nrfiles=20 --loops=3 --rw=randrw \
					--fh_read_op=$op --fh_write_op=$op \
					--fh_fixedfiles=$fx --fh_force_async=$as \
					--iodepth=8 --iodepth_batch_submit=4 \
					--iodepth_batch_complete_min=2 ||
					{ fail "$op fixed=$fx async=$as"; cat "$j.log"; return 1; }
				expect_eq "$op fixed=$fx async=$as ios" \
					"$(jqv "$j" '.jobs[0].read.total_ios + .jobs[0].write.total_ios')" \
					60 || return 1
			done
		done
	done
}

t_uring_sqpoll() {
	local d j
	need_uring || return
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=p --directory="$d" --nrfiles=20 --loops=2 \
		--rw=randread --fh_sqpoll=1 --iodepth=4 ||
		{ fail "sqpoll run failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 40
}

# ---- nothing leaked: sanitizers and valgrind ----------------------------

# valgrind_clean MODE LOG FIO-ARG...: fds the engine opened and did not
# close, its definite leaks and bad accesses; fio's own are not ours.
# MODE is --thread (one process) or "" (fio's process mode: each job, and
# each opcode check, in a process of its own, each with its log).
valgrind_clean() {
	local mode=$1 log=$2
	shift 2
	# With --thread, the only processes fio's forks are the opcode
	# check's children, where the other threads' memory is gone: their
	# leak reports are not leaks.  In process mode each job forks its
	# checks alone, and every process is checked.
	local silent=no
	[ "$mode" = --thread ] && silent=yes
	# shellcheck disable=SC2086
	valgrind --quiet --track-fds=yes --leak-check=full \
		--errors-for-leak-kinds=definite --log-file="$log.%p" \
		--child-silent-after-fork=$silent \
		fio $mode --ioengine=external:"$SO" --bs=4k --filesize=4k \
		"$@" >"$log.out" 2>&1
	cat "$log".[0-9]* >"$log" 2>/dev/null
	if grep -A12 -E "Open file descriptor|definitely lost|Invalid (read|write)|uninitialised" \
		"$log" | grep -qE "fhandle(_uring\.h|\.c|\.so)"; then
		fail "valgrind ($mode) reports the engine:"
		grep -B2 -A12 -E "fhandle(_uring\.h|\.c|\.so)" "$log" | head -40
		return 1
	fi
}

t_valgrind() {
	local d mode
	command -v valgrind >/dev/null || { skip "no valgrind"; return; }
	d=$(tdir)
	for mode in --thread process; do
		# In the VM (TCG: valgrind takes minutes a run) thread mode
		# checks the uring backend; the host runs both modes
		if [ "$mode" = process ]; then
			[ -z "${FHANDLE_VM:-}" ] || continue
			mode=
		fi
		valgrind_clean "$mode" "$d/ok$mode" --name=v --directory="$d" \
			--nrfiles=10 --rw=randrw --fh_read_op=open_read \
			--fh_backend="$BACKEND" --iodepth=4 --numjobs=2 || return 1
		grep -q "err= 0" "$d/ok$mode.out" ||
			{ fail "run $mode failed"; cat "$d/ok$mode.out"; return 1; }
		# In the VM (TCG: valgrind takes minutes a run) the run above
		# checks the uring backend; the error paths, the same there,
		# run on the host.
		[ -z "${FHANDLE_VM:-}" ] || continue
		# the opcode check's child, an error, a drop-only job and
		# handles loaded from its file: nothing left behind either
		valgrind_clean "$mode" "$d/e1$mode" --name=v --directory="$d" \
			--nrfiles=10 --rw=randwrite --fh_backend=uring \
			--fh_encode_opcode=55 || return 1
		kernel_at_least 6.9 && ! grep -q "does not behave" "$d/e1$mode.out" &&
			{ fail "e1 $mode did not fail"; cat "$d/e1$mode.out"; return 1; }
		valgrind_clean "$mode" "$d/e2$mode" --name=v --directory="$d" \
			--nrfiles=3 --rw=randread --fh_backend=sync \
			--fh_open_flags=bogus,rdonly || return 1
		valgrind_clean "$mode" "$d/e3$mode" \
			--filename=/proc/self/status --name=v --size=4k \
			--readonly --rw=randread --fh_backend=sync || return 1
		valgrind_clean "$mode" "$d/e4$mode" --directory="$d" \
			--nrfiles=10 --fh_backend=sync --filename_format='f.$filenum' \
			--size=40k --fh_handle_file="$d/handles" --name=drop \
			--fh_drop_caches=inodes --name=cold --stonewall --numjobs=2 \
			--rw=randread || return 1
		grep -q "err= 0" "$d/e4$mode.out" ||
			{ fail "drop run $mode failed"; cat "$d/e4$mode.out"; return 1; }
	done
}

# An engine built with AddressSanitizer and UBSan, in fio's process mode
# and with --thread: no report, on the common paths and the error paths.
t_sanitizers() {
	local d asan out mode args
	d=$(tdir)
	asan=$(gcc -print-file-name=libasan.so)
	[ -f "$asan" ] || { skip "no libasan"; return; }
	make -s -C "$TOP" ENGINE="$d/asan.so" "$d/asan.so" \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" >/dev/null ||
		{ fail "sanitizer build failed"; return 1; }
	for mode in --thread ""; do
		while read -r args; do
			# shellcheck disable=SC2086
			out=$(LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0 \
				UBSAN_OPTIONS=print_stacktrace=1 \
				fio $mode --ioengine=external:"$d/asan.so" \
				--fh_backend="$BACKEND" --bs=4k --filesize=4k \
				--directory="$d" --nrfiles=10 --iodepth=4 $args 2>&1)
			if grep -qE "AddressSanitizer|runtime error:" <<<"$out"; then
				fail "sanitizer report ($mode) for $args:"
				echo "$out" | head -40
				return 1
			fi
		done <<-EOF
			--name=a --rw=randrw --fh_read_op=open_read --numjobs=2
			--name=a --rw=randrw --fh_read_op=openat_read --numjobs=2
			--name=a --rw=randrw --fh_read_op=openat --fh_resolve=full
			--name=a --rw=randwrite --fh_backend=uring --fh_encode_opcode=55
			--name=a --rw=randread --fh_open_flags=bogus,rdonly
			--name=a --rw=randread --numjobs=2 --name=b --new_group --rw=randwrite
			--filename_format=f.\$filenum --size=40k --fh_handle_file=$d/h --name=drop --fh_drop_caches=inodes --name=cold --stonewall --numjobs=2 --rw=randread
		EOF
	done
}

# ---- the build, install and the README ----------------------------------

t_make_install() {
	local d
	host_only || return
	d=$(tdir)
	make -s -C "$TOP" install DESTDIR="$d/root" PREFIX=/opt/fh >/dev/null ||
		{ fail "make install failed"; return 1; }
	[ -x "$d/root/opt/fh/lib/fio/fhandle.so" ] || { fail "no fhandle.so"; return 1; }
	[ -f "$d/root/opt/fh/share/fio-fhandle/jobfiles/nfs-mix.fio" ] ||
		{ fail "no job files"; return 1; }
	fio --enghelp="$d/root/opt/fh/lib/fio/fhandle.so" 2>&1 |
		grep -q fh_backend || fail "the installed engine does not load"
}

t_make_clean() {
	local d
	host_only || return
	d=$(tdir)
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$d")
	cp -r "$TOP/build" "$d/build"
	make -s -C "$d" clean || { fail "make clean failed"; return 1; }
	[ ! -e "$d/build" ] || fail "make clean left build/"
}

# the README's main command, as written there
t_readme_main_command() {
	local out before after d
	host_only || return
	grep -qx 'make run' "$TOP/README.md" ||
		{ fail "README has no 'make run' line"; return 1; }
	before=$(ls "${TMPDIR:-/tmp}" | grep -c '^fhandle-run\.' || true)
	out=$(cd "$TOP" && make run 2>&1) ||
		{ fail "make run failed:"; echo "$out" | tail -20; return 1; }
	for job in open-by-handle open-by-path open-by-path-full encode \
		encode-full; do
		grep -q "^$job: (groupid" <<<"$out" ||
			{ fail "no report of $job"; echo "$out" | tail; return 1; }
	done
	# the README's sample lines (make run's, make vm-run's) are from the
	# committed output of a run
	d=$(tdir)
	cat "$TOP"/test/bench/results/examples/{make-run-host,vm-run}.txt \
		>"$d/runs" || { fail "no committed example output"; return 1; }
	grep -E '^  (read|write): IOPS=|^run.sh: |^    clat' "$TOP/README.md" |
		sed 's/, \.\.\.$//' | while IFS= read -r line; do
			grep -qF -- "$line" "$d/runs" || echo "$line"
		done >"$d/untraced"
	[ ! -s "$d/untraced" ] || {
		fail "README sample lines not in test/bench/results/examples/:"
		cat "$d/untraced"
		return 1
	}
	after=$(ls "${TMPDIR:-/tmp}" | grep -c '^fhandle-run\.' || true)
	expect_eq "file sets left behind" "$after" "$before"
}

# the README's fio example: the fenced block under "## The engine"
t_readme_engine_example() {
	local block out
	host_only || return
	block=$(sed -n '/^## The engine/,/^## /p' "$TOP/README.md" |
		sed -n '/^```$/,/^```$/p' | sed '1d;/^```$/,$d')
	grep -q "^fio --ioengine=external:build/fhandle.so" <<<"$block" ||
		{ fail "no fio example in README"; return 1; }
	out=$(cd "$TOP" && bash -ec "$block" 2>&1) ||
		{ fail "the example failed:"; echo "$out" | tail; return 1; }
	grep -q "^opens: (groupid=0, jobs=1): err= 0" <<<"$out" ||
		fail "no report: $(tail -5 <<<"$out")"
}

t_probe_example() {
	local rc
	"$PROBE" >"$WORK/probe.out" 2>&1
	rc=$?
	if have_opcodes; then
		expect_eq "probe status" "$rc" 0 &&
		grep -q "both opcodes work" "$WORK/probe.out" ||
			fail "$(cat "$WORK/probe.out")"
	else
		expect_eq "probe status" "$rc" 2 &&
		grep -q "not supported by this kernel" "$WORK/probe.out" ||
			fail "$(cat "$WORK/probe.out")"
	fi
	"$PROBE" -e 999 >/dev/null 2>&1
	expect_eq "bad opcode status" $? 64
}

# ---- an outside review's findings (issue 7) -----------------------------

# no files (nrfiles=0, an empty opendir): no I/O and exit 0, as psync
t_no_files() {
	local d j t
	d=$(tdir)
	mkdir "$d/empty"
	for t in "" --thread; do
		j=$d/n$t.json
		fio_engine "$j" $t --name=j --nrfiles=0 --size=40k \
			--directory="$d" --rw=randread ||
			{ fail "nrfiles=0 $t: fio failed"; cat "$j.log"; return 1; }
		expect_eq "nrfiles=0 $t ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 0 ||
			return 1
		fio_engine "$j" $t --name=j --opendir="$d/empty" \
			--size=40k --rw=randwrite ||
			{ fail "empty opendir $t: fio failed"; cat "$j.log"; return 1; }
	done
}

# verify only where it can mean something: reads that read, of data that
# something wrote (t_same_file runs the meaningful case)
t_err_verify_meaningless() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o1" "verify: this engine's writes .* write no data" \
		--name=v --directory="$d" --nrfiles=1 --rw=write \
		--verify=crc32c --fh_read_op=open_read --fh_backend=sync ||
		return 1
	expect_fio_error "$d/o2" "verify checks the data that reads read, but fh_read_op reads none" \
		--name=v --directory="$d" --nrfiles=2 --rw=read \
		--verify=crc32c --fh_backend=sync
}

# verify's reads are the job's reads: the uring backend checks the
# handle-open opcode before them although rw is write.  Opcode 55 is
# FTRUNCATE (6.9 on): "supported", and it opens nothing.
t_err_verify_phase_checked() {
	local d
	kernel_at_least 6.9 || { skip "kernel $(uname -r) has no opcode 55"; return; }
	d=$(tdir)
	expect_fio_error "$d/o" "opcode 55 does not behave as IORING_OP_OPEN_BY_HANDLE_AT" \
		--name=v --directory="$d" --nrfiles=2 --rw=write \
		--verify=crc32c --verify_only=1 --fh_read_op=open_read \
		--fh_backend=uring --fh_open_opcode=55
}

# a job that opens by path needs no handle: sysfs files (whose handles
# cannot open) are fine
t_openat_needs_no_handles() {
	local f=/sys/devices/system/cpu/online j
	[ -r "$f" ] || { skip "no $f"; return; }
	j=$(tdir)/o.json
	fio_engine "$j" --name=s --filename="$f" --readonly --size=4k \
		--rw=randread --fh_read_op=openat --loops=5 ||
		{ fail "openat of $f failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 5
}

# opcode numbers: whole numbers 0-255, nothing fio's parser would round
t_err_opcode_values() {
	local d v opt
	d=$(tdir)
	for opt in fh_encode_opcode fh_open_opcode; do
		for v in -1 63.5 1e2 256 0x40 " 63" "+63" 63x; do
			expect_fio_error "$d/o" "$opt='${v/+/\\+}': an io_uring opcode is a whole number from 0 to 255" \
				--name=x --directory="$d" --nrfiles=2 \
				--rw=randread --fh_backend=sync "--$opt=$v" ||
				return 1
		done
	done
}

# a file that is itself a mount point (a bind mount from another
# filesystem): its handle opens with a mount fd on its own mount
t_mount_point_file() {
	local d j
	unshare -m true 2>/dev/null || { skip "no mount namespace"; return; }
	d=$(tdir)
	j=$d/o.json
	unshare -m --propagation private bash -c '
		d=$1; shift
		mkdir "$d/m" && mount -t tmpfs fh "$d/m" &&
		head -c 4096 /dev/zero >"$d/m/src" && fio "$@" --name=j --directory="$d" \
			--nrfiles=3 --create_only=1 >/dev/null &&
		mount --bind "$d/m/src" "$d/j.0.0" &&
		mount --bind "$d/m/src" "$d/j.0.2" &&
		fio --output-format=json --output="$d/o.json.raw" "$@" \
			--name=j --directory="$d" --nrfiles=3 --rw=randread \
			--loops=2 --fh_read_op=open_read --allow_file_create=0 \
			>"$d/o.json.log" 2>&1' _ "$d" --ioengine=external:"$SO" \
		--fh_backend="$BACKEND" --bs=4k --filesize=4k ||
		{ fail "bind-mounted files failed"; cat "$j.log"; return 1; }
	sed -n '/^{/,$p' "$j.raw" >"$j"
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 6
}

# symlinks are followed by every operation, as openat does: a link reads
# the target's data (fio's verify), encodes give the target's handle
t_symlinks() {
	local d j op
	d=$(tdir)
	fio --ioengine=psync --bs=4k --filesize=4k --name=v --directory="$d" \
		--nrfiles=2 --verify=crc32c --rw=write --do_verify=0 \
		>"$d/w.log" 2>&1 || { fail "psync write failed"; return 1; }
	ln -s v.0.0 "$d/link0" && ln -s "$d/v.0.1" "$d/link1"
	for op in open_read openat_read; do
		j=$d/$op.json
		# verify checks fio's own file names: read the links as v.0.N
		fio_engine "$j" --name=v --filename="$d/link0:$d/link1" \
			--rw=read --fh_read_op=$op --verify=crc32c \
			--verify_only=1 --number_ios=2 ||
			{ fail "$op through links"; cat "$j.log"; return 1; }
	done
	j=$d/enc.json
	fio_engine "$j" --name=e --filename="$d/link0" --rw=randread \
		--fh_read_op=encode --number_ios=3 ||
		{ fail "encode through a link"; cat "$j.log"; return 1; }
	# nofollow: every open of a link fails (ELOOP), so a set with a link
	# is refused at init, naming it, for opens by handle and by name
	for op in open openat_read; do
		expect_fio_error "$d/o" "nofollow: $d/link0 is a symbolic link, which every open of this job would refuse" \
			--name=n --filename="$d/v.0.0:$d/link0" --rw=randread \
			--fh_read_op=$op --fh_backend="$BACKEND" \
			--fh_open_flags=rdonly,nofollow || return 1
	done
	# with path (O_PATH | O_NOFOLLOW) the links themselves open, and an
	# encode with nofollow encodes the link (name_to_handle_at without
	# AT_SYMLINK_FOLLOW): both work, as the syscalls do
	j=$d/path.json
	fio_engine "$j" --name=n --filename="$d/v.0.0:$d/link0" \
		--rw=randread --fh_read_op=open --fh_open_flags=path,nofollow \
		--number_ios=4 || { fail "O_PATH|O_NOFOLLOW opens"; cat "$j.log"; return 1; }
	j=$d/encl.json
	fio_engine "$j" --name=n --filename="$d/link0" --rw=randwrite \
		--fh_open_flags=nofollow --loops=2 ||
		{ fail "encode of a link with nofollow"; cat "$j.log"; return 1; }
	expect_eq "encodes of the link" "$(jqv "$j" '.jobs[0].write.total_ios')" 2
}

# fsync has nothing to sync: a no-op with a true latency on both
# backends.  The shim makes each wait for a completion take 200 ms, so a
# sync stamped with an earlier operation's issue time would show it.
t_fsync_latency() {
	local d j b
	d=$(tdir)
	build_shim "$d" || return 1
	for b in sync uring; do
		j=$d/$b.json
		FH_SHIM=slowwait LD_PRELOAD=$d/shim.so fio_engine "$j" --thread \
			--name=f --directory="$d" --nrfiles=5 --rw=randwrite \
			--fh_write_op=openat --fsync=1 --fh_backend=$b ||
			{ fail "$b: fio failed"; cat "$j.log"; return 1; }
		expect_eq "$b syncs" "$(jqv "$j" '.jobs[0].sync.total_ios')" 4 ||
			return 1
		jq -e '.jobs[0].sync.lat_ns.max < 200000000' "$j" >/dev/null ||
			{ fail "$b: sync latency $(jqv "$j" '.jobs[0].sync.lat_ns.max') ns holds an operation's wait"; return 1; }
	done
	# the shim did act: the uring writes waited
	jq -e '.jobs[0].write.clat_ns.min >= 200000000' "$d/uring.json" >/dev/null ||
		fail "the shim's 200 ms wait did not show"
}

# an operation's error names the file, on both backends
t_err_names_the_file() {
	local d b
	d=$(tdir)
	for b in sync uring; do
		[ $b = uring ] && ! have_opcodes && continue
		if fio --ioengine=external:"$SO" --fh_backend=$b --bs=4k \
			--filesize=4k --name=t --directory="$d" --nrfiles=4 \
			--rw=randread --loops=3 --exec_prerun="rm -f $d/t.0.1" \
			>"$d/o" 2>&1; then
			fail "$b: fio exited 0 with a file deleted"
			return 1
		fi
		grep -qE "io_u error on file $d/t\.0\.1: (Stale file handle|Cannot allocate memory)" "$d/o" ||
			{ fail "$b: the error does not name the file:"; cat "$d/o"; return 1; }
	done
}

# O_DIRECT reads: the engine has fio align the buffers.  In the VM the
# test directory is tmpfs (no O_DIRECT on 6.1): a scratch ext4 or xfs.
direct_dir() {
	local top
	for top in "$(tdir)" ${FHANDLE_SCRATCH:-}; do
		[ -d "$top" ] || continue
		dd if=/dev/zero of="$top/fh-direct-probe" bs=4k count=1 \
			oflag=direct 2>/dev/null || continue
		rm -f "$top/fh-direct-probe"
		mktemp -d "$top/fh-direct.XXXXXX"
		return
	done
	return 1
}

t_direct_reads() {
	local d j op
	d=$(direct_dir) || { skip "no filesystem here has O_DIRECT"; return; }
	# shellcheck disable=SC2064
	trap "rm -rf '$d'" RETURN
	for op in open_read openat_read; do
		j=$d/$op.json
		fio_engine "$j" --name=d --directory="$d" --nrfiles=4 --rw=read \
			--fh_read_op=$op --fh_open_flags=rdonly,direct \
			--mem=malloc ||
			{ fail "$op with direct"; cat "$j.log"; return 1; }
		expect_eq "$op bytes" "$(jqv "$j" '.jobs[0].read.io_bytes')" 16384 ||
			return 1
	done
	expect_fio_error "$d/o" "direct reads need bs a multiple of the logical block size" \
		--name=d --directory="$d" --nrfiles=2 --rw=read --bs=1000 \
		--fh_read_op=open_read --fh_open_flags=direct --fh_backend=sync
}

# make fetches fio's source again and rebuilds when the fio package changed
t_make_follows_fio_package() {
	local d
	host_only || return
	d=$(tdir)
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$d")
	cp -r "$TOP/build" "$d/build"
	make -C "$d" engine >/dev/null 2>&1 || { fail "make failed"; return 1; }
	make -C "$d" engine 2>&1 | grep -E "fio-source.sh|-o build/fhandle.so" &&
		{ fail "make rebuilds with nothing changed"; return 1; }
	# as after an upgrade: what the source and the stamp were built for
	echo "fio	3.0-old" >"$d/build/fio-package"
	echo "3.0-old" >"$d/build/fio-src/.fhandle-fio-package"
	make -n -C "$d" engine >"$d/plan" 2>&1
	grep -q "fio-source.sh build/fio-src" "$d/plan" ||
		{ fail "make does not see the fio package change:"; cat "$d/plan"; return 1; }
	grep -q -- "-o build/fhandle.so" "$d/plan" ||
		{ fail "make does not rebuild the engine:"; cat "$d/plan"; return 1; }
}

# fio options that act on an fd fio opens: refused at init by name
t_err_fio_options() {
	local d a n
	d=$(tdir)
	while read -r a; do
		n=${a#--}
		# shellcheck disable=SC2086
		expect_fio_error "$d/o" "^fhandle: ${n%%=*}.* (is not supported|the handles encoded at init would be stale)" \
			--name=x --directory="$d" --nrfiles=2 --rw=randread \
			--fh_backend=sync $a --loops=2 || return 1
	done <<-EOF
		--create_on_open=1
		--pre_read=1
		--write_hint=short
		--unlink_each_loop=1
		--direct=1
		--sync=1
		--fadvise_hint=1
	EOF
}

# iodepth against RLIMIT_NOFILE: raised to the hard limit when that is
# enough, else a clear error, at init (opens by path: any kernel's ring)
t_nofile_limit() {
	local d j
	command -v prlimit >/dev/null || { skip "no prlimit"; return; }
	d=$(tdir)
	j=$d/o.json
	prlimit --nofile=256:4096 fio --ioengine=external:"$SO" --bs=4k \
		--filesize=4k --name=r --directory="$d" --nrfiles=10 \
		--rw=randread --fh_backend=uring --fh_read_op=openat \
		--iodepth=1000 --loops=200 --output-format=json \
		--output="$j" >"$d/log" 2>&1 ||
		{ fail "the soft limit was not raised"; cat "$d/log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 2000 || return 1
	if prlimit --nofile=256:256 fio --ioengine=external:"$SO" --bs=4k \
		--filesize=4k --name=r --directory="$d" --nrfiles=10 \
		--rw=randread --fh_backend=uring --fh_read_op=openat \
		--iodepth=1000 >"$d/o" 2>&1; then
		fail "iodepth=1000 ran with 256 fds"
		return 1
	fi
	grep -q "iodepth=1000 keeps up to .* fds open at once .* beyond RLIMIT_NOFILE (soft 256, hard 256)" "$d/o" ||
		{ fail "no clear error:"; cat "$d/o"; return 1; }
}

# what each backend reports, as the README says: slat only on uring
t_slat_by_backend() {
	local d j
	d=$(tdir)
	j=$d/o.json
	fio_engine "$j" --name=s --directory="$d" --nrfiles=10 --rw=randread \
		--fh_read_op=openat --fh_backend=sync ||
		{ fail "sync run failed"; return 1; }
	expect_eq "sync slat samples" "$(jqv "$j" '.jobs[0].read.slat_ns.N')" 0 ||
		return 1
	fio_engine "$j" --name=s --directory="$d" --nrfiles=10 --rw=randread \
		--fh_read_op=openat --fh_backend=uring ||
		{ fail "uring run failed"; return 1; }
	expect_eq "uring slat samples" "$(jqv "$j" '.jobs[0].read.slat_ns.N')" 10 ||
		return 1
	grep -q "the sync backend reports no slat" "$TOP/README.md" ||
		fail "README does not say what each backend reports"
}

# an engine that refuses its fio says so with a fitting errno (ELIBBAD)
t_abi_refusal_errno() {
	local d
	host_only || return
	d=$(tdir)
	cp -r "$TOP/build/fio-src" "$d/fio-old"
	echo '#define FHANDLE_FIO_VERSION "fio-0.0"' \
		>"$d/fio-old/fhandle-fio-version.h"
	make -s -C "$TOP" FIO_SRC="$d/fio-old" ENGINE="$d/old.so" \
		"$d/old.so" >/dev/null || { fail "old build failed"; return 1; }
	SO=$d/old.so expect_fio_error "$d/old.out" \
		"fio: pid=[0-9]+, err=80/" \
		--name=s --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync
}

# ---- what reading the code suggested (issue 7), each settled by a test --

# The shim (test/engine/submit-shim.c) gives the uring backend what
# kernels rarely do: a submit that takes fewer SQEs than prepared, -EBUSY
# while completions wait to be reaped, slow waits.  Every operation must
# still complete once, and no wait (200 ms here) may end up in slat.
build_shim() {
	cc -std=gnu11 -Wall -Wextra -Werror -fPIC -shared -o "$1/shim.so" \
		"$TOP/test/engine/submit-shim.c" -ldl ||
		{ fail "shim build failed"; return 1; }
}

t_uring_submit_edge_cases() {
	local d j m fx batch
	d=$(tdir)
	build_shim "$d" || return 1
	for m in partial busy busy,slowwait; do
		# partial: all four io_us reaped, then four opens in one submit
		batch=(--iodepth_batch_submit=1 --iodepth_batch_complete_min=2)
		[ $m = partial ] && batch=(--iodepth_batch_submit=4
					   --iodepth_batch_complete_min=4)
		for fx in 0 1; do
			j=$d/$m-$fx.json
			FH_SHIM=$m LD_PRELOAD=$d/shim.so fio_engine "$j" --thread \
				--name=e --directory="$d" --nrfiles=10 --loops=2 \
				--rw=randread --fh_read_op=openat_read \
				--fh_backend=uring --fh_fixedfiles=$fx --iodepth=4 \
				"${batch[@]}" ||
				{ fail "$m fixed=$fx"; cat "$j.log"; return 1; }
			expect_eq "$m fixed=$fx ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 20 ||
				return 1
			[[ $m != *slowwait* ]] ||
				jq -e '.jobs[0].read.slat_ns.max < 200000000' "$j" >/dev/null ||
				{ fail "$m fixed=$fx: a wait in slat"; return 1; }
		done
	done
	# the shim acted: SQEs held back, -EBUSY returned
	grep -q "shim: [0-9]* calls, [1-9][0-9]* partial" "$d/partial-0.json.log" &&
	grep -q "[1-9][0-9]* busy" "$d/busy-0.json.log" ||
		fail "the shim did not act: $(cat "$d"/*.json.log | grep shim:)"
}

# A wait for a completion that fails (here -EIO, after a submit that took
# nothing: -EAGAIN) ends the job with the error named, never a hang.
t_uring_wait_error() {
	local d
	d=$(tdir)
	build_shim "$d" || return 1
	FH_SHIM=again,waitfail LD_PRELOAD=$d/shim.so timeout 120 \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --thread \
		--name=e --directory="$d" --nrfiles=10 --loops=20 \
		--rw=randread --fh_read_op=openat --fh_backend=uring \
		--fh_force_async=1 >"$d/o" 2>&1
	case $? in
	0) fail "fio exited 0"; return 1 ;;
	124) fail "fio hung"; return 1 ;;
	esac
	grep -q "func=io_uring_wait_cqe, error=Input/output error" "$d/o" ||
		{ fail "the wait's error is not named:"; cat "$d/o"; return 1; }
}

# fault-shim.c fails the engine's own calls to libc functions on demand
build_fault_shim() {
	cc -std=gnu11 -Wall -Wextra -Werror -fPIC -shared -o "$1/fault.so" \
		"$TOP/test/engine/fault-shim.c" -ldl ||
		{ fail "fault shim build failed"; return 1; }
}

t_err_getrlimit_fails() {
	local d
	d=$(tdir)
	build_fault_shim "$d" || return 1
	FH_FAULT=getrlimit LD_PRELOAD=$d/fault.so expect_fio_error "$d/o" \
		"func=getrlimit, error=Input/output error" --thread --name=e \
		--directory="$d" --nrfiles=2 --rw=randread \
		--fh_read_op=openat --fh_backend=uring || return 1
	grep -q "fault: getrlimit acted [1-9]" "$d/o" ||
		fail "the shim did not act"
}

# More mounts than a job holds fds on: an engine built with room for 4
# meets the limit on 5 bind-mounted files and says so.
t_err_too_many_mounts() {
	local d
	host_only || return
	unshare -m true 2>/dev/null || { skip "no mount namespace"; return; }
	d=$(tdir)
	make -s -C "$TOP" ENGINE="$d/small.so" \
		EXTRA_CFLAGS=-DFH_MAX_MOUNTS=4 "$d/small.so" >/dev/null ||
		{ fail "build with 4 mount slots failed"; return 1; }
	unshare -m --propagation private bash -c '
		d=$1; so=$2
		fio --ioengine=external:"$so" --bs=4k --filesize=4k \
			--name=j --directory="$d" --nrfiles=5 --create_only=1 \
			--fh_backend=sync >/dev/null || exit 1
		for i in 0 1 2 3 4; do
			mkdir "$d/m$i" && mount -t tmpfs fh "$d/m$i" &&
			head -c 4096 /dev/zero >"$d/m$i/f" &&
			mount --bind "$d/m$i/f" "$d/j.0.$i" ||
			exit 1
		done
		fio --ioengine=external:"$so" --bs=4k --filesize=4k \
			--name=j --directory="$d" --nrfiles=5 --rw=randread \
			--fh_backend=sync --allow_file_create=0 >"$d/o" 2>&1
		' _ "$d" "$d/small.so"
	[ $? != 0 ] || { fail "fio exited 0"; return 1; }
	grep -q "more than 4 mounts in one job" "$d/o" ||
		{ fail "the limit is not named:"; cat "$d/o"; return 1; }
}

# iolog replay keeps the log's pace: fio waits from td->last_issue, which
# both backends must set.  Three reads 0.6 s apart take 1.2 s or more
# (a lower bound: sleeps do not end early).
t_iolog_replay_paced() {
	local d j f
	d=$(tdir)
	f=$d/r.0.0
	fio_engine "$d/lay.json" --name=r --directory="$d" --nrfiles=1 \
		--create_only=1 || { fail "layout failed"; return 1; }
	printf 'fio version 3 iolog\n1 %s add\n2 %s open\n3 %s read 0 4096\n600003 %s read 0 4096\n1200003 %s read 0 4096\n1200004 %s close\n' \
		"$f" "$f" "$f" "$f" "$f" "$f" >"$d/log"
	j=$d/o.json
	fio_engine "$j" --name=r --read_iolog="$d/log" --fh_read_op=openat ||
		{ fail "replay failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 3 || return 1
	[ "$(jqv "$j" '.jobs[0].job_runtime')" -ge 1150 ] ||
		fail "3 reads 0.6 s apart took $(jqv "$j" '.jobs[0].job_runtime') ms"
}

# ---- what an fio user also does ------------------------------------------

# write_iolog, then read_iolog replays the very operations
t_iolog_write_and_replay() {
	local d j
	d=$(tdir)
	j=$d/w.json
	fio_engine "$j" --name=w --directory="$d" --nrfiles=5 --rw=randrw \
		--loops=2 --write_iolog="$d/log" ||
		{ fail "write_iolog run failed"; cat "$j.log"; return 1; }
	j=$d/r.json
	fio_engine "$j" --name=r --read_iolog="$d/log" ||
		{ fail "replay failed"; cat "$j.log"; return 1; }
	expect_eq "replayed ios" \
		"$(jqv "$j" '.jobs[0].read.total_ios + .jobs[0].write.total_ios')" 10
}

t_threads_and_numjobs() {
	local d j t
	d=$(tdir)
	for t in "" --thread; do
		j=$d/n$t.json
		fio_engine "$j" $t --name=n --directory="$d" --nrfiles=10 \
			--rw=randrw --numjobs=3 --group_reporting --iodepth=2 ||
			{ fail "numjobs=3 $t failed"; cat "$j.log"; return 1; }
		expect_eq "ios $t" \
			"$(jqv "$j" '.jobs[0].read.total_ios + .jobs[0].write.total_ios')" 30 ||
			return 1
	done
}

# unlink=1 removes the set after the run
t_unlink() {
	local d j
	d=$(tdir)
	j=$d/o.json
	fio_engine "$j" --name=u --directory="$d" --nrfiles=5 --rw=randread \
		--unlink=1 || { fail "fio failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 5 || return 1
	[ -z "$(ls "$d" | grep '^u\.')" ] || fail "unlink=1 left $(ls "$d")"
}

# fh_open_flags: commas only (as its help says), one access mode, and one
# that the operations can read from
t_err_open_flags() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o1" "failed parsing fh_open_flags=rdonly\+noatime" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_open_flags=rdonly+noatime || return 1
	expect_fio_error "$d/o2" "name one access mode" --name=x \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_open_flags=rdonly,rdwr || return 1
	expect_fio_error "$d/o3" "repeated fh_open_flags value 'noatime'" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_open_flags=noatime,noatime || return 1
	# a job's value replaces [global]'s, as for fio's own options: path
	# there would be refused with a read
	printf '[global]\nfh_open_flags=path\n[x]\nfh_open_flags=rdonly\n' \
		>"$d/two.fio"
	fio --ioengine=external:"$SO" --bs=4k --filesize=4k "$d/two.fio" \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_read_op=openat_read >"$d/o5" 2>&1 ||
		{ fail "the job's fh_open_flags did not replace [global]'s"; cat "$d/o5"; return 1; }
	expect_fio_error "$d/o4" "an O_WRONLY fd cannot be read" --name=x \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_read_op=openat_read --fh_open_flags=wronly
}

# fh_encode_flags (issue 8): AT_HANDLE_FID and AT_HANDLE_MNT_ID_UNIQUE on
# the encodes where the kernel's name_to_handle_at takes them (6.5, 6.12),
# a clear init error where it does not
kernel_at_least() {
	[ "$(printf '%s\n' "$1" "$(uname -r)" | sort -V | head -1)" = "$1" ]
}

t_encode_flags() {
	local d j f ok
	d=$(tdir)
	for f in fid mnt_id_unique fid,mnt_id_unique; do
		j=$d/$f.json
		ok=1
		[[ $f != *fid* ]] || kernel_at_least 6.5 || ok=0
		[[ $f != *mnt_id_unique* ]] || kernel_at_least 6.12 || ok=0
		if [ $ok = 1 ]; then
			fio_engine "$j" --name=e --directory="$d" --nrfiles=5 \
				--rw=randwrite --fh_encode_flags=$f ||
				{ fail "$f: fio failed"; cat "$j.log"; return 1; }
			expect_eq "$f ios" "$(jqv "$j" '.jobs[0].write.total_ios')" 5 ||
				return 1
		else
			expect_fio_error "$j" "refuses fh_encode_flags" \
				--name=e --directory="$d" --nrfiles=5 \
				--rw=randwrite --fh_backend="$BACKEND" \
				--fh_encode_flags=$f || return 1
		fi
	done
	expect_fio_error "$d/o1" "unknown fh_encode_flags value 'follow'" \
		--name=e --directory="$d" --nrfiles=2 --rw=randwrite \
		--fh_backend=sync --fh_encode_flags=follow || return 1
	expect_fio_error "$d/o2" "fh_encode_flags shapes encodes, and this job issues none" \
		--name=e --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_encode_flags=fid
}

# the flags reach the kernel: the syscall's, traced (sync backend)
t_encode_flags_reach_the_kernel() {
	local d
	command -v strace >/dev/null || { skip "no strace"; return; }
	kernel_at_least 6.12 ||
		{ skip "kernel $(uname -r) lacks AT_HANDLE_MNT_ID_UNIQUE"; return; }
	d=$(tdir)
	strace -f -qq -e trace=name_to_handle_at -o "$d/trace" fio --thread \
		--ioengine=external:"$SO" --bs=4k --filesize=4k --name=e \
		--directory="$d" --nrfiles=3 --rw=randwrite --fh_backend=sync \
		--fh_encode_flags=mnt_id_unique >"$d/o" 2>&1 ||
		{ fail "fio failed"; cat "$d/o"; return 1; }
	# AT_SYMLINK_FOLLOW (0x400) | AT_HANDLE_MNT_ID_UNIQUE (0x1)
	[ "$(grep -c "e\.0\.[0-9].*AT_SYMLINK_FOLLOW|0x1\|e\.0\.[0-9].*0x401" "$d/trace")" -ge 3 ] ||
		{ fail "encodes without the flags:"; head -5 "$d/trace"; return 1; }
}

# ---- a second outside review (issue 13) -----------------------------------

# others_dir: a directory another user can reach and write, under /tmp
# whatever TMPDIR and the checkout's place (a clone under /root, mode 700,
# may hold both), with a copy of the engine that user can load.  The
# caller removes it.
others_dir() {
	local d
	d=$(mktemp -d /tmp/fhandle-others.XXXXXX) && chmod 1777 "$d" &&
		cp "$SO" "$d/fhandle.so" && chmod 755 "$d/fhandle.so" &&
		echo "$d"
}

# fio_as_nobody DIR OUT FIO-ARG...: fio as nobody, with DIR's engine and
# DIR as the directory of its files
fio_as_nobody() {
	local dir=$1 out=$2
	shift 2
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		fio --ioengine=external:"$dir/fhandle.so" --bs=4k --filesize=4k \
		--directory="$dir" "$@" >"$out" 2>&1
}

# sha256 of every file of a directory, in name order
hash_files() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# The opcode check may never change a file of the job: for every opcode
# number 0-255, as the encode opcode (with the AT_* flags that are O_TRUNC
# and O_WRONLY as open flags) and as the open opcode, the job's files stay
# byte-identical, no scratch is left, and each job either runs (the real
# opcodes) or is refused at init with a reason.
t_opcode_check_leaves_files_alone() {
	local d t dir op before n ran
	d=$(tdir)
	t=$d/tmp && mkdir "$t" "$d/set"
	fio --ioengine=psync --bs=4k --filesize=8k --directory="$d/set" \
		--name=w --nrfiles=3 --filename_format='f.$filenum' \
		--rw=write --refill_buffers >"$d/w.log" 2>&1 ||
		{ fail "psync layout failed"; return 1; }
	before=$(hash_files "$d/set")
	for dir in encode open; do
		{
			printf '[global]\nioengine=external:%s\nfh_backend=uring\n' "$SO"
			printf 'directory=%s/set\nnrfiles=3\nfilesize=8k\n' "$d"
			printf 'size=24k\nbs=4k\nfilename_format=f.$filenum\n'
			printf 'number_ios=2\nallow_file_create=0\n'
			if [ $dir = encode ]; then
				printf 'rw=randwrite\n'
				kernel_at_least 6.12 &&
					printf 'fh_encode_flags=fid,mnt_id_unique\n'
			else
				printf 'rw=randread\n'
			fi
			for op in $(seq 0 255); do
				printf '[%s%d]\nfh_%s_opcode=%d\n' $dir "$op" $dir "$op"
			done
		} >"$d/$dir.fio"
		# all 256 at once, as threads: a second
		TMPDIR=$t fio --thread --output-format=json \
			--output="$d/$dir.json" "$d/$dir.fio" >"$d/$dir.log" 2>&1
		expect_eq "$dir: the job's files" "$(hash_files "$d/set")" \
			"$before" || return 1
		[ -z "$(ls -A "$t")" ] ||
			{ fail "$dir: the check left $(ls "$t")"; return 1; }
		n=$(grep -cE "is IORING_OP_[A-Z0-9_]+ on every kernel|does not behave as|has no IORING_OP" "$d/$dir.log")
		ran=$(sed -n '/^{/,$p' "$d/$dir.json" |
			jq '[.jobs[] | select(.error == 0)] | length')
		[ "$((n + ran))" -ge 256 ] ||
			{ fail "$dir: $n refusals and $ran runs of 256 jobs"; grep "^fhandle:" "$d/$dir.log" | grep -vE "on every kernel|does not behave as|has no IORING_OP" | head; return 1; }
		# the real opcodes run, where the kernel has them
		if have_opcodes; then
			expect_eq "$dir jobs that ran" "$ran" 1 || return 1
		fi
	done
}

# The check's own failures are said, naming what failed, and leave nothing
# (opcode 55: the probe passes on 6.9 on, so the check runs).
t_err_opcode_check_cannot_run() {
	local d f
	kernel_at_least 6.9 || { skip "kernel $(uname -r) has no opcode 55"; return; }
	d=$(tdir)
	TMPDIR=$d/missing expect_fio_error "$d/o" \
		"cannot check the opcodes' behaviour: mkdtemp: No such file" \
		--name=c --directory="$d" --nrfiles=2 --rw=randwrite \
		--fh_backend=uring --fh_encode_opcode=55 || return 1
	build_fault_shim "$d" || return 1
	for f in fork pipe2 write:1; do
		mkdir -p "$d/t-$f"
		TMPDIR=$d/t-$f FH_FAULT=$f LD_PRELOAD=$d/fault.so \
			expect_fio_error "$d/o" "cannot check the opcodes' behaviour: (${f%:*}|the check's child)" \
			--name=c --directory="$d" --nrfiles=2 --rw=randwrite \
			--fh_backend=uring --fh_encode_opcode=55 || return 1
		[ -z "$(ls -A "$d/t-$f")" ] || { fail "$f: left $(ls "$d/t-$f")"; return 1; }
	done
	# a child that never reports is killed, and said (a 1 s limit here)
	make -s -C "$TOP" ENGINE="$d/quick.so" \
		EXTRA_CFLAGS=-DFH_CHECK_CHILD_WAIT_MS=1000 "$d/quick.so" >/dev/null ||
		{ fail "build with a 1 s limit failed"; return 1; }
	FH_FAULT=hang:name_to_handle_at LD_PRELOAD=$d/fault.so \
		timeout 60 fio --ioengine=external:"$d/quick.so" --bs=4k \
		--filesize=4k --name=c --directory="$d" --nrfiles=2 \
		--rw=randwrite --fh_backend=uring --fh_encode_opcode=55 >"$d/o" 2>&1
	case $? in
	0) fail "a hanging check passed"; return 1 ;;
	124) fail "fio hung with the check"; return 1 ;;
	esac
	grep -q "the check's child (timed out)" "$d/o" ||
		{ fail "the timeout is not said:"; cat "$d/o"; return 1; }
}

# A drop-only job drops the caches once, before any operation of the jobs
# after it, which load their handles from its file and look at no file of
# the set before their first timed open (strace, process mode).  The jobs
# share one set through opendir (fio gives clones of a filename_format job
# the same files but no I/O, with any engine).
t_drop_caches_once() {
	local d log drop first pids p
	command -v strace >/dev/null || { skip "no strace"; return; }
	d=$(tdir)
	log=$d/strace
	mkdir "$d/set" && fio_engine "$d/lay.json" --name=f --directory="$d/set" --nrfiles=20 \
		--create_only=1 || { fail "layout failed"; return 1; }
	strace -f -qq -o "$log" \
		-e trace=openat,open_by_handle_at,name_to_handle_at,write,newfstatat,statx \
		fio --ioengine=external:"$SO" --fh_backend=sync --bs=4k \
		--opendir="$d/set" --fh_handle_file="$d/handles" \
		--output="$d/o.json" --output-format=json \
		--name=drop --fh_drop_caches=all \
		--name=cold --stonewall --numjobs=2 --rw=randread \
		--fh_read_op=open_read ||
		{ fail "drop + cold jobs failed"; return 1; }
	# all: the page cache too, 3 (strace may split the write with
	# "<unfinished ...>")
	expect_eq "drops" "$(grep -c 'write([0-9]*, "3", 1' "$log")" 1 ||
		return 1
	drop=$(grep -n 'write([0-9]*, "3", 1' "$log" | cut -d: -f1)
	first=$(grep -n 'open_by_handle_at(' "$log" | grep -v 'f_handle=.*O_RDONLY|O_CLOEXEC' |
		head -1 | cut -d: -f1)
	[ -n "$first" ] && [ "$drop" -lt "$first" ] ||
		{ fail "an open came before the drop ($first, $drop)"; return 1; }
	# the timed jobs' processes: those that opened by handle
	pids=$(awk '/open_by_handle_at\(/ { print $1 }' "$log" | sort -u)
	for p in $pids; do
		grep "^$p " "$log" | grep -E "name_to_handle_at|openat|stat" |
			grep -q "$d/set/" &&
			{ fail "job $p looked at a file of the set:"; grep "^$p .*$d/set/" "$log" | head -5; return 1; }
	done
	expect_eq "cold reads" "$(sed -n '/^{/,$p' "$d/o.json" |
		jq '[.jobs[] | select(.jobname == "cold") | .read.total_ios] | add')" 40
}

# wait_for orders the drop as stonewall does; a job that could run during
# it is refused by name, and so are numjobs and unlink on the drop job.
t_drop_caches_ordering() {
	local d j
	d=$(tdir)
	j=$d/w.json
	fio_engine "$j" --directory="$d" --nrfiles=5 \
		--name=drop --fh_drop_caches=inodes \
		--name=after --wait_for=drop --rw=randread --fh_read_op=openat ||
		{ fail "wait_for=drop failed"; cat "$j.log"; return 1; }
	expect_eq "reads after the drop" "$(jqv "$j" '.jobs[1].read.total_ios')" 5 ||
		return 1
	expect_fio_error "$d/o" "job b would run while job drop drops the caches" \
		--fh_backend=sync --directory="$d" --nrfiles=2 \
		--name=drop --fh_drop_caches=inodes --name=b --new_group \
		--rw=randread --fh_read_op=openat || return 1
	expect_fio_error "$d/o" "job a would run while job drop drops the caches" \
		--fh_backend=sync --directory="$d" --nrfiles=2 \
		--name=a --rw=randread --fh_read_op=openat \
		--name=drop --fh_drop_caches=inodes || return 1
	expect_fio_error "$d/o" "fh_drop_caches" --fh_backend=sync \
		--directory="$d" --nrfiles=2 --name=drop --fh_drop_caches=1 ||
		return 1
	expect_fio_error "$d/o" "one drop per cold group: numjobs must be 1" \
		--fh_backend=sync --directory="$d" --nrfiles=2 \
		--name=drop --fh_drop_caches=inodes --numjobs=2 || return 1
	expect_fio_error "$d/o" "fh_drop_caches with unlink=1 would remove" \
		--fh_backend=sync --directory="$d" --nrfiles=2 \
		--name=drop --fh_drop_caches=inodes --unlink=1
}

# Not root: said at init, naming the file it cannot write (the engine is
# copied where nobody can load it, whatever the checkout's directory).
t_err_drop_caches_needs_root() {
	local d o
	d=$(tdir)
	o=$(others_dir) || { fail "no directory for nobody"; return 1; }
	# shellcheck disable=SC2064
	trap "rm -rf '$o'" RETURN
	fio_as_nobody "$o" "$d/o" --name=drop --nrfiles=2 \
		--fh_backend=sync --fh_drop_caches=inodes &&
		{ fail "a drop as nobody succeeded"; return 1; }
	grep -q "fh_drop_caches needs root: cannot open /proc/sys/vm/drop_caches" "$d/o" ||
		{ fail "unclear:"; cat "$d/o"; return 1; }
}

# fio's SIGINT while the drop-only job saves the handles (slowed by the
# shim): no drop afterwards, and no handle file, whole or partial.
t_drop_caches_interrupted() {
	local d pid i
	command -v strace >/dev/null || { skip "no strace"; return; }
	d=$(tdir)
	build_fault_shim "$d" || return 1
	FH_FAULT=slow:name_to_handle_at FH_SLOW_MS=50 LD_PRELOAD=$d/fault.so \
		strace -f -qq -o "$d/trace" -e trace=write,name_to_handle_at \
		fio --thread --ioengine=external:"$SO" --bs=4k --filesize=4k \
		--fh_backend=sync --directory="$d" --nrfiles=200 \
		--fh_handle_file="$d/handles" --name=drop --fh_drop_caches=inodes \
		--name=cold --stonewall --rw=randread >"$d/o" 2>&1 &
	pid=$!
	# once the drop job encodes (a slow machine lays out slowly)
	for i in $(seq 600); do
		[ "$(grep -c 'name_to_handle_at(' "$d/trace" 2>/dev/null)" -ge 5 ] &&
			break
		sleep 0.2
	done
	# fio itself (strace's child), not another test's fio
	pkill -INT -P $pid -x fio || { fail "no fio to interrupt"; wait $pid; return 1; }
	wait $pid
	grep -q "terminating on signal 2" "$d/o" ||
		{ fail "fio did not take the SIGINT:"; cat "$d/o"; return 1; }
	grep -q "fault: slow:name_to_handle_at acted" "$d/o" ||
		{ fail "the shim did not slow the encodes:"; cat "$d/o"; return 1; }
	grep -q 'write([0-9]*, "2", 1' "$d/trace" &&
		{ fail "the caches were dropped after SIGINT"; return 1; }
	ls "$d" | grep -q handles && { fail "left $(ls "$d" | grep handles)"; return 1; }
	return 0
}

# The handle file: each bad one is said at init, naming the file and line
t_err_handle_file() {
	local d
	d=$(tdir)
	set -- --fh_backend=sync --directory="$d" --nrfiles=3 --rw=randread \
		--filename_format='g.$filenum'
	expect_fio_error "$d/o" "fh_handle_file: cannot read $d/none: No such file.*fh_drop_caches, writes it" \
		"$@" --name=x --fh_handle_file="$d/none" || return 1
	printf 'not a handle file\n' >"$d/bad1"
	expect_fio_error "$d/o" "fh_handle_file: $d/bad1, line 1: not a handle file's line" \
		"$@" --name=x --fh_handle_file="$d/bad1" || return 1
	printf 'fio-fhandle handles 1 flags=1024\n12 1 zz %s/g.0\n' "$d" >"$d/bad2"
	expect_fio_error "$d/o" "fh_handle_file: $d/bad2, line 2: not a handle file's line" \
		"$@" --name=x --fh_handle_file="$d/bad2" || return 1
	fio --ioengine=external:"$SO" --bs=4k --filesize=4k "$@" --name=x \
		--nrfiles=2 --fh_drop_caches=inodes --fh_handle_file="$d/two" \
		>"$d/o" 2>&1 || { fail "drop job failed"; cat "$d/o"; return 1; }
	expect_fio_error "$d/o" "fh_handle_file: $d/two has no handle for $d/g.2" \
		"$@" --name=x --fh_handle_file="$d/two" || return 1
	expect_fio_error "$d/o" "holds handles encoded through symlinks, and this job does not follow" \
		"$@" --name=x --nrfiles=2 --fh_handle_file="$d/two" \
		--fh_open_flags=nofollow || return 1
	expect_fio_error "$d/o" "fh_handle_file: a drop-only job .* this job does neither" \
		"$@" --name=x --fh_read_op=openat --fh_handle_file="$d/two" ||
		return 1
	build_fault_shim "$d" || return 1
	FH_FAULT=rename LD_PRELOAD=$d/fault.so expect_fio_error "$d/o" \
		"fh_handle_file: cannot write $d/three: Input/output error" \
		"$@" --name=x --fh_drop_caches=inodes --fh_handle_file="$d/three" ||
		return 1
	ls "$d" | grep -q three && { fail "left $(ls "$d" | grep three)"; return 1; }
	FH_FAULT=write LD_PRELOAD=$d/fault.so expect_fio_error "$d/o" \
		"fh_drop_caches: writing /proc/sys/vm/drop_caches: Input/output error" \
		"$@" --name=x --fh_drop_caches=inodes
}

# A block device (a loop device here): fio's size lookup goes through
# the engine, every operation works, and the device's data is unchanged.
t_block_device() {
	local d dev j op before
	command -v losetup >/dev/null || { skip "no losetup"; return; }
	d=$(tdir)
	head -c 1048576 /dev/urandom >"$d/img"
	dev=$(losetup -f --show "$d/img" 2>/dev/null) ||
		{ skip "no loop device here"; return; }
	# shellcheck disable=SC2064
	trap "losetup -d '$dev'" RETURN
	before=$(sha256sum <"$d/img")
	for op in open_read openat_read encode open; do
		j=$d/$op.json
		fio_engine "$j" --name=b --filename="$dev" --filesize=1m --rw=randread \
			--fh_read_op=$op --number_ios=20 --readonly ||
			{ fail "$op on $dev"; cat "$j.log"; return 1; }
		expect_eq "$op ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 20 ||
			return 1
	done
	expect_eq "bytes read by open_read" \
		"$(jqv "$d/open_read.json" '.jobs[0].read.io_bytes')" 81920 || return 1
	expect_eq "the device's data" "$(sha256sum <"$d/img")" "$before" ||
		return 1
	build_fault_shim "$d" || return 1
	FH_FAULT=ioctl LD_PRELOAD=$d/fault.so expect_fio_error "$d/o" \
		"cannot read the size of block device $dev: Input/output error" \
		--name=b --filename="$dev" --rw=randread --fh_backend=sync \
		--readonly
}

# fio 3.33 aborts a mixed job with a rate and a runtime on several files
# (any engine): refused at init with the cause; loops instead work.
t_err_rate_with_runtime() {
	local d j
	d=$(tdir)
	expect_fio_error "$d/o" "mixed rw job with rate or rate_iops and runtime on several files aborts fio 3.33" \
		--name=r --directory="$d" --nrfiles=4 --rw=randrw \
		--rate_iops=300,100 --runtime=1 --time_based \
		--fh_backend=sync || return 1
	j=$d/o.json
	fio_engine "$j" --name=r --directory="$d" --nrfiles=4 --rw=randrw \
		--rate_iops=300,100 --loops=10 ||
		{ fail "rate_iops with loops failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios + .jobs[0].write.total_ios')" 40
}

# iodepth with the sync backend: what fio says for its own sync engines
t_sync_iodepth_as_fio_says() {
	local d
	d=$(tdir)
	fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=s \
		--directory="$d" --nrfiles=8 --rw=randread --fh_backend=sync \
		--iodepth=8 >"$d/o" 2>&1 || { fail "fio failed"; cat "$d/o"; return 1; }
	grep -q "note: both iodepth >= 1 and synchronous I/O engine are selected" \
		"$d/o" || { fail "fio's note is missing"; cat "$d/o"; return 1; }
	grep -q "IO depths    : 1=100.0%" "$d/o" ||
		{ fail "depths other than 1:"; cat "$d/o"; return 1; }
}

# fio's submit and complete histograms count an operation that completes
# inside queue (a sync: nothing to sync) on the uring backend too: with
# batches of 8 openat and a sync every 8, 7 of the 15 submits are syncs.
t_uring_histograms_count_syncs() {
	local d j
	d=$(tdir)
	j=$d/o.json
	fio_engine "$j" --name=h --directory="$d" --nrfiles=16 --loops=4 \
		--rw=randwrite --fh_write_op=openat --fsync=8 --iodepth=8 \
		--iodepth_batch_submit=8 --iodepth_batch_complete_min=8 \
		--fh_backend=uring ||
		{ fail "fio failed"; cat "$j.log"; return 1; }
	expect_eq "syncs" "$(jqv "$j" '.jobs[0].sync.total_ios')" 7 &&
	expect_eq "submits of 1" "$(jqv "$j" '.jobs[0].iodepth_submit["4"] | floor')" 46 &&
	expect_eq "completions of 1" "$(jqv "$j" '.jobs[0].iodepth_complete["4"] | floor')" 46
}

# A submit that takes no SQE issues nothing: the io_us count as issued
# when a later submit takes them (the shim's second submit waits 200 ms,
# which must be slat, not clat).  Fixed files: each operation is one
# chain, submitted at once.
t_uring_zero_submit() {
	local d j
	d=$(tdir)
	build_shim "$d" || return 1
	j=$d/o.json
	FH_SHIM=zero LD_PRELOAD=$d/shim.so fio_engine "$j" --thread \
		--name=z --directory="$d" --nrfiles=5 --rw=randread \
		--fh_read_op=openat --fh_fixedfiles=1 --fh_backend=uring ||
		{ fail "fio failed"; cat "$j.log"; return 1; }
	grep -q "shim: .* [1-9][0-9]* zero" "$j.log" ||
		{ fail "the shim did not act"; cat "$j.log"; return 1; }
	jq -e '.jobs[0].read.clat_ns.max < 200000000 and
	       .jobs[0].read.slat_ns.min >= 200000000' "$j" >/dev/null ||
		fail "a submit that took nothing stamped the io_us: clat max $(jqv "$j" '.jobs[0].read.clat_ns.max'), slat min $(jqv "$j" '.jobs[0].read.slat_ns.min')"
}

# RLIMIT_NOFILE counts every job that may run at the same time (new_group
# does not serialise, stonewall does), and the sync backend's directory
# fds: refused or raised at init, never "Too many open files" mid-run.
t_nofile_counts_concurrent_jobs() {
	local d j i files
	command -v prlimit >/dev/null || { skip "no prlimit"; return; }
	d=$(tdir)
	set -- --ioengine=external:"$SO" --bs=4k --filesize=4k --thread \
		--directory="$d" --nrfiles=10 --rw=randread --fh_read_op=openat \
		--fh_backend=uring --iodepth=60 --loops=20
	prlimit --nofile=125:125 fio "$@" --name=a --name=b --new_group \
		>"$d/o" 2>&1 && { fail "two jobs of iodepth 60 ran with 125 fds"; return 1; }
	grep -q "beyond RLIMIT_NOFILE (soft 125, hard 125)" "$d/o" ||
		{ fail "not refused at init:"; cat "$d/o"; return 1; }
	prlimit --nofile=125:4096 fio "$@" --name=a --name=b --new_group \
		>"$d/o" 2>&1 || { fail "the limit was not raised:"; cat "$d/o"; return 1; }
	prlimit --nofile=125:125 fio "$@" --name=a --name=b --stonewall \
		>"$d/o" 2>&1 || { fail "stonewalled jobs were refused:"; cat "$d/o"; return 1; }
	# the sync backend: one fd per directory (fh_resolve=parent)
	files=
	for i in $(seq 1 80); do
		mkdir "$d/d$i" && head -c 4096 /dev/zero >"$d/d$i/f" &&
			files=$files${files:+:}$d/d$i/f
	done
	prlimit --nofile=100:100 fio --ioengine=external:"$SO" --bs=4k \
		--name=s --filename="$files" --rw=randread --fh_read_op=openat \
		--fh_backend=sync --number_ios=80 >"$d/o" 2>&1 &&
		{ fail "80 directory fds ran with 100 fds"; return 1; }
	grep -q "beyond RLIMIT_NOFILE (soft 100, hard 100)" "$d/o" ||
		{ fail "sync backend not refused at init:"; cat "$d/o"; return 1; }
}

# make test from a checkout only root can enter: the tests that run fio as
# another user work there (the engine is copied for them)
t_checkout_under_private_dir() {
	local d
	host_only || return
	d=$(tdir)
	mkdir -m 700 "$d/home"
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$d/home")
	cp -r "$TOP/build" "$d/home/build"
	WORK= TMPDIR=$d/home bash "$d/home/test/engine/run.sh" \
		err_drop_caches_needs_root >"$d/o" 2>&1 ||
		{ fail "from a mode-700 checkout:"; cat "$d/o"; return 1; }
	grep -q "^1 passed, 0 failed" "$d/o" || { fail "$(cat "$d/o")"; return 1; }
}

# fh_iowq_max_workers: the ring takes the limits (uring only)
t_iowq_max_workers() {
	local d j
	d=$(tdir)
	expect_fio_error "$d/o" "fh_iowq_max_workers need fh_backend=uring" \
		--name=w --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_iowq_max_workers=4,64 || return 1
	j=$d/o.json
	fio_engine "$j" --name=w --directory="$d" --nrfiles=10 --rw=randread \
		--fh_read_op=openat --fh_backend=uring --fh_force_async=1 \
		--fh_iowq_max_workers=2,8 --iodepth=8 ||
		{ fail "fh_iowq_max_workers=2,8 failed"; cat "$j.log"; return 1; }
	expect_eq "ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 10
}

# The README's cold-cache example, on a small set of its own
t_readme_cold_example() {
	local d block j
	host_only || return
	d=$(tdir)
	block=$(sed -n '/^### Cold caches/,/^## /p' "$TOP/README.md" |
		sed -n '/^```$/,/^```$/p' | sed '1d;/^```$/,$d')
	grep -q '^\[drop\]' <<<"$block" || { fail "no example in README"; return 1; }
	mkdir "$d/set" && fio_engine "$d/lay.json" --name=f \
		--directory="$d/set" --nrfiles=30 --create_only=1 ||
		{ fail "layout failed"; return 1; }
	sed -e "s|build/fhandle.so|$SO|; s|/srv/set|$d/set|; s|/tmp/set.handles|$d/h|" \
		-e "s|^numjobs=16|numjobs=2|; s|^\[global\]|&\nfh_backend=$BACKEND|" \
		<<<"$block" >"$d/cold.fio"
	j=$d/o.json
	fio --output-format=json --output="$j" "$d/cold.fio" >"$d/log" 2>&1 || { fail "the example failed:"; cat "$d/log"; return 1; }
	expect_eq "cold opens" "$(sed -n '/^{/,$p' "$j" |
		jq '[.jobs[] | select(.jobname == "cold-opens") | .read.total_ios] | add')" 60
}

# A replayed log with directory=: fio 3.33 crashes on it with any engine
# (it puts the directory before the names of the log's add lines only);
# refused at init, for relative and full names; without directory= the
# names work as written
t_err_iolog_with_directory() {
	local d j log
	d=$(tdir)
	fio_engine "$d/w.json" --name=w --directory="$d" --nrfiles=2 \
		--rw=read --write_iolog="$d/full.log" ||
		{ fail "write_iolog failed"; return 1; }
	sed "s|$d/||" "$d/full.log" >"$d/rel.log"
	for log in rel full; do
		expect_fio_error "$d/o" "read_iolog=$d/$log.log: a line names a file that fio did not add" \
			--name=r --read_iolog="$d/$log.log" --directory="$d" \
			--fh_backend=sync || return 1
		grep -q "signal=11\|Segmentation" "$d/o" && { fail "fio crashed"; return 1; }
	done
	j=$d/r.json
	(cd "$d" && fio_engine "$j" --name=r --read_iolog="$d/rel.log") ||
		{ fail "relative names from the cwd failed"; cat "$j.log"; return 1; }
	expect_eq "replayed" "$(jqv "$j" '.jobs[0].read.total_ios')" 2
}

# ---- names resolved as a file server does (issue 17) ---------------------

# fh_resolve=parent (the default): encodes and openat name a file by an fd
# on its parent and the last component, one fd per directory, opened once
# (strace); =full: fio's full name from AT_FDCWD.
t_resolve_parent_and_full() {
	local d j files i
	command -v strace >/dev/null || { skip "no strace"; return; }
	d=$(tdir)
	files=
	for i in 1 2 3; do
		mkdir "$d/dir$i" && head -c 4096 /dev/zero >"$d/dir$i/f" &&
			head -c 4096 /dev/zero >"$d/dir$i/g" &&
			files=$files${files:+:}$d/dir$i/f:$d/dir$i/g
	done
	strace -f -qq -o "$d/parent" -e trace=openat,name_to_handle_at \
		fio --ioengine=external:"$SO" --fh_backend=sync --bs=4k \
		--name=p --filename="$files" --rw=randrw --fh_read_op=openat \
		--number_ios=60 >"$d/o" 2>&1 || { fail "parent failed"; cat "$d/o"; return 1; }
	expect_eq "directories opened" \
		"$(grep -cE "openat\(AT_FDCWD, \"$d/dir[123]\", O_RDONLY.*O_DIRECTORY" "$d/parent")" 3 ||
		return 1
	grep -E "(openat|name_to_handle_at)\(AT_FDCWD, \"$d/dir[123]/[fg]\"" "$d/parent" &&
		{ fail "a full name with fh_resolve=parent"; return 1; }
	grep -qE "openat\([0-9]+, \"f\", O_RDONLY\)" "$d/parent" &&
		grep -qE "name_to_handle_at\([0-9]+, \"g\"" "$d/parent" ||
		{ fail "no relative operation traced"; return 1; }
	strace -f -qq -o "$d/full" -e trace=openat,name_to_handle_at \
		fio --ioengine=external:"$SO" --fh_backend=sync --bs=4k \
		--name=p --filename="$files" --rw=randrw --fh_read_op=openat \
		--number_ios=60 --fh_resolve=full >"$d/o" 2>&1 ||
		{ fail "full failed"; cat "$d/o"; return 1; }
	grep -qE "openat\(AT_FDCWD, \"$d/dir[123]/[fg]\", O_RDONLY\)" "$d/full" &&
		grep -qE "name_to_handle_at\(AT_FDCWD, \"$d/dir[123]/[fg]\"" "$d/full" ||
		{ fail "no full name traced with fh_resolve=full"; return 1; }
}

# Both ways, on both backends, over what a file set may hold: several
# directories, a symlink (followed), a bind-mounted file, a relative name;
# every operation counted and none failed.
t_resolve_file_sets() {
	local d j r op files
	unshare -m true 2>/dev/null || { skip "no mount namespace"; return; }
	d=$(tdir)
	mkdir "$d/a" "$d/b" "$d/m" && head -c 4096 /dev/urandom >"$d/a/x" &&
		head -c 4096 /dev/urandom >"$d/b/y" && ln -s ../a/x "$d/b/lx" &&
		head -c 4096 /dev/urandom >"$d/b/bind"
	files="$d/a/x:$d/b/y:$d/b/lx:$d/b/bind:rel"
	head -c 4096 /dev/urandom >"$d/rel"
	for r in parent full; do
		for op in openat_read encode; do
			j=$d/$r-$op.json
			(cd "$d" && unshare -m --propagation private bash -c '
				mount -t tmpfs fh "$1/m" &&
				head -c 4096 /dev/zero >"$1/m/src" &&
				mount --bind "$1/m/src" "$1/b/bind" && shift &&
				fio "$@"' _ "$d" --output-format=json \
				--output="$j.raw" --ioengine=external:"$SO" \
				--fh_backend="$BACKEND" --bs=4k --name=s \
				--filename="$files" --rw=randread \
				--fh_read_op=$op --fh_resolve=$r --loops=5 \
				--allow_file_create=0 >"$j.log" 2>&1) ||
				{ fail "$r $op"; cat "$j.log"; return 1; }
			sed -n '/^{/,$p' "$j.raw" >"$j"
			expect_eq "$r $op ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 25 ||
				return 1
			expect_eq "$r $op errors" "$(jqv "$j" '.jobs[0].error')" 0 ||
				return 1
		done
	done
}

# Through the ring, encodes and opens by name complete inline on a warm
# tmpfs when resolved from the parent (none of the job's requests reaches
# io-wq: the io_uring:io_uring_queue_async_work tracepoint).  In the VM a
# full name from / crosses the guest's 9p root, whose lookups cannot be
# done without blocking, and goes to io-wq: why fh_resolve=parent is the
# default and the VM's figures use it.
t_uring_by_name_inline() {
	local tr=/sys/kernel/tracing d r n
	need_uring || return
	[ -w $tr/events/io_uring/io_uring_queue_async_work/enable ] ||
		{ skip "no io_uring tracepoints in $tr"; return; }
	[ "$(stat -f -c %T "$WORK")" = tmpfs ] ||
		{ skip "$WORK is not on tmpfs"; return; }
	d=$(tdir)
	for r in parent full; do
		echo 0 >$tr/tracing_on && echo >$tr/trace &&
			echo 1 >$tr/events/io_uring/io_uring_queue_async_work/enable &&
			echo 1 >$tr/tracing_on || { fail "cannot trace"; return 1; }
		fio_engine "$d/$r.json" --name=i --directory="$d" --nrfiles=50 \
			--loops=4 --rw=randrw --fh_read_op=openat \
			--fh_write_op=encode --fh_resolve=$r --iodepth=8
		echo 0 >$tr/tracing_on
		echo 0 >$tr/events/io_uring/io_uring_queue_async_work/enable
		expect_eq "$r ios" "$(jqv "$d/$r.json" '.jobs[0].read.total_ios + .jobs[0].write.total_ios')" 200 ||
			return 1
		n=$(grep -E '^ *fio-[0-9]+ .*io_uring_queue_async_work: .*opcode (OPENAT|NAME_TO_HANDLE_AT|CLOSE),' \
			$tr/trace | wc -l)
		case $r in
		parent) expect_eq "requests of the parent job in io-wq" "$n" 0 || return 1 ;;
		full) [ -z "${FHANDLE_VM:-}" ] || [ "$n" -gt 0 ] ||
			{ fail "full names from the VM's 9p root went inline: the reason for the default is gone"; return 1; } ;;
		esac
	done
}

all=$(declare -F | awk '$3 ~ /^t_/ { sub(/^t_/, "", $3); print $3 }')
run_tests ${*:-$all}
