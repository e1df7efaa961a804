#!/bin/bash
# Check the kernel tests' own logic on a kernel WITHOUT the opcodes: build
# emul.c (an LD_PRELOAD emulation of opcodes 63/64 through the syscalls)
# and run test/kernel/run.sh under it.  Every test should pass except
# eperm's personality check (the emulation cannot take on a personality's
# credentials).  Left out unless named in KTESTS: special, unbound and
# cancel (the emulation runs a blocking FIFO open inside io_uring_submit,
# which then never returns), frozen (likewise an open on a frozen
# filesystem), and lease and nowait, which check that the submitter does
# not wait, as the emulation does.  This says nothing about any kernel's
# io_uring.
#
# usage: test/kernel/selfcheck/selfcheck.sh [DIR...]   (as run.sh)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
OUT=$REPO/build/test/kernel-selfcheck
# the VM's root is read-only: build the emulation under $TMPDIR there
if ! mkdir -p "$OUT" 2>/dev/null || [[ ! -w $OUT ]]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/kt-selfcheck.XXXXXX")
fi
cc -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o "$OUT/emul.so" \
	"$HERE/emul.c" -ldl -luring
if [[ -z ${KTESTS:-} ]]; then
	KTESTS=$(cd "$REPO/build/test/kernel" && ls | grep -vxE 'special|unbound|cancel|frozen|lease|nowait' | xargs)
	export KTESTS
fi
# tests do not look at how a request ran (tracefs): it runs inline here
export KT_SELFCHECK=1
LD_PRELOAD=$OUT/emul.so exec bash "$REPO/test/kernel/run.sh" "$@"
