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

t_err_no_export_support() {
	local d
	d=$(tdir)
	expect_fio_error "$d/o" "filesystem of /proc/self/status cannot export file handles" \
		--name=p --filename=/proc/self/status --rw=randwrite \
		--size=4k --create_on_open=1 --fh_backend=sync
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
	grep -q "needs CAP_DAC_READ_SEARCH" "$d/o" ||
		{ fail "no clear message:"; cat "$d/o"; return 1; }
	# opens by path need no capability
	setpriv --bounding-set=-dac_read_search --inh-caps=-dac_read_search \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=c \
		--directory="$d" --nrfiles=3 --rw=randread --fh_read_op=openat \
		--fh_backend="$BACKEND" >"$d/o2" 2>&1 ||
		{ fail "openat without the capability failed"; cat "$d/o2"; }
}

# A file deleted during the run: -ESTALE is an I/O error, which
# continue_on_error (with ignore_error=ESTALE: fio ignores only EIO and
# EILSEQ by default) turns into a count; without it fio stops cleanly.
# exec_prerun runs after the engine's init, so the deletion falls in the
# timed phase.  On ext4, an open by handle that races with the inode's
# eviction can fail once with ENOMEM (12) instead (seen on 6.18, from
# open_by_handle_at(2) itself, under strace): the engine reports what the
# kernel says, and the job ignores both.
t_err_file_deleted() {
	local d j errs
	d=$(tdir)
	j=$d/out.json
	fio_engine "$j" --name=s --directory="$d" --nrfiles=4 --rw=randread \
		--time_based --runtime=3 --continue_on_error=read \
		--ignore_error=116:12 \
		--exec_prerun="(sleep 1; rm -f $d/s.0.2) &" ||
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
		--rw=randread --time_based --runtime=3 \
		--exec_prerun="(sleep 1; rm -f $d/t.0.1) &" >"$d/o" 2>&1; then
		fail "fio exited 0 without continue_on_error"
		return 1
	fi
	grep -qE "Stale file handle|Cannot allocate memory" "$d/o" ||
		{ fail "no ESTALE in:"; cat "$d/o"; }
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
	# without root: a clear error (opens by path: no capability needed)
	chmod 777 "$d"
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		fio --ioengine=external:"$SO" --bs=4k --filesize=4k --name=n \
		--directory="$d" --nrfiles=3 --rw=randread --fh_read_op=openat \
		--fh_backend=sync --fh_cold_cache=1 >"$d/o" 2>&1; then
		fail "fh_cold_cache as nobody succeeded"
		return 1
	fi
	grep -q "fh_cold_cache needs root" "$d/o" || { fail "unclear:"; cat "$d/o"; }
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
		--size=4k --create_on_open=1 --rw=randwrite --fh_backend=sync
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

all=$(declare -F | awk '$3 ~ /^t_/ { sub(/^t_/, "", $3); print $3 }')
run_tests ${*:-$all}
