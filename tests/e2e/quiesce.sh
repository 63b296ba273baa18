#!/usr/bin/env bash
# fnt_disable() and fnt_unregister_ops() return only when no entry callback
# of what they removed runs any more (a slow callback is caught inside).
. "$(dirname "$0")/lib.sh"
cbuild "$W/quiesce" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/quiesce.c"
traced "$W/quiesce" | tee "$W/out"
expect_grep '^OK$' "$W/out" "quiesce"
FNTRACE_SYNC=signal traced "$W/quiesce" | tee "$W/out-signal"
expect_grep '^OK$' "$W/out-signal" "quiesce with the signal sync"
