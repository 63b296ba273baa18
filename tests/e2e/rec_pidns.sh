#!/usr/bin/env bash
# rec_pidns.sh - two recordings in two PID namespaces that share /dev/shm
# (containers run with --ipc=host).  The second one's start-up removes
# regions of dead fntrace processes; the first one's pid means nothing in
# the second's namespace (kill(pid, 0) gives ESRCH there), and it used to
# be taken for dead: its region was unlinked while it ran, and the program
# it exec'd next found no region and ran untraced.  Liveness is now the
# creator's flock() on the region, seen from every namespace.  A region
# left by a SIGKILLed fntrace is still removed, and another user's never.
#
# It runs in a private mount namespace with its own tmpfs on /dev/shm (the
# machine's is never touched) and private PID namespaces.  Needs root.
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
source "$(dirname "$SELF")/rec_common.bash"

if [ "${FNT_SHM_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || fail "needs root for private mount and pid namespaces (unshare)"
	FNT_SHM_NS=1 exec unshare -m --propagation private bash "$SELF"
fi
mount -t tmpfs -o size=64m tmpfs /dev/shm || fail "cannot mount a tmpfs on /dev/shm"
build_rec calls clang -O1

# Container A: fntrace is not pid 1 there (its pid 1 is a shell that ran a few processes first), so the
# pid in its region's name is free in container B, where fntrace is pid 1.
unshare -p -f --mount-proc bash -c '
	for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done
	"$0" record -o "$1/a.data" sh -c "sleep 3; exec \"$1/calls\" count 500"; rc=$?; exit $rc' \
	"$FNTRACE" "$W" >"$W/a.out" 2>"$W/a.err" &
apid=$!
for _ in $(seq 100); do ls /dev/shm | grep -q '^fntrace-' && break; sleep 0.05; done
region=$(ls /dev/shm | grep '^fntrace-' || true)
[ -n "$region" ] || fail "container A made no region"
note "A's region: $region"
apid_in_ns=${region#fntrace-}; apid_in_ns=${apid_in_ns%%-*}
[ "$apid_in_ns" -gt 1 ] || fail "A's fntrace is pid $apid_in_ns in its namespace: the test needs it > 1"

# A region of a dead fntrace (no lock held), ours: removed.  The same,
# another user's: kept.
touch /dev/shm/fntrace-999999-dead
touch /dev/shm/fntrace-999998-other
chown 12345 /dev/shm/fntrace-999998-other

# Container B starts while A's program still sleeps.
unshare -p -f --mount-proc "$FNTRACE" record -o "$W/b.data" "$W/calls" count 10 \
	>"$W/b.out" 2>"$W/b.err" || { cat "$W/b.err"; fail "container B's recording"; }
[ -e "/dev/shm/$region" ] || fail "B's start-up removed A's live region"
[ -e /dev/shm/fntrace-999999-dead ] && fail "B did not remove a dead fntrace's region"
[ -e /dev/shm/fntrace-999998-other ] || fail "B removed another user's file"
rm -f /dev/shm/fntrace-999998-other

wait $apid || { cat "$W/a.err"; fail "container A's recording"; }
cat "$W/a.err"
grep -q 'cannot attach' "$W/a.err" && fail "A's exec'd program could not attach its region"
"$FNTRACE" report -i "$W/a.data" >"$W/a.rep" 2>"$W/a.rerr" || { cat "$W/a.rerr"; fail "report of A"; }
expect_counts "$W/a.out" "$W/a.rep"
expect_eq "$(calls_of "$W/a.rep" leaf)" 1000 "A's exec'd program: calls of leaf"
"$FNTRACE" report -i "$W/b.data" >"$W/b.rep" 2>/dev/null || fail "report of B"
expect_counts "$W/b.out" "$W/b.rep"
[ -z "$(ls -A /dev/shm)" ] || fail "left in /dev/shm: $(ls /dev/shm)"
echo "rec_pidns: ok"
