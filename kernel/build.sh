#!/bin/bash
# Build a bzImage of Debian's linux-source package named in SOURCE_VERSION
# (linux-source-6.12) with the file-handle io_uring opcodes (kernel/patches)
# applied.
#
#   kernel/build.sh              normal kernel (config.fragment)
#   kernel/build.sh --debug      plus config-debug.fragment (KASAN, lockdep,
#                                UBSAN, kmemleak, hung-task/lockup detectors)
#   kernel/build.sh --checkpatch run the tree's checkpatch.pl --strict on
#                                every patch; fails on any error/warning/check
#
# Results are cached under ${FHANDLE_CACHE:-/var/cache/fio-fhandle}/kernel/,
# keyed by the sha256 of the source package version, the patches, the config
# fragments and this script.  Each key gets a fresh tree; at most two keys
# are kept per variant.  Progress goes to stderr; the last line of stdout is
# the absolute path of the bzImage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FHANDLE_CACHE:-/var/cache/fio-fhandle}/kernel
KEEP=2
JOBS=${JOBS:-$(nproc)}

log() { printf 'kernel/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mode=normal
case "${1:-}" in
"") ;;
--debug) mode=debug ;;
--checkpatch) mode=checkpatch ;;
-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (use --debug, --checkpatch or nothing)" ;;
esac

# The patches, in order: kernel/series if present, else the glob.
patches=()
if [[ -f $HERE/series ]]; then
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		[[ -f $HERE/patches/$p ]] || die "series lists missing patch $p"
		patches+=("$HERE/patches/$p")
	done <"$HERE/series"
else
	shopt -s nullglob
	patches=("$HERE"/patches/*.patch)
	shopt -u nullglob
fi

# SOURCE_VERSION's first line is the package version the series is made
# for; the package is linux-source-MAJOR.MINOR of it.
pinned=$(head -n1 "$HERE/SOURCE_VERSION" 2>/dev/null || true)
[[ $pinned =~ ^([0-9]+\.[0-9]+)\. ]] ||
	die "$HERE/SOURCE_VERSION: first line '$pinned' is no linux-source version"
PKG=linux-source-${BASH_REMATCH[1]}
TARBALL=/usr/src/$PKG.tar.xz

bash "$HERE/../test/need-pkgs.sh" "$PKG" build-essential bc bison flex \
	libelf-dev libssl-dev cpio kmod xz-utils patch perl ||
	die "cannot install the packages the build needs"
[[ -f $TARBALL ]] || die "$TARBALL missing although $PKG is installed"
installed=$(dpkg-query -W -f='${Version}' "$PKG")
if [[ -n $pinned && $installed != "$pinned" ]]; then
	log "WARNING: installed $PKG is $installed but the patches are made for $pinned"
	log "WARNING: they may not apply or may behave differently"
fi

mkdir -p "$CACHE"

# Unpack the pristine source into $1 (which must not exist).
unpack() {
	local dest=$1 tmp
	tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX")
	log "unpacking $TARBALL"
	tar -C "$tmp" -xf "$TARBALL"
	mv "$tmp/$PKG" "$dest"
	rmdir "$tmp"
}

if [[ $mode == checkpatch ]]; then
	# checkpatch.pl wants a kernel tree around it; a pristine one per
	# source version is kept for this.
	src=$CACHE/checkpatch-$installed
	exec 9>"$CACHE/checkpatch.lock"
	flock 9
	[[ -f $src/scripts/checkpatch.pl ]] || { rm -rf "$src"; unpack "$src"; }
	((${#patches[@]})) || die "no patches in $HERE/patches"
	fail=0
	for p in "${patches[@]}"; do
		out=$(cd "$src" && perl scripts/checkpatch.pl --strict "$p" 2>&1) || true
		summary=$(grep -E '^total: ' <<<"$out" || true)
		printf '%s: %s\n' "$(basename "$p")" "${summary:-no summary}"
		if ! grep -qE '^total: 0 errors, 0 warnings, 0 checks' <<<"$out"; then
			printf '%s\n' "$out"
			fail=1
		fi
	done
	exit $fail
fi

# Cache key: everything that determines the result.
key=$(
	{
		printf 'pkg %s %s\nmode %s\n' "$PKG" "$installed" "$mode"
		for p in "${patches[@]}"; do
			printf 'patch %s\n' "$(basename "$p")"
			cat "$p"
		done
		printf 'fragment\n'
		cat "$HERE/config.fragment"
		printf 'debug-fragment\n'
		cat "$HERE/config-debug.fragment"
		printf 'script\n'
		cat "$HERE/build.sh"
	} | sha256sum | cut -c1-16
)
entry=$CACHE/$mode-$key
tree=$entry/linux
image=$tree/arch/x86/boot/bzImage

exec 9>"$CACHE/$mode.lock"
flock 9

if [[ -f $entry/done && -f $image ]]; then
	log "cached: $mode kernel $key ($PKG $installed, ${#patches[@]} patches)"
	touch "$entry/done"
	printf '%s\n' "$image"
	exit 0
fi

# Entries without a done marker are failed or interrupted builds.
for d in "$CACHE/$mode"-*/; do
	[[ -d $d && ! -f $d/done ]] || continue
	log "removing unfinished cache entry $(basename "$d")"
	rm -rf "$d"
done

start=$(date +%s)
log "building $mode kernel $key ($PKG $installed, ${#patches[@]} patches, -j$JOBS)"
rm -rf "$entry"
mkdir -p "$entry"
unpack "$tree"

for p in "${patches[@]}"; do
	log "applying $(basename "$p")"
	if ! out=$(patch -d "$tree" -p1 --batch --forward <"$p" 2>&1); then
		printf '%s\n' "$out" >&2
		die "patch $(basename "$p") does not apply to $PKG $installed" \
			"(patches are made for ${pinned:-?}); see the output above"
	fi
done

frags=("$HERE/config.fragment")
[[ $mode == debug ]] && frags+=("$HERE/config-debug.fragment")

log "configuring: tinyconfig + ${frags[*]##*/}"
make -C "$tree" -s ARCH=x86_64 tinyconfig >&2
(cd "$tree" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config \
	"${frags[@]}") >&2
make -C "$tree" -s ARCH=x86_64 olddefconfig >&2

# Every option of the fragments must have ended up as requested.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		got=$(grep -E "^$opt=" "$tree/.config" | cut -d= -f2- || true)
		if [[ $got != "$want" ]]; then
			log "config: $opt wanted '$want' but got '${got:-unset}'"
			bad=1
		fi
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		opt=${BASH_REMATCH[1]}
		if grep -qE "^$opt=" "$tree/.config"; then
			log "config: $opt wanted unset but is set"
			bad=1
		fi
	fi
done < <(cat "${frags[@]}")
((bad == 0)) || die "the merged .config does not satisfy the fragments"
cp "$tree/.config" "$entry/config"

log "building bzImage"
make -C "$tree" -s ARCH=x86_64 -j"$JOBS" bzImage >&2 ||
	die "kernel build failed"
[[ -f $image ]] || die "build finished without $image"
touch "$entry/done"
log "built in $(($(date +%s) - start))s"

# Bound disk use: keep the $KEEP most recently used entries of this variant
# (by the mtime of their done marker).
mapfile -t old < <(ls -1t "$CACHE/$mode"-*/done 2>/dev/null | tail -n +$((KEEP + 1)))
for d in "${old[@]}"; do
	d=${d%/done}
	[[ $d == "$entry" ]] && continue
	log "removing stale cache entry ${d##*/}"
	rm -rf "$d"
done

printf '%s\n' "$image"
