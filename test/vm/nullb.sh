#!/bin/bash
# A slow, memory-backed block device with a filesystem on it, inside the
# project's VM (or any kernel with null_blk and configfs built in):
#
#   nullb.sh up NAME FSTYPE COMPLETION_NS QUEUE_DEPTH SIZE_MB MOUNTPOINT
#   nullb.sh down NAME [MOUNTPOINT]
#
# up: creates the null_blk device NAME through configfs, memory-backed
# (what is written is read back), completing every request after
# COMPLETION_NS nanoseconds of a timer (irqmode=2), with at most
# QUEUE_DEPTH requests in flight (hw_queue_depth: deep, e.g. 1023, like
# NVMe; shallow, e.g. 1 or 32, like a disk), SIZE_MB MiB, 4 KiB blocks;
# makes /dev/NAME; then formats it with FSTYPE (ext4 or xfs; none leaves
# the device alone) and mounts it on MOUNTPOINT (created if missing;
# ignored with none).  mkfs runs before the completion time is set (the
# device is switched off and on again; it keeps its data), so that a slow
# device is set up quickly.  Prints what it made.
#
# down: unmounts MOUNTPOINT if given and mounted, powers the device off and
# removes it and /dev/NAME.  Removing a device that does not exist is not
# an error.
#
# Exit status 0 on success, 1 on failure (with the reason; whatever up had
# made is removed again), 2 on bad usage.  See test/vm/README.md.
set -uo pipefail

CFG=/sys/kernel/config
NULLB=$CFG/nullb

say() { printf 'nullb.sh: %s\n' "$*" >&2; }
usage() {
	say "usage: nullb.sh up NAME FSTYPE COMPLETION_NS QUEUE_DEPTH SIZE_MB MOUNTPOINT"
	say "       nullb.sh down NAME [MOUNTPOINT]"
	say "error: $*"
	exit 2
}
whole() { [[ $1 =~ ^[0-9]+$ ]] && (( 10#$1 >= $2 )); }

# the configfs root with null_blk's folder in it
need_nullb() {
	if ! grep -qs " $CFG configfs " /proc/mounts; then
		mount -t configfs none "$CFG" 2>/dev/null || {
			say "cannot mount configfs on $CFG (CONFIG_CONFIGFS_FS)"
			return 1
		}
	fi
	[[ -d $NULLB ]] || {
		say "no $NULLB: this kernel has no null_blk (CONFIG_BLK_DEV_NULL_BLK)"
		return 1
	}
}

down() {	# NAME [MOUNTPOINT]
	local name=$1 mp=${2:-} rc=0
	if [[ -n $mp ]] && mountpoint -q "$mp"; then
		umount "$mp" || { say "cannot unmount $mp"; rc=1; }
	fi
	if [[ -d $NULLB/$name ]]; then
		echo 0 > "$NULLB/$name/power" 2>/dev/null
		rmdir "$NULLB/$name" || { say "cannot remove $NULLB/$name"; rc=1; }
	fi
	[[ -b /dev/$name ]] && rm -f "/dev/$name"
	return $rc
}

set_attr() {	# NAME ATTR VALUE
	echo "$3" > "$NULLB/$1/$2" 2>/dev/null || {
		say "cannot set $2=$3 on $NULLB/$1"
		return 1
	}
}

# power NAME: switch the device on and make its node.  The gendisk is
# named after the configfs folder; the guest's devtmpfs may not make the
# node, so make it (without it, a program would write a regular file named
# /dev/NAME).
power_on() {
	local name=$1 dev=/dev/$1 i
	set_attr "$name" power 1 || return 1
	for ((i = 0; i < 50; i++)); do
		[[ -r /sys/block/$name/dev ]] && break
		sleep 0.1
	done
	[[ -r /sys/block/$name/dev ]] || { say "no /sys/block/$name after power=1"; return 1; }
	rm -f "$dev"
	mknod "$dev" b $(tr : ' ' < "/sys/block/$name/dev") ||
		{ say "cannot make $dev"; return 1; }
}

up() {	# NAME FSTYPE COMPLETION_NS QUEUE_DEPTH SIZE_MB MOUNTPOINT
	local name=$1 fstype=$2 ns=$3 qd=$4 mb=$5 mp=$6 dev=/dev/$1 mkfs_ns
	need_nullb || return 1
	[[ ! -e $NULLB/$name ]] || { say "$name exists already (nullb.sh down $name)"; return 1; }
	mkdir "$NULLB/$name" || { say "cannot create $NULLB/$name"; return 1; }
	# The filesystem is made at full speed (mkfs writes much, one request
	# after another), then the device is switched off, given its
	# completion time and switched on again: a memory-backed device keeps
	# its data meanwhile.
	mkfs_ns=$ns
	[[ $fstype != none ]] && mkfs_ns=0
	# memory-backed, timer completions, one hardware queue of depth qd,
	# blk-mq, 4 KiB logical blocks
	set_attr "$name" memory_backed 1 &&
		set_attr "$name" irqmode 2 &&
		set_attr "$name" completion_nsec "$mkfs_ns" &&
		set_attr "$name" submit_queues 1 &&
		set_attr "$name" hw_queue_depth "$qd" &&
		set_attr "$name" blocksize 4096 &&
		set_attr "$name" size "$mb" &&
		power_on "$name" || { down "$name"; return 1; }
	if [[ $fstype != none ]]; then
		case $fstype in
		ext4) mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev" ;;
		xfs) mkfs.xfs -q -f "$dev" ;;
		esac > /run/nullb-mkfs.log 2>&1 ||
			{ cat /run/nullb-mkfs.log >&2; say "mkfs.$fstype $dev failed"; down "$name"; return 1; }
		set_attr "$name" power 0 &&
			set_attr "$name" completion_nsec "$ns" &&
			power_on "$name" || { down "$name"; return 1; }
		mkdir -p "$mp" && mount -t "$fstype" "$dev" "$mp" ||
			{ say "cannot mount $dev on $mp"; down "$name" "$mp"; return 1; }
	fi
	printf 'nullb.sh: %s: %s, %s, completion_nsec=%s, hw_queue_depth=%s, %s MiB%s\n' \
		"$name" "$dev" "$fstype" "$ns" "$qd" "$mb" \
		"$([[ $fstype != none ]] && echo ", mounted on $mp")"
}

case ${1:-} in
up)
	(($# == 7)) || usage "up takes 6 arguments, not $(($# - 1))"
	name=$2 fstype=$3 ns=$4 qd=$5 mb=$6 mp=$7
	[[ $name =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,30}$ ]] || usage "bad NAME '$name'"
	case $fstype in
	ext4|xfs|none) ;;
	*) usage "FSTYPE must be ext4, xfs or none, not '$fstype'" ;;
	esac
	whole "$ns" 0 || usage "COMPLETION_NS must be a whole number, not '$ns'"
	whole "$qd" 1 || usage "QUEUE_DEPTH must be a whole number >= 1, not '$qd'"
	whole "$mb" 1 || usage "SIZE_MB must be a whole number >= 1, not '$mb'"
	[[ $fstype == xfs ]] && ! whole "$mb" 300 &&
		usage "xfs needs SIZE_MB >= 300 (mkfs.xfs refuses smaller filesystems)"
	[[ $fstype == none || $mp == /* ]] || usage "MOUNTPOINT must be an absolute path, not '$mp'"
	((EUID == 0)) || usage "must run as root"
	[[ $fstype == none ]] || command -v "mkfs.$fstype" > /dev/null ||
		{ say "mkfs.$fstype is not installed"; exit 1; }
	up "$name" "$fstype" "$((10#$ns))" "$((10#$qd))" "$((10#$mb))" "$mp" || exit 1
	;;
down)
	(($# == 2 || $# == 3)) || usage "down takes NAME and maybe MOUNTPOINT"
	[[ $2 =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,30}$ ]] || usage "bad NAME '$2'"
	((EUID == 0)) || usage "must run as root"
	need_nullb || exit 1
	down "$2" "${3:-}" || exit 1
	;;
-h|--help)
	sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	;;
*) usage "the first argument is up or down" ;;
esac
