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
		 fh_fixedfiles fh_force_async fh_sqpoll fh_encode_opcode \
		 fh_open_opcode fh_cold_cache; do
		grep -q "^$o" <<<"$out" ||
			grep -qE "^\s*$o\b" <<<"$out" ||
			{ fail "--enghelp lacks $o"; echo "$out"; return 1; }
	done
	# none clashes with a fio option
	for o in $(grep -oE '^\s*fh_[a-z_]+' <<<"$out"); do
		fio --cmdhelp="$o" 2>&1 | grep -q "No such command" ||
			{ fail "$o is also a fio option"; return 1; }
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

# opcode 0 is IORING_OP_NOP on every kernel: "supported", but it encodes
# nothing, which only a check by behaviour can tell
t_err_opcode_does_something_else() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "opcode 0 does not behave as IORING_OP_NAME_TO_HANDLE_AT.*fh_encode_opcode" \
		--name=n --directory="$d" --nrfiles=3 --rw=randwrite \
		--fh_backend=uring --fh_encode_opcode=0 || return 1
	expect_fio_error "$d/o" "opcode 0 does not behave as IORING_OP_OPEN_BY_HANDLE_AT.*fh_open_opcode" \
		--name=n --directory="$d" --nrfiles=3 --rw=randread \
		--fh_backend=uring --fh_open_opcode=0
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
		--fh_backend=uring --iodepth=20000
}

t_err_unknown_values() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o1" "fh_backend" --name=x --directory="$d" \
		--nrfiles=2 --rw=randread --fh_backend=bogus || return 1
	expect_fio_error "$d/o2" "fh_read_op" --name=x --directory="$d" \
		--nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_read_op=lookup || return 1
	expect_fio_error "$d/o3" "unknown fh_open_flags value 'bogus'" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_open_flags=rdonly,bogus || return 1
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

t_cold_cache() {
	local d j
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=k --directory="$d" --nrfiles=20 --rw=randread \
		--fh_cold_cache=1 || { fail "cold-cache run failed"; cat "$j.log"; return 1; }
	expect_eq "read total_ios" "$(jqv "$j" '.jobs[0].read.total_ios')" 20 ||
		return 1
	# without root: a clear error (opens by path: no capability needed;
	# nobody must reach the directory)
	chmod o+x "$WORK" && chmod 777 "$d"
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=n \
		--directory="$d" --nrfiles=3 --rw=randread --fh_read_op=openat \
		--fh_backend=sync --fh_cold_cache=1 >"$d/o" 2>&1; then
		fail "fh_cold_cache as nobody succeeded"
		return 1
	fi
	grep -q "fh_cold_cache needs root" "$d/o" || { fail "unclear:"; cat "$d/o"; return 1; }
	# the other jobs of the group learn that the drop failed
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=n \
		--directory="$d" --nrfiles=3 --rw=randread --fh_read_op=openat \
		--fh_backend=sync --fh_cold_cache=1 --numjobs=2 >"$d/o" 2>&1; then
		fail "a cold-cache group as nobody succeeded"
		return 1
	fi
	grep -q "fh_cold_cache: job n, which drops the caches for its group, failed" "$d/o" ||
		{ fail "the group's other job did not say why:"; cat "$d/o"; return 1; }
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

# fds the engine opened and did not close, and its definite leaks; fio's
# own are not ours.  Every run is in one process (--thread).
valgrind_clean() {
	local log=$1
	shift
	valgrind --quiet --track-fds=yes --leak-check=full \
		--errors-for-leak-kinds=definite --log-file="$log" \
		fio --thread --ioengine=external:"$SO" --bs=4k --filesize=4k \
		"$@" >"$log.out" 2>&1
	if grep -A12 -E "Open file descriptor|definitely lost|Invalid (read|write)|uninitialised" \
		"$log" | grep -qE "fhandle\.(c|so)"; then
		fail "valgrind reports the engine:"
		grep -B2 -A12 -E "fhandle\.(c|so)" "$log" | head -40
		return 1
	fi
}

t_valgrind() {
	local d
	command -v valgrind >/dev/null || { skip "no valgrind"; return; }
	d=$(tdir)
	valgrind_clean "$d/ok" --name=v --directory="$d" --nrfiles=10 \
		--rw=randrw --fh_read_op=open_read --fh_backend="$BACKEND" \
		--iodepth=4 || return 1
	grep -q "err= 0" "$d/ok.out" || { fail "run failed"; cat "$d/ok.out"; return 1; }
	# In the VM (TCG: valgrind takes minutes a run) the run above checks
	# the uring backend; the error paths, the same there, run on the host.
	[ -z "${FHANDLE_VM:-}" ] || return 0
	# error paths leave nothing behind either
	valgrind_clean "$d/e1" --name=v --directory="$d" --nrfiles=10 \
		--rw=randwrite --fh_backend=uring --fh_encode_opcode=0 || return 1
	grep -q "does not behave" "$d/e1.out" || { fail "e1 did not fail"; return 1; }
	valgrind_clean "$d/e2" --name=v --directory="$d" --nrfiles=3 \
		--rw=randread --fh_backend=sync --fh_open_flags=bogus || return 1
	valgrind_clean "$d/e3" --name=v --filename=/proc/self/status \
		--size=4k --readonly --rw=randread --fh_backend=sync || return 1
	# a group of cold-cache jobs meets in shared memory
	valgrind_clean "$d/e4" --name=v --directory="$d" --nrfiles=3 \
		--rw=randread --fh_backend=sync --fh_cold_cache=1 --numjobs=2 \
		--fh_read_op=openat
}

t_sanitizers() {
	local d asan out
	d=$(tdir)
	asan=$(gcc -print-file-name=libasan.so)
	[ -f "$asan" ] || { skip "no libasan"; return; }
	make -s -C "$TOP" ENGINE="$d/asan.so" "$d/asan.so" \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" >/dev/null ||
		{ fail "sanitizer build failed"; return 1; }
	for args in "--rw=randrw --fh_read_op=open_read" \
		    "--rw=randrw --fh_read_op=openat_read" \
		    "--rw=randwrite --fh_backend=uring --fh_encode_opcode=0" \
		    "--rw=randread --fh_open_flags=bogus"; do
		# shellcheck disable=SC2086
		out=$(LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0 \
			UBSAN_OPTIONS=print_stacktrace=1 \
			fio --thread --ioengine=external:"$d/asan.so" \
			--fh_backend="$BACKEND" --bs=4k --filesize=4k --name=a \
			--directory="$d" --nrfiles=10 --iodepth=4 $args 2>&1)
		if grep -qE "AddressSanitizer|runtime error:" <<<"$out"; then
			fail "sanitizer report for $args:"
			echo "$out" | head -40
			return 1
		fi
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
	local out before after
	host_only || return
	grep -qx 'make run' "$TOP/README.md" ||
		{ fail "README has no 'make run' line"; return 1; }
	before=$(ls "${TMPDIR:-/tmp}" | grep -c '^fhandle-run\.' || true)
	out=$(cd "$TOP" && make run 2>&1) ||
		{ fail "make run failed:"; echo "$out" | tail -20; return 1; }
	for job in open-by-handle open-by-path encode; do
		grep -q "^$job: (groupid" <<<"$out" ||
			{ fail "no report of $job"; echo "$out" | tail; return 1; }
	done
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
# handle-open opcode before them although rw is write.  Opcode 0 is NOP:
# "supported" on any kernel, and it opens nothing.
t_err_verify_phase_checked() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "opcode 0 does not behave as IORING_OP_OPEN_BY_HANDLE_AT" \
		--name=v --directory="$d" --nrfiles=2 --rw=write \
		--verify=crc32c --verify_only=1 --fh_read_op=open_read \
		--fh_backend=uring --fh_open_opcode=0
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
		for v in -1 63.5 1e2 256 0x40; do
			expect_fio_error "$d/o" "$opt='$v': an io_uring opcode is a whole number from 0 to 255" \
				--name=x --directory="$d" --nrfiles=2 \
				--rw=randread --fh_backend=sync "--$opt=$v" ||
				return 1
		done
	done
}

# fh_cold_cache: one drop for the group, before any job's first operation
# (opens by path as syscalls, so that strace sees them: the engine's init
# opens no file of the set)
t_cold_cache_once_per_group() {
	local d log first drops
	command -v strace >/dev/null || { skip "no strace"; return; }
	d=$(tdir)
	log=$d/strace
	strace -f -qq -o "$log" -e trace=openat,write \
		fio --ioengine=external:"$SO" --fh_backend=sync --bs=4k \
		--filesize=4k --directory="$d" --nrfiles=20 --rw=randread \
		--fh_read_op=openat --fh_cold_cache=1 --output=/dev/null \
		--name=a --numjobs=2 --name=b ||
		{ fail "cold-cache group failed"; return 1; }
	drops=$(grep -c 'openat(.*drop_caches' "$log")
	expect_eq "drops" "$drops" 1 || return 1
	first=$(grep -n "openat(AT_FDCWD, \"$d/[ab]\.[0-9.]*\", O_RDONLY)" "$log" |
		head -1 | cut -d: -f1)
	[ -n "$first" ] || { fail "no operation traced"; return 1; }
	[ "$(grep -n 'drop_caches' "$log" | head -1 | cut -d: -f1)" -lt "$first" ] ||
		{ fail "an operation came before the drop"; return 1; }
	# a job of the group without it would run during the drop
	expect_fio_error "$d/o" "fh_cold_cache=1 needs every job of its group to set it: job b does not" \
		--fh_backend=sync --directory="$d" --nrfiles=2 --rw=randread \
		--fh_read_op=openat --name=a --fh_cold_cache=1 --name=b ||
		return 1
	# a job fio starts later would hold the others back
	expect_fio_error "$d/o" "fh_cold_cache=1 with startdelay in a group of several jobs" \
		--fh_backend=sync --directory="$d" --nrfiles=2 --rw=randread \
		--fh_read_op=openat --fh_cold_cache=1 --name=a --name=b \
		--startdelay=1
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
	# nofollow: every operation refuses the link, said at init
	expect_fio_error "$d/o" "link0.*Too many levels of symbolic links" \
		--name=n --filename="$d/link0" --rw=randread \
		--fh_backend=sync --fh_open_flags=rdonly,nofollow
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
	grep -q "fault: getrlimit failed [1-9]" "$d/o" ||
		fail "the shim did not act"
}

# The cold-cache meeting (a POSIX shared memory object) cannot be set up:
# every job that could not meet, and every job waiting on it, fails with
# the call named, none hangs, and no object is left in /dev/shm.
t_err_cold_cache_meeting() {
	local d f rc
	d=$(tdir)
	build_fault_shim "$d" || return 1
	for f in shm_open ftruncate mmap mmap:1 mmap:2; do
		FH_FAULT=$f LD_PRELOAD=$d/fault.so timeout 120 fio --thread \
			--ioengine=external:"$SO" --bs=4k --filesize=4k \
			--fh_backend=sync --directory="$d" --nrfiles=4 \
			--rw=randread --fh_read_op=openat --fh_cold_cache=1 \
			--name=a --numjobs=3 >"$d/o" 2>&1
		rc=$?
		[ $rc = 124 ] && { fail "$f: fio hung"; return 1; }
		[ $rc != 0 ] || { fail "$f: fio exited 0"; return 1; }
		grep -q "fault: $f failed [1-9]" "$d/o" ||
			{ fail "$f: the shim did not act"; return 1; }
		grep -q "func=${f%:*}, error=" "$d/o" ||
			{ fail "$f: the call is not named:"; cat "$d/o"; return 1; }
		if ls /dev/shm/fio-fhandle-cold.* >/dev/null 2>&1; then
			fail "$f: left $(ls /dev/shm/fio-fhandle-cold.*)"
			rm -f /dev/shm/fio-fhandle-cold.*
			return 1
		fi
	done
}

# More mounts than f->engine_pos can index: an engine built with 2 bits of
# mount index (4 mounts) meets the limit on 5 bind-mounted files and says so.
t_err_too_many_mounts() {
	local d
	host_only || return
	unshare -m true 2>/dev/null || { skip "no mount namespace"; return; }
	d=$(tdir)
	make -s -C "$TOP" ENGINE="$d/small.so" \
		EXTRA_CFLAGS=-DFH_POS_MOUNT_SHIFT=62 "$d/small.so" >/dev/null ||
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

# A wrong open opcode that returns 0 (NOP) must not make the behaviour
# check close fd 0: only an fd on the file itself is closed.
t_opcode_check_keeps_stdin() {
	local d
	command -v strace >/dev/null || { skip "no strace"; return; }
	d=$(tdir)
	strace -f -qq -e trace=close -o "$d/trace" fio --thread \
		--ioengine=external:"$SO" --bs=4k --filesize=4k --name=n \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=uring \
		--fh_open_opcode=0 </dev/null >"$d/o" 2>&1 &&
		{ fail "opcode 0 passed the check"; return 1; }
	grep -q "opcode 0 does not behave" "$d/o" ||
		{ fail "unexpected failure:"; cat "$d/o"; return 1; }
	if grep -q "close(0)" "$d/trace"; then
		fail "the check closed fd 0"
		return 1
	fi
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
	expect_fio_error "$d/o1" "unknown fh_open_flags value 'rdonly\+noatime'" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_open_flags=rdonly+noatime || return 1
	expect_fio_error "$d/o2" "name one access mode" --name=x \
		--directory="$d" --nrfiles=2 --rw=randread --fh_backend=sync \
		--fh_open_flags=rdonly,rdwr || return 1
	expect_fio_error "$d/o3" "repeated fh_open_flags value 'noatime'" \
		--name=x --directory="$d" --nrfiles=2 --rw=randread \
		--fh_backend=sync --fh_open_flags=noatime,noatime || return 1
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

all=$(declare -F | awk '$3 ~ /^t_/ { sub(/^t_/, "", $3); print $3 }')
run_tests ${*:-$all}
