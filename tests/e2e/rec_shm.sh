#!/usr/bin/env bash
# rec_shm.sh - a /dev/shm too small for every ring (8 MB with 8 threads,
# Docker's 64 MB with 100 threads of 1 MB rings): the program runs to its
# own exit status, the threads that found no memory for a ring lose their
# events, the loss is counted exactly (events + lost == calls made) and
# both the runtime and the fntrace process say why.  Before, the first
# store to a ring page tmpfs could not supply killed the program with
# SIGBUS and no message.  Both tracers, lossless and drop, and the
# reservation fallback of kernels without MADV_POPULATE_WRITE.
#
# It runs in a private mount namespace with its own small tmpfs on
# /dev/shm, so no other process's /dev/shm is touched.  That needs root:
# without it the test fails (CI runs as root), it never passes unchecked.
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
source "$(dirname "$SELF")/rec_common.bash"

if [ "${FNT_SHM_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || fail "needs root for a private mount namespace (unshare -m)"
	FNT_SHM_NS=1 exec unshare -m --propagation private bash "$SELF"
fi
mount -t tmpfs -o size=8m tmpfs /dev/shm || fail "cannot mount a tmpfs on /dev/shm"
expect_eq "$(df -k --output=size /dev/shm | tail -1 | tr -d ' ')" 8192 "private /dev/shm size"

clang -O2 -g -fpatchable-function-entry=5 -o "$W/thr" "$PROGS/rec_threads.c" -lpthread

# run_case SIZE THREADS CALLS TRACER MODE [ENV...]: a run that must lose
# events for want of memory, and only count them.
run_case() {
	local size=$1 t=$2 n=$3 tracer=$4 mode=$5 tag="$1 $2x$3 $4 $5${6:+ $6}" rc=0
	local data=$W/shm.data total events lost
	shift 5
	mount -o remount,size="$size" /dev/shm
	[ -z "$(ls -A /dev/shm)" ] || fail "$tag: /dev/shm not empty: $(ls /dev/shm)"
	note "$tag"
	env "$@" "$FNTRACE" record --tracer "$tracer" --mode "$mode" -o "$data" "$W/thr" "$t" "$n" 3 \
		>"$W/out" 2>"$W/err" || rc=$?
	cat "$W/err"
	expect_eq "$rc" 3 "$tag: the program's own exit status"
	expect_grep "^calls thread_fn $t\$" "$W/out" "$tag: the program finished"
	expect_grep '^fntrace: no room in /dev/shm for a ring of 1024 KB' "$W/err" \
		"$tag: the runtime says why"
	expect_grep "^fntrace: /dev/shm \\($((${size%m} * 1024)) KB\\) had no room for the rings of [0-9]+ threads" \
		"$W/err" "$tag: fntrace sums it up"
	events=$(info_field "$data" events)
	lost=$(info_field "$data" 'lost events')
	# main, each thread_fn and its n leaf calls: 1 event each, 2 in function_graph.
	total=$((1 + t * (1 + n)))
	[ "$tracer" = function ] || total=$((2 * total))
	note "$tag: events $events lost $lost of $total"
	[ "$lost" -gt 0 ] || fail "$tag: nothing lost"
	expect_eq "$((events + lost))" "$total" "$tag: events + lost"
	[ -z "$(ls -A /dev/shm)" ] || fail "$tag: left in /dev/shm: $(ls /dev/shm)"
}

for tracer in function function_graph; do
	for mode in lossless drop; do
		run_case 8m 8 200000 $tracer $mode
		run_case 64m 100 150000 $tracer $mode
	done
done
# Kernels before 5.14: fallocate on the reopened file.
run_case 8m 8 200000 function_graph lossless FNTRACE_TEST_RESERVE=fallocate

# Not even room for the header and the ring table: refused before the
# program starts, with the sizes.
mount -o remount,size=100k /dev/shm
rc=0
"$FNTRACE" record -o "$W/none.data" "$W/thr" 2 10 3 >"$W/out" 2>"$W/err" || rc=$?
expect_eq "$rc" 1 "tiny /dev/shm: fntrace's status"
expect_grep '^fntrace: /dev/shm has [0-9]+ KB free, the recording buffers need [0-9]+ KB' "$W/err" \
	"tiny /dev/shm: message"
[ -s "$W/out" ] && fail "tiny /dev/shm: the program ran"
echo "rec_shm: ok"
