#!/usr/bin/env bash
# Install the Debian packages named that are not installed yet.  The one
# place the project calls apt-get install from, so that every entry point
# (make, make run, make test, the VM runner) sets itself up on a fresh
# Debian 12 machine.
#
# Usage: test/need-pkgs.sh PACKAGE...
set -euo pipefail

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "need-pkgs: missing ${missing[*]}; install them as root" >&2
	exit 1
fi
echo "need-pkgs: installing ${missing[*]}" >&2
# apt-get's package lists may be absent on a fresh machine
apt-get update -qq >&2 || { echo "need-pkgs: apt-get update failed" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null ||
	{ echo "need-pkgs: apt-get install ${missing[*]} failed" >&2; exit 1; }
