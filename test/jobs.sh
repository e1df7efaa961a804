#!/usr/bin/env bash
# Run every job in jobfiles/ briefly (runtime=1), with the backend of
# FHANDLE_BACKEND (sync by default) for the jobs that take it from there,
# and check that each finishes without error and with operations counted.
# A job that names the uring backend itself runs it only where the kernel
# has the opcodes; elsewhere that job runs with the sync backend.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# job_check JOBFILE: one brief run of it
job_check() {
	local job=$1 d copy j
	d=$(tdir)
	copy=$d/$(basename "$job")
	sed 's/^runtime=.*/runtime=1/' "$job" >"$copy"
	have_opcodes || sed -i 's/^fh_backend=uring$/fh_backend=sync/' "$copy"
	j=$d/out.json
	bash "$TOP/jobfiles/run.sh" --backend "$BACKEND" "$copy" \
		--output-format=json --output="$j" >"$d/log" 2>&1 ||
		{ fail "$(basename "$job") failed:"; tail -20 "$d/log" "$j"; return 1; }
	jq -e '[.jobs[] | .error == 0 and
		(.read.total_ios + .write.total_ios) > 0] | all' "$j" \
		>/dev/null ||
		{ fail "$(basename "$job"): a job erred or did nothing"; return 1; }
}

tests=()
for job in "$TOP"/jobfiles/*.fio; do
	name=job_$(basename "$job" .fio | tr -c 'a-z0-9\n' '_')
	eval "t_$name() { job_check '$job'; }"
	tests+=("$name")
done
run_tests "${tests[@]}"
