#!/usr/bin/env bash
# rec_diskfull.sh - a trace file on a full file system: the failure is said
# once on stderr when it happens (before the program ends), the recording
# goes on, the partial file stays readable and its END record counts the
# events that could not be written, so that 'fntrace info' shows them lost
# (it once said "lost events: 0" when most were dropped).  fntrace's status
# is 1 when the program's was 0.  Needs root: a 1 MB tmpfs is mounted in a
# private mount namespace (the test re-runs itself under unshare).
[ "$(id -u)" -eq 0 ] || { echo "FAIL: rec_diskfull needs root (mount in a private namespace)" >&2; exit 1; }
if [ -z "${FNT_DISKFULL_NS:-}" ]; then
	FNT_DISKFULL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

mkdir -p "$W/small"
mount -t tmpfs -o size=1m tmpfs "$W/small" || fail "cannot mount a tmpfs"
trap 'umount "$W/small" 2>/dev/null || true' EXIT
build_rec calls clang -O0

rc=0
"$FNTRACE" record -o "$W/small/t.data" "$W/calls" count 300000 >"$W/both" 2>&1 || rc=$?
cat "$W/both" | grep -v '^calls' || true
expect_eq "$rc" 1 "fntrace's status after a failed write"
expect_eq "$(grep -c "writing '.*t.data' failed: No space left on device" "$W/both")" 1 \
	"lines saying the write failed"
# The program prints its counts when it ends: the failure was said before.
first_calls=$(grep -n '^calls' "$W/both" | head -1 | cut -d: -f1)
said=$(grep -n 'failed: No space left' "$W/both" | cut -d: -f1)
[ -n "$first_calls" ] || fail "the program printed nothing"
[ "$said" -lt "$first_calls" ] || fail "the write failure was said only after the program ended"

"$FNTRACE" info -i "$W/small/t.data" >"$W/info" 2>"$W/info.err" ||
	{ cat "$W/info.err" >&2; fail "info on the partial file"; }
cat "$W/info"
lost=$(info_field "$W/small/t.data" "lost events")
events=$(info_field "$W/small/t.data" "events")
total=$(awk '{s += $3} END {print s * 2}' < <(grep '^calls' "$W/both"))
note "events $events, lost $lost, calls*2 $total"
[ "$lost" -gt 0 ] || fail "info: no lost events after a full disk"
expect_grep "^# not written  : [1-9]" "$W/info" "info: unwritten events"
# Every call is an entry and an exit: what is in the file and what is
# counted lost make up the whole (main and the report's calls included).
[ $((events + lost)) -ge "$total" ] || fail "events $events + lost $lost < $total"
[ $((events + lost)) -le $((total + 100)) ] || fail "events $events + lost $lost > $total + 100"
"$FNTRACE" replay -i "$W/small/t.data" >/dev/null 2>"$W/replay.err" ||
	{ cat "$W/replay.err" >&2; fail "replay on the partial file"; }
echo "rec_diskfull: ok"
