#!/usr/bin/env bash
# Fetch and configure the source of the very fio that will load the engine.
#
# An external engine reads fio's structs, whose layout depends on fio's
# version and build configuration, so the headers must come from the Debian
# source package whose version equals the installed fio binary package, and
# config-host.h must be generated the way Debian's build generates it.
# Debian's source packages are fetched with a private apt configuration, so
# the system's package sources are never changed.
#
# Usage: engines/fio-source.sh DESTDIR
set -euo pipefail

dest=${1:?usage: fio-source.sh DESTDIR}
cache=${FHANDLE_CACHE:-/var/cache/fio-fhandle}/fio-src

die() { echo "fio-source: $*" >&2; exit 1; }
trap 'echo "fio-source: failed at line $LINENO" >&2' ERR

# The configure probes that change struct layouts in the headers the engine
# includes (CONFIG_LIBAIO, CONFIG_LIBNUMA) need the same -dev packages that
# Debian's build has.
"$(dirname "$0")/../test/need-pkgs.sh" fio dpkg-dev libaio-dev libnuma-dev \
	zlib1g-dev

version=$(dpkg-query -W -f='${Version}' fio)
stamp="$dest/.fhandle-fio-package"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] &&
   [ -f "$dest/config-host.h" ]; then
	# up to date: newer than what asked (make's package stamp)
	touch "$dest/config-host.h"
	exit 0
fi

fetch_source() {
	local work=$1 aptdir=$1/apt
	mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial"
	# deb-src lines for the suites the system already uses
	local f files=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		 /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || die "no apt sources in /etc/apt"
	sed -n 's/^Suites:\s*//p; s/^deb\s\+\(\[[^]]*\]\s\+\)\?\S\+\s\+\(\S\+\).*/\2/p' \
		"${files[@]}" | tr ' ' '\n' | grep -E '^(bookworm|trixie|bullseye|sid|stable|oldstable|testing|unstable)' |
		sort -u >"$work/suites"
	: >"$aptdir/sources.list"
	while read -r suite; do
		case $suite in
		*-security) uri=http://deb.debian.org/debian-security ;;
		*) uri=http://deb.debian.org/debian ;;
		esac
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
			>>"$aptdir/sources.list"
	done <"$work/suites"
	[ -s "$aptdir/sources.list" ] || die "no Debian suites in the apt sources"
	local opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list"
		    -o "Dir::Etc::SourceParts=/nonexistent"
		    -o "Dir::State::Lists=$aptdir/lists"
		    -o "Dir::Cache::Archives=$aptdir/archives"
		    -o "APT::Sandbox::User=root")
	apt-get "${opts[@]}" update -qq >&2 ||
		die "apt-get update of the deb-src lists failed"
	(cd "$work" && apt-get "${opts[@]}" source --download-only -qq \
		"fio=$version" >&2) ||
		die "apt-get source fio=$version failed: the archive no longer has the source of the installed fio"
}

mkdir -p "$cache"
dsc="$cache/fio_${version#*:}.dsc"
if [ ! -f "$dsc" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	fetch_source "$tmp"
	cp "$tmp"/fio_* "$cache/"
fi

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
dpkg-source --no-check -x "$dsc" "$dest" >&2 || die "dpkg-source -x failed"

# Debian's rules run: ./configure --disable-native --prefix=/usr
# --enable-gfio --enable-libnbd.  gfio and libnbd only add programs and an
# engine; neither changes a header the engine includes.
(cd "$dest" && ./configure --disable-native --prefix=/usr >configure.out 2>&1) ||
	die "fio's configure failed; see $dest/configure.out"

src_version=$(cd "$dest" && sed -n 's/^DEF_VER=//p' FIO-VERSION-GEN)
bin_version=$(fio --version)
[ "$src_version" = "$bin_version" ] ||
	die "source says $src_version but the installed fio says $bin_version"
printf '#define FHANDLE_FIO_VERSION "%s"\n' "$src_version" \
	>"$dest/fhandle-fio-version.h"
echo "$version" >"$stamp"
echo "fio-source: $dest holds fio $version, configured" >&2
