#!/bin/bash
# PID 1 of the test VM started by test/vm/run.sh (passed to the kernel as
# init=).  The root filesystem is the host's own /, read-only over 9p, so
# every binary used here is the host's.
#
# Shares and devices set up by run.sh (keep the two files in step):
#   9p tag fhctl  -> /mnt/ctl   run.sh's control folder: cmd (the command),
#                               env (exports for it), cwd; we write back
#                               status, dmesg.log, kmemleak.log (kernels
#                               with kmemleak) and timing there.
#   9p tag fhout  -> /mnt/out   the user's output folder ($FHANDLE_OUT)
#   virtio-blk serial fhext4 / fhxfs   scratch disks for ext4 / xfs
#   ttyS0  kernel console (our own messages go there too)
#   ttyS1  the command's stdout+stderr, streamed to run.sh's stdout
#
# Whatever happens, we end by resetting the machine: qemu runs with
# -no-reboot, so a reset makes it exit.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

say() { echo "fhandle-vm: $*"; }

# Reset the machine: sysrq first (no userspace involved), then the reboot(2)
# system call through perl (LINUX_REBOOT_CMD_RESTART), then systemctl's
# forced path.  qemu's -no-reboot turns the reset into an exit.
reset_machine() {
	sync
	if [ -w /proc/sysrq-trigger ]; then
		echo b > /proc/sysrq-trigger 2>/dev/null
	fi
	perl -e 'syscall(169, 0xfee1dead, 672274793, 0x01234567)' 2>/dev/null
	reboot -ff 2>/dev/null
	# Nothing worked: exiting PID 1 panics, and panic=-1 resets.
	say "could not reset the machine"
	exit 1
}

mount_fs() {  # type source target [options]
	local opts=${4:+-o $4}
	# shellcheck disable=SC2086
	if ! mount -t "$1" $opts "$2" "$3"; then
		say "mounting $1 $2 on $3 failed"
		return 1
	fi
}

fatal() {
	say "FATAL: $*"
	[ -d /mnt/ctl ] && echo "init: $*" > /mnt/ctl/init-error 2>/dev/null
	reset_machine
}

mount_fs proc proc /proc || fatal "no /proc"
mount_fs sysfs sysfs /sys
# tracefs, for the io_uring tracepoints (tests tell io-wq from inline)
[ -d /sys/kernel/tracing ] &&
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# The kernel may have mounted devtmpfs already (DEVTMPFS_MOUNT).
if ! grep -q '^[^ ]* /dev devtmpfs' /proc/mounts; then
	mount_fs devtmpfs devtmpfs /dev || fatal "no devtmpfs on /dev"
fi
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount_fs devpts devpts /dev/pts mode=620,ptmxmode=666
mount_fs tmpfs tmpfs /dev/shm mode=1777
# The root is read-only: everything that must be writable gets a tmpfs.
# /mnt is covered too, so that our mount points can be made in it.  The
# host's own view of those directories stays reachable under /dev/shm/host,
# so that a caller's directory inside one (a clone in /tmp, say) can be
# put back below.
masked="/tmp /var/tmp /run /root /mnt"
for d in $masked; do
	mkdir -p "/dev/shm/host$d" && mount --bind "$d" "/dev/shm/host$d"
done
for d in /tmp /var/tmp; do mount_fs tmpfs tmpfs "$d" mode=1777; done
for d in /run /root /mnt; do mount_fs tmpfs tmpfs "$d" mode=755; done
mkdir -p /mnt/ctl /mnt/out /mnt/tmpfs /mnt/ext4 /mnt/xfs /run/lock

p9opts=trans=virtio,version=9p2000.L,msize=262144
mount_fs 9p fhctl /mnt/ctl "$p9opts" || fatal "cannot mount the control share"
mount_fs 9p fhout /mnt/out "$p9opts" || fatal "cannot mount the output share"
[ -f /mnt/ctl/cmd ] || fatal "no command in the control share"
read -r t_mounted _ < /proc/uptime

# Scratch filesystems.  A disk is found by the serial run.sh gave it.
disk_by_serial() {
	local s
	for s in /sys/block/*/serial; do
		[ -r "$s" ] || continue
		if [ "$(cat "$s")" = "$1" ]; then
			s=${s%/serial}
			echo "/dev/${s##*/}"
			return 0
		fi
	done
	return 1
}

scratch="/mnt/tmpfs"
mount_fs tmpfs tmpfs /mnt/tmpfs mode=1777 || scratch=""

# scratch_fs TYPE MKFS-ARGS...: format the disk with serial fhTYPE and
# mount it on /mnt/TYPE, adding it to the scratch list
scratch_fs() {
	local type=$1 dev
	shift
	if ! command -v "mkfs.$type" > /dev/null; then
		say "mkfs.$type not installed: no $type scratch"
	elif ! dev=$(disk_by_serial "fh$type"); then
		say "no $type scratch disk"
	elif "mkfs.$type" "$@" "$dev" > /run/mkfs.log 2>&1 &&
	     mount_fs "$type" "$dev" "/mnt/$type"; then
		chmod 1777 "/mnt/$type"
		scratch="$scratch /mnt/$type"
	else
		cat /run/mkfs.log; say "$type scratch not available"
	fi
}

scratch_fs ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0
scratch_fs xfs -q -f
scratch=${scratch# }
read -r t_ready _ < /proc/uptime
say "scratch: $scratch"

# The command's output channel: the second serial port, raw so that
# newlines are not turned into CR LF on the way out.
out=/dev/ttyS1
if [ -c "$out" ] && exec 3<> "$out"; then
	stty raw -echo <&3 2>/dev/null
else
	say "no $out: the command's output goes to the console"
	exec 3>&1
fi

cwd=/
[ -f /mnt/ctl/cwd ] && cwd=$(cat /mnt/ctl/cwd)

# A caller's directory under a tmpfs above: bind the host's copy of its
# top directory there (/tmp/clone for /tmp/clone/test), read-only as the
# rest of the root; then drop the holding binds.
for d in $masked; do
	case $cwd in
	"$d"/*)
		rel=${cwd#"$d"/}
		top=$d/${rel%%/*}
		mkdir -p "$top" &&
			mount --bind "/dev/shm/host$top" "$top" ||
			say "cannot bring back $top from the host"
		;;
	esac
done
for d in $masked; do umount -l "/dev/shm/host$d" 2>/dev/null; done
rm -rf /dev/shm/host

# kmemleak (the debug kernel): debugfs on /sys/kernel/debug.  Suspects
# from the boot (before the command) are scanned for and cleared, so that
# the scan at the end reports what the command leaked.
kmemleak=/sys/kernel/debug/kmemleak
if [ -d /sys/kernel/debug ] && ! [ -e $kmemleak ]; then
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
fi
[ -w $kmemleak ] && { echo scan > $kmemleak; echo clear > $kmemleak; }

# The command runs in a clean environment: only what run.sh passes in
# /mnt/ctl/env (host FHANDLE_* variables) plus our own.
(
	# shellcheck disable=SC1091
	[ -f /mnt/ctl/env ] && . /mnt/ctl/env
	export FHANDLE_VM=1 FHANDLE_OUT=/mnt/out FHANDLE_SCRATCH="$scratch"
	export TMPDIR=/tmp HOME=/root PATH TERM=dumb LANG=C.UTF-8 USER=root \
		LOGNAME=root SHELL=/bin/bash
	if ! cd "$cwd" 2>/dev/null; then
		echo "fhandle-vm: $cwd does not exist in the guest; running in /"
		cd /
	fi
	exec bash /mnt/ctl/cmd
) < /dev/null >&3 2>&3
status=$?
read -r t_done _ < /proc/uptime
exec 3>&-   # closing the tty waits for its output to drain

echo "$status" > /mnt/ctl/status
printf 'mounted %s\nready %s\ndone %s\n' "$t_mounted" "$t_ready" "$t_done" \
	> /mnt/ctl/times
say "command exited with status $status"
# A leak is reported once it is older than 5 s and unreferenced in two
# scans in a row.  The kernel logs "kmemleak: N new suspected memory
# leaks", which run.sh finds in the log; the report goes to
# vm-kmemleak.log in the output folder and to the console.
if [ -w $kmemleak ]; then
	echo scan > $kmemleak
	sleep 6
	echo scan > $kmemleak
	cat $kmemleak > /mnt/ctl/kmemleak.log 2>&1
	cp /mnt/ctl/kmemleak.log /mnt/out/vm-kmemleak.log 2>/dev/null
	if [ -s /mnt/ctl/kmemleak.log ]; then
		say "kmemleak report:"
		head -n 60 /mnt/ctl/kmemleak.log
	else
		say "kmemleak: no leaks"
	fi
fi
dmesg > /mnt/ctl/dmesg.log 2>&1
cp /mnt/ctl/dmesg.log /mnt/out/vm-dmesg.log 2>/dev/null
echo "$status" > /mnt/out/vm-exit-status 2>/dev/null
reset_machine
