#!/usr/bin/env bash
# seccomp filters that kill on membarrier (issue 8, item 9): the runtime
# never calls membarrier under a filter, whether the filter was there at
# start-up or came later; tracing works through the signal sync.  Where a
# filter fails membarrier with an errno, the message names the sync.
. "$(dirname "$0")/lib.sh"
cbuild "$W/seccomp" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/seccomp.c"
for mode in exec late errno; do
	note "$mode"
	env=()
	[ $mode = errno ] && env=(FNTRACE_SYNC=membarrier)
	set +e
	env "${env[@]}" FNTRACE_DEBUG=1 LD_PRELOAD=$LIB LD_AUDIT=$LIB "$W/seccomp" $mode >"$W/out-$mode" 2>"$W/err-$mode"
	rc=$?
	set -e
	cat "$W/out-$mode" "$W/err-$mode"
	expect_eq "$rc" 0 "$mode: exit status (159 is SIGSYS)"
	expect_grep '^OK$' "$W/out-$mode" "$mode"
done
expect_grep 'seccomp.*signal' "$W/err-exec" "exec: the sync chosen is named"
expect_grep 'seccomp.*signal' "$W/err-late" "late: the switch is named"
expect_grep 'membarrier.*Operation not permitted.*signal' "$W/err-errno" "errno: the failed sync is named"
