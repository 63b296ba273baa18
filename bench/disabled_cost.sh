#!/usr/bin/env bash
# bench/disabled_cost.sh - instructions per call with patch sites present
# but tracing off, against the same program built without sites, counted
# by callgrind (stable, unlike timings).  The traced build runs with the
# runtime loaded (LD_PRELOAD + LD_AUDIT), as under 'fntrace record' with
# no function enabled.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/disabled
mkdir -p "$W"
N=1000000; CALLS=$((N * 8))
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
for form in "clang -fpatchable-function-entry=5" "gcc -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie" \
	    "gcc -pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 -mrecord-return -fno-pie"; do
	cc=${form%% *}; fl=${form#* }
	# gcc's -pg also forces frame pointers: the fair baseline keeps them.
	basefl=""
	[ $cc = gcc ] && basefl="-fno-pie -no-pie -fno-omit-frame-pointer"
	$cc -O2 $basefl -o "$W/base" "$ROOT/bench/disabled_cost.c"
	$cc -O2 -c $fl -o "$W/sites.o" "$ROOT/bench/disabled_cost.c"
	$cc -o "$W/sites" "$W/sites.o" $basefl
	# The same loop with N and 2N iterations: the difference is the loop alone.
	b1=$(count "$W/base" $N); b2=$(count "$W/base" $((2 * N)))
	s1=$(LD_PRELOAD="$B/libfntrace.so" LD_AUDIT="$B/libfntrace.so" count "$W/sites" $N)
	s2=$(LD_PRELOAD="$B/libfntrace.so" LD_AUDIT="$B/libfntrace.so" count "$W/sites" $((2 * N)))
	awk -v b1=$b1 -v b2=$b2 -v s1=$s1 -v s2=$s2 -v c=$CALLS -v f="$form" 'BEGIN {
		pb = (b2 - b1) / c; ps = (s2 - s1) / c
		printf "%-55s without sites %.3f instr/call, with sites (off) %.3f, extra %.3f\n", f, pb, ps, ps - pb }'
done
