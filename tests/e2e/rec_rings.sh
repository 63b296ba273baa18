#!/usr/bin/env bash
# rec_rings.sh - more threads alive at once than the old fixed ring table
# had rings (1024).  A program with 1500 concurrent threads, each holding
# its ring, recorded losslessly: every event is kept (none lost), no line
# per thread on the program's stderr and no thread waits at its first call
# (the run is bounded by a timeout, not timed).  Before, 476 threads found
# no ring: each printed "no free ring for thread N (1024 rings)", waited
# 200 ms and lost all its events, and fntrace exited 0.  Rings are now
# handed out on demand up to a ceiling of 65536 (FNTRACE_RINGS lowers it);
# past the ceiling one line per process says so and the loss is counted
# exactly.  Both tracers.
#
# It runs in a private mount namespace with its own tmpfs on /dev/shm, so
# no other process's /dev/shm is touched.  Needs root.
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
source "$(dirname "$SELF")/rec_common.bash"

if [ "${FNT_SHM_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || fail "needs root for a private mount namespace (unshare -m)"
	FNT_SHM_NS=1 exec unshare -m --propagation private bash "$SELF"
fi
mount -t tmpfs -o size=512m tmpfs /dev/shm || fail "cannot mount a tmpfs on /dev/shm"
clang -O2 -g -fpatchable-function-entry=5 -o "$W/thr" "$PROGS/rec_threads.c" -lpthread

# run_case THREADS CALLS TRACER [ENV...]: writes "events lost" of the run to $W/counts.
run_case() {
	local t=$1 n=$2 tracer=$3 rc=0
	shift 3
	env "$@" timeout 300 "$FNTRACE" record --tracer "$tracer" --buffer-size 16k \
		-o "$W/t.data" "$W/thr" "$t" "$n" 3 >"$W/out" 2>"$W/err" || rc=$?
	expect_eq "$rc" 3 "$t threads $tracer $*: the program's own exit status"
	expect_grep "^calls thread_fn $t\$" "$W/out" "$t threads: the program finished"
	echo "$(info_field "$W/t.data" events) $(info_field "$W/t.data" 'lost events')" >"$W/counts"
}

for tracer in function function_graph; do
	t=1500 n=20
	# main, each thread_fn and its n leaf calls: 1 event each, 2 in function_graph.
	total=$((1 + t * (1 + n)))
	[ "$tracer" = function ] || total=$((2 * total))
	run_case $t $n $tracer
	read -r events lost <"$W/counts"
	cat "$W/err"
	note "$tracer $t threads: events $events lost $lost of $total"
	expect_eq "$lost" 0 "$tracer $t threads: lost events"
	expect_eq "$events" "$total" "$tracer $t threads: events"
	grep -q 'no free ring' "$W/err" && fail "$tracer $t threads: a thread found no ring"
	"$FNTRACE" report -i "$W/t.data" >"$W/rep" 2>/dev/null || fail "report"
	expect_counts "$W/out" "$W/rep"
	[ -z "$(ls -A /dev/shm)" ] || fail "left in /dev/shm: $(ls /dev/shm)"

	# A ceiling below the threads alive: one line, exact counts.
	t=300 n=20
	total=$((1 + t * (1 + n)))
	[ "$tracer" = function ] || total=$((2 * total))
	run_case $t $n $tracer FNTRACE_RINGS=100
	read -r events lost <"$W/counts"
	cat "$W/err"
	note "$tracer $t threads, 100 rings: events $events lost $lost of $total"
	[ "$lost" -gt 0 ] || fail "$tracer 100 rings: nothing lost"
	expect_eq "$((events + lost))" "$total" "$tracer 100 rings: events + lost"
	expect_eq "$(grep -c 'no free ring' "$W/err")" 1 "$tracer 100 rings: lines about it"
done

# A limit on address space (ulimit -v; valgrind has one too) refuses the
# whole ring table: fewer rings, said once, and a complete trace.  Not in
# the ASan build: AddressSanitizer's shadow memory cannot live under
# ulimit -v at all, whatever fntrace does.
if [ -n "${SAN:-}" ]; then
	echo "rec_rings: ok (ulimit -v case not run under ASan)"
	exit 0
fi
t=50 n=20 rc=0
(ulimit -v 8000000 && exec timeout 300 "$FNTRACE" record --tracer function -o "$W/t.data" \
	"$W/thr" $t $n 3) >"$W/out" 2>"$W/err" || rc=$?
expect_eq "$rc" 3 "ulimit -v: the program's own exit status"
events=$(info_field "$W/t.data" events) lost=$(info_field "$W/t.data" 'lost events')
expect_grep 'address space is limited: room for [0-9]+ threads' "$W/err" "ulimit -v: message"
expect_eq "$lost" 0 "ulimit -v: lost events"
expect_eq "$events" $((1 + t * (1 + n))) "ulimit -v: events"
echo "rec_rings: ok"
