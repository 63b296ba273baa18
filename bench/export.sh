#!/usr/bin/env bash
# bench/export.sh - conversion throughput (issue 13): how fast 'fntrace
# dump' writes --chrome, --perfetto and --folded, against 'uftrace dump
# --chrome' on the same workload.
#
# The tree workload (bench/workload.c: a -> 2 b -> 4 c) is recorded once
# with fntrace (clang -fpatchable-function-entry=5, function_graph) and
# once with uftrace (gcc -pg); then every conversion runs RUNS times,
# round-robin (each round runs each command once, so a busy spell of
# this shared machine hits every command alike), output to /dev/null.
# Events/s = the trace's events (entries and exits) / median wall time;
# bytes/event from one more run into a file.
#
# Then, as a figure this shared machine's load does not move, the
# instructions each conversion executes per event (valgrind's callgrind,
# on a trace of ITERS/10 iterations; CALLGRIND=0 skips it).
#
# Prints a markdown section and writes it to $O/bench/export.md.  Not part
# of 'make test'.
#
#   O=build bash bench/export.sh      (RUNS=7 ITERS=500000: 7 M events; CALLGRIND=1)
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/export
RUNS=${RUNS:-7}; ITERS=${ITERS:-500000}; CALLGRIND=${CALLGRIND:-1}
cd "$ROOT"
T0=$EPOCHREALTIME

command -v uftrace >/dev/null || {
	echo "bench: installing uftrace" >&2
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y uftrace
}
[ -x "$B/fntrace" ] && [ -f "$B/libfntrace.so" ] || { echo "bench: build fntrace first (make)" >&2; exit 1; }
mkdir -p "$W/bin"
# A copy, so that a rebuild of $O while this runs does not change what is
# measured; new files, never rewritten in place.
for f in fntrace libfntrace.so; do cp "$B/$f" "$W/bin/$f.tmp" && mv -f "$W/bin/$f.tmp" "$W/bin/$f"; done
FNT=$W/bin/fntrace
log() { echo "bench: $*" >&2; }

# The tree shape only: one generated function stands for the 'many' table.
printf 'int g0(int x) { return x + 1; }\nint (*const many_tab[1])(int) = { g0 };\n' >"$W/gen1.c"
clang -O2 -DNFUNCS=1 -fpatchable-function-entry=5 -o "$W/wl_fnt" bench/workload.c "$W/gen1.c" -lpthread
gcc -O2 -DNFUNCS=1 -pg -o "$W/wl_pg" bench/workload.c "$W/gen1.c" -lpthread
cd "$W"
log "recording $ITERS iterations of the tree workload, fntrace and uftrace"
"$FNT" record --tracer function_graph -o fnt.data ./wl_fnt tree "$ITERS" >/dev/null
rm -rf uftrace.data
uftrace record -d uftrace.data ./wl_pg tree "$ITERS" >/dev/null
rm -f gmon.out
fnt_events=$("$FNT" info -i fnt.data | awk '$2 == "events" { print $4; exit }')
uft_events=$(uftrace dump -d uftrace.data | grep -cE '\[(entry|exit|event|lost)')
log "events: fntrace $fnt_events, uftrace $uft_events"

# name|events|command: the command writes to its standard output.
cmds=(
	"fntrace dump --chrome|$fnt_events|$FNT dump --chrome -i fnt.data"
	"fntrace dump --perfetto|$fnt_events|$FNT dump --perfetto -i fnt.data"
	"fntrace dump --folded|$fnt_events|$FNT dump --folded -i fnt.data"
	"uftrace dump --chrome|$uft_events|uftrace dump --chrome -d uftrace.data"
)
declare -A times cpu bytes irev
for c in "${cmds[@]}"; do
	IFS='|' read -r name ev cmd <<<"$c"
	bytes[$name]=$($cmd | wc -c)
done
for r in $(seq "$RUNS"); do
	log "round $r of $RUNS"
	for c in "${cmds[@]}"; do
		IFS='|' read -r name ev cmd <<<"$c"
		t=$EPOCHREALTIME
		/usr/bin/time -f '%U %S' -o "$W/time" $cmd >/dev/null
		times[$name]+="$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }') "
		read -r u s <"$W/time"
		cpu[$name]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') "
	done
done
med() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rng() { printf '%s\n' $1 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f–%.3f", lo, hi }'; }
uft_med=$(med "${times[uftrace dump --chrome]}")
uft_eps=$(awk -v e="$uft_events" -v t="$uft_med" 'BEGIN { printf "%.0f", e / t }')
uft_cpu=$(med "${cpu[uftrace dump --chrome]}")
uft_cps=$(awk -v e="$uft_events" -v t="$uft_cpu" 'BEGIN { printf "%.0f", e / t }')
{
	echo "Tree workload, $ITERS iterations: fntrace \`function_graph\` ($fnt_events events), uftrace \`-pg\` ($uft_events events); output to /dev/null. Wall seconds: median [min–max] of $RUNS, round-robin; events per second from the median; CPU seconds (user + system, GNU time's 10 ms resolution), median, and events per CPU second, which other jobs on this shared machine inflate less; bytes per event of the output (its total size for the folded stacks, which are aggregated); the last two columns are events/s over uftrace's in the same run, by wall and by CPU time. Load average $(cut -d' ' -f1-3 /proc/loadavg) after the timed runs; timed runs $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s; $(git -C "$ROOT" rev-parse --short HEAD)."
	echo
	echo "| command | wall s | events/s | CPU s | events/CPU s | bytes/event | × uftrace (wall) | × uftrace (CPU) |"
	echo "|---|---|---|---|---|---|---|---|"
	for c in "${cmds[@]}"; do
		IFS='|' read -r name ev cmd <<<"$c"
		m=$(med "${times[$name]}")
		awk -v n="$name" -v m="$m" -v r="$(rng "${times[$name]}")" -v c="$(med "${cpu[$name]}")" \
		    -v e="$ev" -v b="${bytes[$name]}" -v u="$uft_eps" -v uc="$uft_cps" '
		function th(v,  s, t) {
			s = sprintf("%.0f", v); t = ""
			while (length(s) > 3) { t = "," substr(s, length(s) - 2) t; s = substr(s, 1, length(s) - 3) }
			return s t
		}
		BEGIN {
			eps = e / m; cps = c > 0 ? e / c : 0
			bpe = b / e >= 0.1 ? sprintf("%.1f", b / e) : sprintf("(%s bytes)", th(b))
			printf "| `%s` | %.3f [%s] | %s | %.2f | %s | %s | %.1f× | %.1f× |\n", n, m, r, th(eps), c,
				th(cps), bpe, eps / u, cps / uc }'
	done
	if [ "$CALLGRIND" = 1 ]; then
		si=$((ITERS / 10))
		"$FNT" record --tracer function_graph -o small.data ./wl_fnt tree "$si" >/dev/null
		rm -rf usmall.data
		uftrace record -d usmall.data ./wl_pg tree "$si" >/dev/null
		rm -f gmon.out
		fe=$("$FNT" info -i small.data | awk '$2 == "events" { print $4; exit }')
		ue=$(uftrace dump -d usmall.data | grep -cE '\[(entry|exit|event|lost)')
		echo
		echo "Instructions executed (valgrind --tool=callgrind, whole command: start-up, reading and checking the file included), $si iterations: fntrace $fe events, uftrace $ue events."
		echo
		echo "| command | instructions | per event | uftrace's / this |"
		echo "|---|---|---|---|"
		declare -A ir
		for c in "${cmds[@]}"; do
			IFS='|' read -r name ev cmd <<<"$c"
			case $name in fntrace*) cmd=${cmd/fnt.data/small.data}; ev=$fe ;; *) cmd=${cmd/uftrace.data/usmall.data}; ev=$ue ;; esac
			log "callgrind: $name"
			ir[$name]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd 2>&1 >/dev/null |
				awk '/refs:/ { gsub(",", "", $NF); print $NF }')
			irev[$name]=$(awk -v i="${ir[$name]}" -v e="$ev" 'BEGIN { printf "%.0f", i / e }')
		done
		for c in "${cmds[@]}"; do
			IFS='|' read -r name ev cmd <<<"$c"
			awk -v n="$name" -v i="${ir[$name]}" -v p="${irev[$name]}" -v u="${irev[uftrace dump --chrome]}" \
				'BEGIN { printf "| `%s` | %.0f M | %d | %.1f× |\n", n, i / 1e6, p, u / p }'
		done
	fi
} >"$W/export.md.tmp"
mv "$W/export.md.tmp" "$W/../export.md"
cat "$W/../export.md"
