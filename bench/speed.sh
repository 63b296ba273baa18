#!/usr/bin/env bash
# bench/speed.sh - the cost of a traced call (issue 14), every tool in one
# run: uftrace -pg against fntrace's function_graph (lossless to a file, and
# overwrite: the flight recorder) and function tracer, on the three shapes
# of bench/workload.c (tree: a -> 2 b -> 4 c; rec: recursion 500 deep;
# many: 4000 distinct functions).  RUNS rounds, round-robin (each round
# runs every command once, so a busy spell of this shared machine hits all
# of them alike); the cell is the median of the program's own wall time
# per call in its loop (what a user waits for, waits for the reader
# included), with thread CPU time beside it.
#
# Then, as figures the machine's load does not move, the instructions a
# traced call costs the traced thread (callgrind on bench/callbench.c:
# the difference between two runs of 12000 and 2000 iterations of 7
# calls, only the thread that runs the loop counted).
#
# Prints a markdown section and writes it to $O/bench/speed.md.  Not part
# of 'make test'.
#
#   O=build bash bench/speed.sh     (RUNS=9 CALLS=5000000; CALLGRIND=1)
#
# The gcc rows are the same tracer on gcc builds: its -pg NOP form (returns
# hooked) and the same with exit sites (fntrace cflags --exits: calls
# closed at their exit sites); compiled apart, linked without -pg.
#
# BASELINE=/path/to/other/build/fntrace adds that build's function_graph
# (lossless) as one more tool of the same rounds: a before/after figure.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/speed
RUNS=${RUNS:-9}; CALLS=${CALLS:-5000000}; CALLGRIND=${CALLGRIND:-1}
F=$B/fntrace
command -v uftrace >/dev/null || { echo "speed: uftrace is needed (make deps, or apt-get install uftrace)" >&2; exit 1; }
[ -x "$F" ] || { echo "speed: build fntrace first (make)" >&2; exit 1; }
mkdir -p "$W"; cd "$W"

# 4000 small distinct functions for the "many" shape, as bench.py writes them.
python3 - <<'PY'
n = 4000
with open("gen_many.c", "w") as f:
    for i in range(n):
        f.write("__attribute__((noinline)) int m%d(int x) { return x * %d + %d; }\n" % (i, 2 * i + 1, i))
    f.write("int (*const many_tab[%d])(int) = {%s};\n" % (n, ",".join("m%d" % i for i in range(n))))
PY
src=$ROOT/bench/workload.c
clang -O2 -fpatchable-function-entry=5 -o wl_fnt "$src" gen_many.c -lpthread
gcc -O2 -pg -o wl_pg "$src" gen_many.c -lpthread
clang -O2 -g -fpatchable-function-entry=5 -o callbench "$ROOT/bench/callbench.c" -lpthread
gnop="-pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie"
gexit="$gnop -minstrument-return=nop5 -mrecord-return"
for v in gnop gexit; do
	# shellcheck disable=SC2086
	gcc -O2 ${!v} -c "$src" -o wl_$v.o && gcc -O2 ${!v} -c gen_many.c -o many_$v.o
	gcc -no-pie -o wl_$v wl_$v.o many_$v.o -lpthread
done

iters() { case $1 in tree) echo $((CALLS / 7)) ;; rec) echo $((CALLS / 501)) ;; many) echo $((CALLS / 4000)) ;; esac; }
tools=(uftrace graph graph_ow func gnop gexit gexit_ow)
BASELINE=${BASELINE:-}
[ -n "$BASELINE" ] && tools+=(base)
label() {
	case $1 in
	uftrace) echo "uftrace -pg" ;;
	graph) echo "fntrace function_graph, lossless" ;;
	graph_ow) echo "fntrace function_graph, overwrite" ;;
	func) echo "fntrace function, lossless" ;;
	gnop) echo "gcc -pg NOP form: function_graph, lossless" ;;
	gexit) echo "gcc with exit sites: function_graph, lossless" ;;
	gexit_ow) echo "gcc with exit sites: function_graph, overwrite" ;;
	base) echo "baseline build: function_graph, lossless" ;;
	esac
}
run() { # TOOL SHAPE N: prints "wall cpu"
	local out
	case $1 in
	uftrace) out=$(uftrace record -d "$W/uf.data" ./wl_pg "$2" "$3") ;;
	graph) out=$("$F" record --tracer function_graph -o "$W/f.data" ./wl_fnt "$2" "$3") ;;
	graph_ow) out=$("$F" record --tracer function_graph --mode overwrite -o "$W/f.data" ./wl_fnt "$2" "$3") ;;
	func) out=$("$F" record --tracer function -o "$W/f.data" ./wl_fnt "$2" "$3") ;;
	gnop) out=$("$F" record --tracer function_graph -o "$W/f.data" ./wl_gnop "$2" "$3") ;;
	gexit) out=$("$F" record --tracer function_graph -o "$W/f.data" ./wl_gexit "$2" "$3") ;;
	gexit_ow) out=$("$F" record --tracer function_graph --mode overwrite -o "$W/f.data" \
		./wl_gexit "$2" "$3") ;;
	base) out=$("$BASELINE" record --tracer function_graph -o "$W/f.data" ./wl_fnt "$2" "$3") ;;
	esac
	echo "$out" | sed -n 's/.*wall_ns=\([0-9.]*\) cpu_ns=\([0-9.]*\).*/\1 \2/p'
}
: >results.tsv
for r in $(seq "$RUNS"); do
	for shape in tree rec many; do
		for t in "${tools[@]}"; do
			echo "speed: round $r/$RUNS $shape $t" >&2
			printf '%s\t%s\t%s\n' "$shape" "$t" "$(run $t $shape $(iters $shape) | tr ' ' '\t')" >>results.tsv
		done
	done
done

cg() { # TRACER MODE: instructions per call of the traced thread
	local a b n
	for n in 2000 12000; do
		rm -f cg.out.*
		valgrind --tool=callgrind --trace-children=yes --toggle-collect=run \
			--callgrind-out-file="$W/cg.out.%p" "$F" record --tracer "$1" --mode "$2" \
			-o "$W/cg.data" ./callbench $n >/dev/null 2>&1
		for f in cg.out.*; do
			grep -q '^cmd: *\./callbench' "$f" && grep '^summary:' "$f" | awk '{print $2}'
		done | head -1 >"cg.$n"
	done
	a=$(cat cg.2000); b=$(cat cg.12000)
	echo $(((b - a) / 70000))
}

{
echo "## 11. The cost of a traced call (issue 14)"
echo
echo "Made by \`make bench-speed\` (\`bench/speed.sh\`) at $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$(git -C "$ROOT" rev-parse --short HEAD)\`, load $(cut -d' ' -f1-3 /proc/loadavg). $RUNS rounds, round-robin over the tools; about $CALLS traced calls per run. Cells: median [min–max] of the program's own **wall time** per call in its loop (entry and exit; the function tracer records entries only), thread CPU time in parentheses; the ratio is uftrace's median over the cell's."
echo
echo "| shape | $(for t in "${tools[@]}"; do printf '%s | ' "$(label $t)"; done)"
echo "|---|$(for t in "${tools[@]}"; do printf -- '---|'; done)"
for shape in tree rec many; do
	python3 - "$shape" "${tools[@]}" <<'PY'
import sys, statistics as st
shape, tools = sys.argv[1], sys.argv[2:]
rows = [l.split("\t") for l in open("results.tsv").read().splitlines()]
def vals(t, i): return [float(r[2 + i]) for r in rows if r[0] == shape and r[1] == t and len(r) > 3]
cells = []
uf = st.median(vals("uftrace", 0))
for t in tools:
    w, c = vals(t, 0), vals(t, 1)
    cell = "%.1f [%.1f–%.1f] (%.1f)" % (st.median(w), min(w), max(w), st.median(c))
    if t != "uftrace":
        cell += " **%.2f×**" % (uf / st.median(w))
    cells.append(cell)
print("| %s | %s |" % (shape, " | ".join(cells)))
PY
done
echo
echo "Commands (in \`$O/bench/speed\`): \`uftrace record ./wl_pg SHAPE N\`, \`fntrace record --tracer function_graph [--mode overwrite] ./wl_fnt SHAPE N\`, \`fntrace record --tracer function ./wl_fnt SHAPE N\`; wl_pg is \`gcc -O2 -pg\`, wl_fnt \`clang -O2 -fpatchable-function-entry=5\`, both of bench/workload.c."
if [ "$CALLGRIND" = 1 ]; then
	echo
	echo "Instructions per traced call, the traced thread only (callgrind \`--toggle-collect=run\` on bench/callbench.c, (12000 − 2000 iterations) / 70000 calls):"
	echo
	echo "| tracer | lossless | overwrite |"
	echo "|---|---|---|"
	for tr in function_graph function; do
		echo "| $tr | $(cg $tr lossless) | $(cg $tr overwrite) |"
	done
fi
} | tee speed.md
cp speed.md "$B/bench/speed.md"
