#!/usr/bin/env bash
# nfs-ganesha (FSAL_VFS) and rpcbind, run by the project in a private
# network and mount namespace: loopback only, ports 111/2049/20048 of that
# namespace alone, /run and /var/lib/nfs private tmpfs there, the config,
# log, pid files and NFSv4 recovery directory in STATE.  Nothing system-wide
# is read or written, and an rpcbind already running is not touched.
#
# usage: test/nfs/ganesha.sh start STATE EXPORT [--strace FILE]
#        test/nfs/ganesha.sh restart STATE [--drop-caches] [--strace FILE]
#        test/nfs/ganesha.sh exec STATE COMMAND...
#        test/nfs/ganesha.sh stop STATE
#
# start: make the namespace, start rpcbind and ganesha exporting EXPORT
#   (an absolute directory) over NFSv3 and NFSv4 at 127.0.0.1, and return
#   when the export answers (NULL calls, an MNT over v3, a READDIR over v4).  With
#   --strace, ganesha runs under `strace -f -ttt -T -y -q -o FILE`.
# restart: stop ganesha only (the namespace and rpcbind stay), with
#   --drop-caches sync and drop the page, dentry and inode caches, start it
#   again (a cold server: its own caches are empty).
# exec: run COMMAND inside the namespace (the client reaches the server at
#   127.0.0.1 only from there).
# stop: stop ganesha, rpcbind and the namespace, each by its pid.
#   STATE itself (logs, capture) is the caller's to remove.
set -uo pipefail

die() { echo "ganesha.sh: $*" >&2; exit 1; }
usage() { sed -n '/^# usage/,/^#        test.*stop/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID NAME: SIGTERM, then SIGKILL after 10 s; wait until gone
stop_pid() {
	local pid=$1 name=$2 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		alive "$pid" || return 0
		sleep 0.1
	done
	echo "ganesha.sh: $name ($pid) ignored SIGTERM for 10 s: SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null
	for i in $(seq 50); do
		alive "$pid" || return 0
		sleep 0.1
	done
	die "$name ($pid) does not exit"
}

# nsenter into the namespace, in the current directory.  Background
# servers are started as `nsenter_cmd ... &` (not through a function), so
# that $! is the server's own pid: nsenter execs it.
in_ns() { nsenter -t "$(cat "$state/ns.pid")" -n -m --wd="$PWD" -- "$@"; }

# The export answers: NULL calls to NFSv3, NFSv4 and MOUNTv3, and an MNT
# of the export (build/nfs/nfsload with no phase).  Nothing here reads a
# directory, so a restarted server's caches stay cold.
answers() {
	local export=$1
	in_ns rpcinfo -T tcp 127.0.0.1 nfs 3 >/dev/null 2>&1 &&
		in_ns rpcinfo -T tcp 127.0.0.1 nfs 4 >/dev/null 2>&1 &&
		in_ns rpcinfo -T tcp 127.0.0.1 mountd 3 >/dev/null 2>&1 &&
		in_ns "$top/build/nfs/nfsload" 127.0.0.1 "$export" >/dev/null 2>&1
}

write_config() {
	local export=$1
	cat >"$state/ganesha.conf" <<CONF
# written by test/nfs/ganesha.sh: a private, loopback-only server
NFS_CORE_PARAM {
	Bind_addr = 127.0.0.1;
	Protocols = 3, 4;
	NFS_Port = 2049;
	MNT_Port = 20048;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
}
NFSV4 {
	# a restarted server serves at once, with no grace period
	Graceless = true;
	RecoveryBackend = fs;
	RecoveryRoot = $state/recovery;
}
EXPORT {
	Export_Id = 1;
	Path = $export;
	Pseudo = $export;
	Access_Type = RW;
	Squash = No_Root_Squash;
	Protocols = 3, 4;
	Transports = TCP;
	SecType = sys;
	FSAL { Name = VFS; }
}
CONF
}

# start_ganesha [STRACE_FILE]
start_ganesha() {
	local trace=${1:-} export pid i
	export=$(cat "$state/export")
	rm -f "$state/ganesha.pid"
	if [ -n "$trace" ]; then
		# strace's own pid is waited for at stop: its log is complete
		# only when it has exited
		nsenter -t "$(cat "$state/ns.pid")" -n -m -- strace -f -ttt -T -y -q -o "$trace" \
			ganesha.nfsd -F -f "$state/ganesha.conf" \
			-L "$state/ganesha.log" -p "$state/ganesha.pid" \
			</dev/null >>"$state/ganesha.out" 2>&1 &
		echo $! >"$state/strace.pid"
	else
		nsenter -t "$(cat "$state/ns.pid")" -n -m -- ganesha.nfsd -F -f "$state/ganesha.conf" \
			-L "$state/ganesha.log" -p "$state/ganesha.pid" \
			</dev/null >>"$state/ganesha.out" 2>&1 &
		rm -f "$state/strace.pid"
	fi
	for i in $(seq 300); do
		pid=$(cat "$state/ganesha.pid" 2>/dev/null)
		if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = ganesha.nfsd ] &&
			answers "$export"; then
			echo "$pid" >"$state/ganesha.pid.ours"
			return 0
		fi
		alive "$pid" || [ $i -lt 50 ] || alive "$(cat "$state/strace.pid" 2>/dev/null)" ||
			break
		sleep 0.1
	done
	echo "ganesha.sh: ganesha did not answer at nfs://127.0.0.1$export; its log:" >&2
	tail -n 20 "$state/ganesha.log" "$state/ganesha.out" >&2 2>/dev/null
	return 1
}

stop_ganesha() {
	stop_pid "$(cat "$state/ganesha.pid.ours" 2>/dev/null)" ganesha.nfsd
	# strace exits when its tracee has: wait for its last write
	[ -f "$state/strace.pid" ] &&
		stop_pid "$(cat "$state/strace.pid")" strace
	rm -f "$state/ganesha.pid.ours" "$state/strace.pid"
}

stop_all() {
	[ -d "$state" ] || return 0
	stop_ganesha
	stop_pid "$(cat "$state/rpcbind.pid" 2>/dev/null)" rpcbind
	stop_pid "$(cat "$state/ns.pid" 2>/dev/null)" "namespace holder"
	rm -f "$state/rpcbind.pid" "$state/ns.pid"
}

cmd=${1:-}
state=${2:-}
[ -n "$cmd" ] && [ -n "$state" ] || usage
[ "$cmd" = start ] && { mkdir -p "$state" || die "cannot make $state"; }
[ -d "$state" ] || die "$state: no such directory"
state=$(cd "$state" && pwd)
shift 2

case $cmd in
start)
	export=${1:-}
	shift
	trace=
	while [ $# -gt 0 ]; do
		case $1 in
		--strace) trace=${2:?--strace needs a file}; shift ;;
		*) usage ;;
		esac
		shift
	done
	case $export in /*) ;; *) die "EXPORT must be an absolute path" ;; esac
	[ -d "$export" ] || die "$export: not a directory"
	[ "$(id -u)" = 0 ] || die "needs root (namespaces, and ganesha's handle calls need CAP_DAC_READ_SEARCH)"
	[ -f "$state/ns.pid" ] && alive "$(cat "$state/ns.pid")" &&
		die "$state: a server runs there already"
	make -s -C "$top" nfsload >&2 || die "cannot build build/nfs/nfsload"
	bash "$top/test/need-pkgs.sh" nfs-ganesha nfs-ganesha-vfs rpcbind \
		libnfs-utils iproute2 util-linux ${trace:+strace} ||
		die "cannot install the server's packages"
	echo "$export" >"$state/export"
	mkdir -p "$state/recovery"
	write_config "$export"
	unshare -n -m --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
	echo $! >"$state/ns.pid"
	# unshare execs sleep once the namespaces exist
	for i in $(seq 100); do
		[ "$(readlink /proc/"$(cat "$state/ns.pid")"/ns/net 2>/dev/null)" != \
			"$(readlink /proc/self/ns/net)" ] &&
			[ "$(cat /proc/"$(cat "$state/ns.pid")"/comm 2>/dev/null)" = sleep ] && break
		sleep 0.05
	done
	# glibc's AI_ADDRCONFIG wants an IPv4 address other than 127.0.0.1
	# before ganesha's getaddrinfo() accepts Bind_addr: 127.0.0.2 is on lo
	in_ns sh -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo &&
		mount -t tmpfs -o mode=0755 fhandle-nfs /run &&
		{ [ ! -d /var/lib/nfs ] || mount -t tmpfs fhandle-nfs /var/lib/nfs; }' ||
		{ stop_all; die "cannot set up the namespace"; }
	nsenter -t "$(cat "$state/ns.pid")" -n -m -- rpcbind -f </dev/null >>"$state/rpcbind.out" 2>&1 &
	echo $! >"$state/rpcbind.pid"
	for i in $(seq 100); do
		in_ns rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break
		sleep 0.1
	done
	in_ns rpcinfo -p 127.0.0.1 >/dev/null 2>&1 ||
		{ stop_all; die "rpcbind does not answer"; }
	start_ganesha "$trace" || { stop_all; exit 1; }
	# NFSv4 too, once (a READDIR of the export's root; restarts skip it)
	in_ns nfs-ls "nfs://127.0.0.1$export?version=4" >/dev/null ||
		{ stop_all; die "the export does not answer over NFSv4"; }
	;;
restart)
	drop=0 trace=
	while [ $# -gt 0 ]; do
		case $1 in
		--drop-caches) drop=1 ;;
		--strace) trace=${2:?--strace needs a file}; shift ;;
		*) usage ;;
		esac
		shift
	done
	alive "$(cat "$state/ns.pid" 2>/dev/null)" || die "$state: no server runs there"
	stop_ganesha
	if [ "$drop" = 1 ]; then
		sync && echo 3 >/proc/sys/vm/drop_caches || die "cannot drop the caches"
	fi
	start_ganesha "$trace" || { stop_all; exit 1; }
	;;
exec)
	[ $# -gt 0 ] || usage
	alive "$(cat "$state/ns.pid" 2>/dev/null)" || die "$state: no server runs there"
	in_ns "$@"
	;;
stop)
	stop_all
	;;
*)
	usage
	;;
esac
