#!/usr/bin/env bash
# record_bench.sh - the recorder's costs, measured (not a test):
#   - ns per traced call (entry+exit for function_graph, entry for function),
#     1 and 2 threads, lossless (default) and overwrite (no drain) modes:
#     the program's own time per call minus the untraced build's;
#   - replay and report time against uftrace's on the same workload
#     (uftrace records a -pg build of the same program).
# Each figure is the best of $RUNS runs, in thread CPU time per call (wall
# time is inflated by anything else running on the machine).  Usage: O=build bash bench/record_bench.sh
set -euo pipefail
O=${O:-build}
RUNS=${RUNS:-5}
ITERS=${ITERS:-3000000}
here=$(cd "$(dirname "$0")" && pwd)
W=$O/bench
mkdir -p "$W"
FNT=$O/fntrace
clang -O2 -fpatchable-function-entry=5 -o "$W/cb" "$here/callbench.c" -lpthread

best() {	# best CMD...: the lowest "N ns/call" of RUNS runs
	local b=
	for _ in $(seq "$RUNS"); do
		v=$("$@" 2>/dev/null | sed -n 's/ ns\/call.*//p')
		b=$(echo "$v ${b:-$v}" | awk '{print ($1 < $2) ? $1 : $2}')
	done
	echo "$b"
}

printf '%-40s %10s %12s\n' "configuration" "ns/call" "overhead"
for th in 1 2; do
	base=$(best "$W/cb" "$ITERS" $th)
	printf '%-40s %10s %12s\n' "untraced, $th thread(s)" "$base" "-"
	for tracer in function_graph function; do
		for mode in lossless overwrite; do
			v=$(best "$FNT" record --tracer $tracer --mode $mode -o "$W/cb.data" "$W/cb" "$ITERS" $th)
			printf '%-40s %10s %12s\n' "$tracer $mode, $th thread(s)" "$v" \
				"$(echo "$v $base" | awk '{printf "%.2f", $1 - $2}')"
		done
	done
done
rm -f "$W/cb.data"

# Reading: the same number of calls recorded by both tools.
n=300000
"$FNT" record -o "$W/read.data" "$W/cb" $n 1 >/dev/null
ev=$("$FNT" info -i "$W/read.data" | sed -n 's/^# events *: //p')
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
tbest() { local b=99; for _ in $(seq "$RUNS"); do v=$(t "$@"); b=$(echo "if ($v < $b) $v else $b" | bc); done; echo $b; }
printf '\n%-40s %10s\n' "reading $ev events (output to /dev/null)" "seconds"
printf '%-40s %10s\n' "fntrace replay" "$(tbest "$FNT" replay -i "$W/read.data")"
printf '%-40s %10s\n' "fntrace report" "$(tbest "$FNT" report -i "$W/read.data")"
if command -v uftrace >/dev/null; then
	clang -O2 -pg -o "$W/cb_pg" "$here/callbench.c" -lpthread
	rm -rf "$W/uftrace.data"
	(cd "$W" && uftrace record -d uftrace.data ./cb_pg $n 1 >/dev/null)
	printf '%-40s %10s\n' "uftrace replay" "$(tbest uftrace replay -d "$W/uftrace.data")"
	printf '%-40s %10s\n' "uftrace report" "$(tbest uftrace report -d "$W/uftrace.data")"
fi
