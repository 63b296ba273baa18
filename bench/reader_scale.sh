#!/usr/bin/env bash
# bench/reader_scale.sh - the readers at scale (issue 9 item 10): a trace
# of T short-lived threads (bench/threads.c: started and joined in batches
# of 64, 3 calls of work() -> leaf() each), recorded with fntrace record;
# then info, report and replay on it, output to /dev/null, each the median
# of R runs, in seconds and ns per event.  OLD=path/to/fntrace adds the
# same commands with another build (the one before the fix, say).
#
#   bench/reader_scale.sh [T [R]]      (defaults 100000 and 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/reader_scale
T=${1:-100000} R=${2:-5}
mkdir -p "$W"
cd "$W"
clang -O2 -g -fpatchable-function-entry=5 -o threads "$ROOT/bench/threads.c" -lpthread
# 16K rings: a thread writes 14 events; the default 1M would only cost
# shared memory.
"$B/fntrace" record --buffer-size 16K -o threads.data ./threads "$T" >/dev/null
events=$("$B/fntrace" info -i threads.data | sed -n 's/^# events *: //p')
tids=$("$B/fntrace" info -i threads.data | sed -n 's/^# threads *: \([0-9]*\).*/\1/p')
size=$(stat -c %s threads.data)
echo "trace: $T threads (the kernel reused their ids: $tids distinct), $events events, $size bytes"

# median SECONDS of R runs of a command (wall time, output to /dev/null).
median() {
	local i s v=()
	for ((i = 0; i < R; i++)); do
		s=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>/dev/null; } 2>&1)
		v+=("$s")
	done
	printf '%s\n' "${v[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

echo "| command | seconds (median of $R) | ns per event |"
echo "|---|---|---|"
for bin in "$B/fntrace" ${OLD:+"$OLD"}; do
	for cmd in info report replay; do
		s=$(median "$bin" $cmd -i threads.data)
		label=$cmd; [ "$bin" != "$B/fntrace" ] && label="$cmd (OLD: $bin)"
		awk -v s="$s" -v e="$events" -v l="$label" \
			'BEGIN { printf "| `fntrace %s -i threads.data > /dev/null` | %.2f | %.1f |\n", l, s, s * 1e9 / e }'
	done
done
