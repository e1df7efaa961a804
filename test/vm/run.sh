#!/bin/bash
# Run one shell command as root inside a throw-away VM booted on the
# project's kernel, with the host's root filesystem as the guest's
# (read-only over 9p), scratch ext4/xfs/tmpfs filesystems and a writable
# output folder shared back.  See test/vm/README.md.
#
# usage: test/vm/run.sh [--debug] [--icount] [--timeout SECONDS] [--out DIR]
#                       [--kernel BZIMAGE] -c 'shell command'
#
#   -c CMD            the command, run with bash in the guest (required)
#   --debug           use the debug kernel (kernel/build.sh --debug)
#   --icount          exact mode: TCG counts instructions, guest time is one
#                     ns per instruction (-icount shift=0,sleep=off), so
#                     timings repeat between runs (see test/vm/README.md)
#   --kernel BZIMAGE  boot this bzImage instead of building one
#   --timeout SECS    fail if the VM has not finished by then (default 900)
#   --out DIR         the host folder the guest sees as $FHANDLE_OUT
#                     (default: a temporary one, removed afterwards)
#   -h, --help        this text
#
# Exit status: the command's own; if it succeeded but the guest kernel log
# shows a warning, bug, oops or lockdep/KASAN/UBSAN report: 1; usage
# error: 2; VM timed out: 124; VM died (panic, no status recorded): 125.
#
# Environment: FHANDLE_VM_ACCEL=kvm|tcg forces the accelerator (default:
# probe KVM once per host boot, cached); FHANDLE_VM_MEM (MiB) the guest's
# memory; FHANDLE_VM_SMP its CPUs; FHANDLE_VM_ICOUNT=1 is --icount;
# FHANDLE_VM_DISK_MB the size of each
# scratch disk (default 1024); FHANDLE_CACHE the cache folder shared with
# kernel/build.sh.  Host variables named FHANDLE_* are passed to the command.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
INIT=$HERE/guest-init.sh
CACHE=${FHANDLE_CACHE:-/var/cache/fio-fhandle}

log() { printf 'vm: %s\n' "$*" >&2; }
usage_error() {
	log "error: $*"
	log "usage: test/vm/run.sh [--debug] [--icount] [--timeout SECONDS] [--out DIR] [--kernel BZIMAGE] -c 'shell command'"
	exit 2
}

debug=0
icount=${FHANDLE_VM_ICOUNT:-0}
timeout_s=900
outdir=
kernel=
cmd=
have_cmd=0
while (($#)); do
	case $1 in
	-c)
		(($# >= 2)) || usage_error "-c needs a command"
		cmd=$2 have_cmd=1; shift 2 ;;
	--debug) debug=1; shift ;;
	--icount) icount=1; shift ;;
	--timeout)
		(($# >= 2)) || usage_error "--timeout needs a number of seconds"
		timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--out)
		(($# >= 2)) || usage_error "--out needs a directory"
		outdir=$2; shift 2 ;;
	--out=*) outdir=${1#*=}; shift ;;
	--kernel)
		(($# >= 2)) || usage_error "--kernel needs a bzImage"
		kernel=$2; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
((have_cmd)) || usage_error "missing -c 'shell command'"
[[ -n ${cmd//[[:space:]]/} ]] || usage_error "the command given with -c is empty"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] ||
	usage_error "--timeout wants a whole number of seconds > 0, not '$timeout_s'"
[[ $icount == [01] ]] ||
	usage_error "FHANDLE_VM_ICOUNT must be 0 or 1, not '$icount'"
# Exact mode counts instructions, which only TCG can do.
if ((icount)) && [[ ${FHANDLE_VM_ACCEL:-} == kvm ]]; then
	usage_error "--icount needs TCG, not FHANDLE_VM_ACCEL=kvm"
fi
if [[ -n $kernel && ! -f $kernel ]]; then
	usage_error "--kernel: no such file: $kernel"
fi
[[ -f $INIT ]] || { log "error: $INIT is missing"; exit 2; }

# What we need from Debian (test/need-pkgs.sh installs what is missing).
need=(qemu-system-x86 e2fsprogs xfsprogs)
if [[ -f $REPO/test/need-pkgs.sh ]]; then
	bash "$REPO/test/need-pkgs.sh" "${need[@]}" >&2 ||
		log "warning: could not install all of ${need[*]}"
fi
command -v qemu-system-x86_64 > /dev/null || {
	log "error: qemu-system-x86_64 is missing (Debian package qemu-system-x86)"
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fhandle-vm.XXXXXX") || exit 2
qemu_pid=
cleanup() {
	if [[ -n $qemu_pid ]]; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The kernel.
if [[ -z $kernel ]]; then
	[[ -f $REPO/kernel/build.sh ]] || {
		log "error: $REPO/kernel/build.sh is missing; pass --kernel"; exit 2; }
	args=()
	((debug)) && args+=(--debug)
	log "getting the kernel: kernel/build.sh ${args[*]}"
	# build.sh's stdout is progress too: show it, keep its last line.
	if ! bash "$REPO/kernel/build.sh" "${args[@]}" | tee "$tmp/build.out" >&2; then
		log "error: kernel/build.sh ${args[*]} failed"
		exit 2
	fi
	kernel=$(tail -n1 "$tmp/build.out")
	[[ -f $kernel ]] || {
		log "error: kernel/build.sh printed '$kernel', which is no file"; exit 2; }
fi
kernel=$(realpath "$kernel")

# The accelerator.  On some hosts /dev/kvm opens but a KVM guest never runs,
# so KVM is only used after a tiny probe boot has shown it working.  The
# verdict is cached per host boot.
accel_cache=$CACHE/vm/accel
probe_kvm() {
	[[ -r /dev/kvm && -w /dev/kvm ]] || { echo tcg; return; }
	local boot_id line
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo none)
	if line=$(cat "$accel_cache" 2>/dev/null) && [[ ${line% *} == "$boot_id" ]]; then
		echo "${line##* }"
		return
	fi
	local verdict=tcg
	# No root device: the kernel panics at once and panic=-1 resets it.
	timeout -k 2 15 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$tmp/probe.log" -kernel "$kernel" \
		-append "console=ttyS0 panic=-1 root=/dev/fhandle-none" \
		< /dev/null > "$tmp/probe.out" 2>&1
	local rc=$?
	if ((rc == 0)) && grep -q 'Linux version' "$tmp/probe.log" 2>/dev/null &&
	   grep -q 'Kernel panic' "$tmp/probe.log"; then
		verdict=kvm
	fi
	mkdir -p "${accel_cache%/*}" 2>/dev/null &&
		echo "$boot_id $verdict" > "$accel_cache" 2>/dev/null
	echo "$verdict"
}
accel=${FHANDLE_VM_ACCEL:-}
((icount)) && [[ -z $accel ]] && accel=tcg
case $accel in
kvm|tcg) ;;
"") accel=$(probe_kvm) ;;
*) usage_error "FHANDLE_VM_ACCEL must be kvm or tcg, not '$accel'" ;;
esac
if [[ $accel == kvm ]]; then
	accel_args=(-accel kvm -cpu host)
elif ((icount)); then
	# Guest time advances one ns per instruction, and with sleep=off an
	# idle guest jumps to its next timer instead of waiting in host time:
	# nothing the host does shows in guest time.  icount runs every vCPU
	# on one host thread, in turn.
	accel_args=(-accel tcg,thread=single -cpu max -icount shift=0,sleep=off)
else
	accel_args=(-accel tcg,thread=multi -cpu max)
fi

# Output folder.
if [[ -n $outdir ]]; then
	mkdir -p "$outdir" || { log "error: cannot create --out $outdir"; exit 2; }
	outdir=$(realpath "$outdir")
	rm -f "$outdir/vm-dmesg.log" "$outdir/vm-exit-status" "$outdir/vm-console.log"
else
	outdir=$tmp/out
	mkdir "$outdir"
fi

# Control folder: what the guest init reads and writes back.
ctl=$tmp/ctl
mkdir "$ctl"
printf '%s\n' "$cmd" > "$ctl/cmd"
pwd -P > "$ctl/cwd"
{
	while IFS= read -r var; do
		case $var in
		FHANDLE_VM|FHANDLE_OUT|FHANDLE_SCRATCH) continue ;;
		esac
		printf 'export %s=%q\n' "$var" "${!var}"
	done < <(compgen -e | grep '^FHANDLE_')
	# the command can tell its figures are instruction counts
	echo "export FHANDLE_VM_ICOUNT=$icount"
} > "$ctl/env"

disk_mb=${FHANDLE_VM_DISK_MB:-1024}

mem=${FHANDLE_VM_MEM:-$(((debug) ? 3072 : 2048))}
# Exact mode: one vCPU unless asked.  icount's clock counts the
# instructions of every vCPU in turn (one host thread runs them all), so
# a second vCPU adds no parallel time, only cross-CPU work.
smp=${FHANDLE_VM_SMP:-$(((icount) ? 1 : 2))}
for v in disk_mb mem smp; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
		usage_error "FHANDLE_VM_${v^^} must be a whole number, not '${!v}'"
done
[[ $INIT != *[[:space:]]* ]] ||
	usage_error "the repository path has white space, which the kernel command line cannot carry: $INIT"
# qemu option values: a comma is written as two.
qp() { printf '%s' "${1//,/,,}"; }
append="console=ttyS0,115200 panic=-1 random.trust_cpu=on pci=noacpi root=fhroot rootfstype=9p"
# no boot-time null_blk device: test/vm/nullb.sh makes them as needed
append+=" null_blk.nr_devices=0"
# The IO-APIC timer check counts ticks against a delay loop, which TCG on a
# loaded host runs too slowly: at HZ=1000 it panicked boots ("IO-APIC +
# timer doesn't work!").  Virtual machines skip it.
append+=" no_timer_check"
append+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
append+=" init=$INIT"
# Under icount the second CPU's delay-loop calibration waited for jiffies
# for more than 5 minutes; a preset loops-per-jiffy skips it (the TSC runs
# at 1 GHz of guest time, HZ is 1000).  Even so CPU 1 comes up only after
# about 11 s of guest time, minutes of wall time: see test/vm/README.md.
((icount && smp > 1)) && append+=" lpj=1000000"

# Scratch disks: sparse files, one per filesystem.
truncate -s "${disk_mb}M" "$tmp/ext4.img" "$tmp/xfs.img" || exit 2

console=$tmp/console.log
log "booting $kernel ($accel$( ((icount)) && echo ' icount'), ${smp} CPUs, ${mem} MiB, timeout ${timeout_s}s)"
start=$(date +%s.%N)
# The command's output arrives on the guest's second serial port, which is
# our stdout; the kernel console goes to a file.
timeout -k 5 "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" \
	-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none \
	-no-reboot \
	-kernel "$kernel" -append "$append" \
	-serial "file:$(qp "$console")" \
	-chardev stdio,id=cmdout,signal=off -serial chardev:cmdout \
	-virtfs "local,path=/,mount_tag=fhroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$(qp "$ctl"),mount_tag=fhctl,security_model=none" \
	-virtfs "local,path=$(qp "$outdir"),mount_tag=fhout,security_model=none" \
	-drive "file=$(qp "$tmp/ext4.img"),format=raw,if=none,id=d0,cache=unsafe" \
	-device virtio-blk-pci,drive=d0,serial=fhext4 \
	-drive "file=$(qp "$tmp/xfs.img"),format=raw,if=none,id=d1,cache=unsafe" \
	-device virtio-blk-pci,drive=d1,serial=fhxfs \
	< /dev/null 2> "$tmp/qemu.err" &
# In the background so that a signal to us runs the trap at once (which
# stops qemu through timeout) instead of after qemu is done.
qemu_pid=$!
wait "$qemu_pid"
qrc=$?
qemu_pid=
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

show_console() {
	log "---- last lines of the guest console ($console) ----"
	tail -n "${1:-40}" "$console" >&2 2>/dev/null || log "(no console output)"
	log "---- end of console ----"
}
[[ -n $outdir && $outdir != "$tmp/out" ]] && cp "$console" "$outdir/vm-console.log" 2>/dev/null

if [[ -s $tmp/qemu.err ]]; then
	sed 's/^/vm: qemu: /' "$tmp/qemu.err" >&2
fi

rc=0
if ((qrc == 124 || qrc == 137)); then
	log "FAIL: the VM did not finish within ${timeout_s}s (killed)"
	show_console 60
	rc=124
elif ((qrc != 0)); then
	log "FAIL: qemu exited with status $qrc"
	show_console
	rc=125
elif [[ ! -f $ctl/status ]]; then
	if [[ -f $ctl/init-error ]]; then
		log "FAIL: guest init: $(cat "$ctl/init-error")"
	else
		log "FAIL: the guest stopped without recording the command's status (panic?)"
	fi
	show_console 60
	rc=125
else
	rc=$(cat "$ctl/status")
	[[ $rc =~ ^[0-9]+$ ]] || { log "FAIL: bad status '$rc'"; rc=125; }
fi

# The kernel log: what the guest saved, plus the console (which also holds
# whatever came after the save, or everything when the guest died).
pattern='WARNING:|BUG:|Oops|new suspected memory leak|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|bad unlock balance|lockdep is turned off|KASAN:|UBSAN:|general protection|Call Trace|Kernel panic|blocked for more than'
splats=$(cat "$ctl/dmesg.log" "$console" 2>/dev/null | grep -E "$pattern" | sort -u)
if [[ -n $splats ]]; then
	log "FAIL: the guest kernel log is not clean:"
	printf '%s\n' "$splats" | head -n 40 | sed 's/^/vm:   /' >&2
	if [[ -f $ctl/dmesg.log ]]; then
		log "---- first splat in context ----"
		grep -E -m1 -B2 -A25 "$pattern" "$ctl/dmesg.log" >&2
		log "---- end ----"
	fi
	((rc == 0)) && rc=1
fi

boot=
if [[ -f $ctl/times ]]; then
	boot=$(awk '$1 == "ready" { printf ", boot+scratch %.1fs", $2 }' "$ctl/times")
fi
log "done in ${elapsed}s ($accel$boot), status $rc"
exit "$rc"
