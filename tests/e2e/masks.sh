#!/usr/bin/env bash
# Every libc path that installs a signal mask (issue 8, item 7): a worker
# runs traced code under each while the main thread toggles.  No toggle is
# refused and nobody is killed by SIGTRAP.
. "$(dirname "$0")/lib.sh"
cbuild "$W/masks" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/masks.c"
for mode in coro setctx sigsuspend pselect ppoll epoll jmpbuf bsd syscall; do
	note "$mode"
	set +e
	timeout -k 5 120 env LD_PRELOAD=$LIB LD_AUDIT=$LIB "$W/masks" $mode 300 >"$W/out-$mode" 2>&1
	rc=$?
	set -e
	cat "$W/out-$mode"
	expect_eq "$rc" 0 "$mode: exit status (133 is SIGTRAP)"
	expect_grep '^OK$' "$W/out-$mode" "$mode"
done
