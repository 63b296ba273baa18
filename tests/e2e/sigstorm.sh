#!/usr/bin/env bash
# A signal storm whose handlers siglongjmp, aimed at threads inside our
# SIGTRAP handler while the main thread toggles (issue 8, item 8): the
# toggling must finish (no reference leaked by a jump out of the trap
# handler) and patching must stay on.  The trap handler holds its
# reference for 200 us (FNTRACE_TEST_TRAP_HOLD_NS) so that the storm
# lands inside it.
. "$(dirname "$0")/lib.sh"
cbuild "$W/sigstorm" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/sigstorm.c"
for sync in membarrier signal; do
	note "sync $sync, 200 rounds"
	set +e
	FNTRACE_SYNC=$sync FNTRACE_TEST_TRAP_HOLD_NS=200000 timeout -k 5 60 \
		env LD_PRELOAD=$LIB LD_AUDIT=$LIB "$W/sigstorm" 200 >"$W/out-$sync" 2>&1
	rc=$?
	set -e
	cat "$W/out-$sync"
	[ $rc -ne 124 ] || fail "$sync: hung (fnt_enable/fnt_disable never returned)"
	expect_eq "$rc" 0 "$sync: exit status"
	expect_grep '^OK$' "$W/out-$sync" "$sync"
done
