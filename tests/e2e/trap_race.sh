#!/usr/bin/env bash
# Trap races (issue 3, seed 003): the trap handler is slowed down by a test
# hook, so threads trap while the patcher finishes the batch and starts the
# next ones.  No crash, correct results, callbacks only for enabled sites,
# and traps really happened.
. "$(dirname "$0")/lib.sh"
cbuild "$W/toggle" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/toggle.c"
for delay in 20000 300000; do
	note "trap handler delayed by ${delay} ns, 500 rounds, 3 workers"
	FNTRACE_TEST_TRAP_DELAY_NS=$delay traced "$W/toggle" 500 3 needtraps | tee "$W/out"
	expect_grep '^OK$' "$W/out" "delay $delay"
	traps=$(sed -n 's/.*traps=\([0-9]*\).*/\1/p' "$W/out")
	[ "$traps" -gt 0 ] || fail "no trap was taken: the race was not exercised"
done
