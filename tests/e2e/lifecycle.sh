#!/usr/bin/env bash
# Lifecycle (issue 3): fork during patching; threads created and exiting
# continuously during patching.
. "$(dirname "$0")/lib.sh"
cbuild "$W/lifecycle" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/lifecycle.c"
note "fork during patching, 300 forks"
traced "$W/lifecycle" fork 300 | tee "$W/out-fork"
expect_grep '^OK$' "$W/out-fork" "fork"
note "thread churn during patching, 3000 rounds"
traced "$W/lifecycle" threads 3000 | tee "$W/out-threads"
expect_grep '^OK$' "$W/out-threads" "threads"
note "signal handlers on an alternate stack inside hooked frames"
traced "$W/lifecycle" altstack 0 | tee "$W/out-alt"
expect_grep '^OK$' "$W/out-alt" "altstack"
