#!/usr/bin/env bash
# bench/live.sh - the costs of live control (fntrace run, record -p, ctl):
#
#   1. dormant cost: callgrind instructions per call under 'fntrace run',
#      against the same program built without sites, run plainly;
#   2. idle agent: context switches of the fntrace-agent thread over
#      IDLE_S seconds of a dormant program that sleeps, and of one that works;
#   3. patch time: enabling and disabling 100,000 sites of a running program
#      (gen_sites.py) with 2 busy threads, through its agent (and with none);
#   4. per-call cost of 'record -p' (fntrace run + record -p around the busy
#      phase) against 'record -o f PROG' and the untraced program.
#
# Prints a markdown section and writes it to $O/bench/live.md.  Not part of
# 'make test'.
#
#   O=build bash bench/live.sh      (RUNS=5 PATCH_RUNS=9 IDLE_S=10 ITERS=1000000)
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}; B=$ROOT/$O; W=$B/bench/live
RUNS=${RUNS:-5}; PATCH_RUNS=${PATCH_RUNS:-9}; IDLE_S=${IDLE_S:-10}; ITERS=${ITERS:-1000000}
SPIN=${SPIN:-1000}	# work between two traced calls of the busy threads (section 3)
cd "$ROOT"
T0=$EPOCHREALTIME

command -v valgrind >/dev/null || {
	echo "bench: installing valgrind" >&2
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind
}
[ -x "$B/fntrace" ] && [ -f "$B/libfntrace.so" ] || { echo "bench: build fntrace first (make)" >&2; exit 1; }
mkdir -p "$W/bin"
# A copy, so that a rebuild of $O while this runs does not change what is
# measured (fntrace finds the libfntrace.so next to it); new files, never
# rewritten in place, which a process still mapping them would not survive.
for f in fntrace libfntrace.so; do cp "$B/$f" "$W/bin/$f.tmp" && mv -f "$W/bin/$f.tmp" "$W/bin/$f"; done
FNT=$W/bin/fntrace

# Our children not yet reaped: only those are killed on exit (a reaped
# pid may belong to anyone by then).
declare -A LIVE
started() { LIVE[$1]=1; }
reap() { local p; for p in "$@"; do wait "$p" 2>/dev/null || true; unset "LIVE[$p]"; done; }
cleanup() {
	for p in "${!LIVE[@]}"; do kill "$p" 2>/dev/null || true; done
	exec 3>&- 2>/dev/null || true
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
# Milliseconds between two $EPOCHREALTIME values.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
# median / min / max of the arguments.
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rng() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }'; }
# Waits until PID's agent answers (a program with 100,000 sites takes a
# while to start under load).
wait_agent() {
	for _ in $(seq 600); do
		"$FNT" ctl -p "$1" >/dev/null 2>&1 && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.02
	done
	echo "bench: process $1 has no agent" >&2
	return 1
}
wait_recording() {
	for _ in $(seq 600); do
		grep -q '^state  *recording' <<<"$("$FNT" ctl -p "$1" 2>/dev/null)" && return 0
		sleep 0.01
	done
	echo "bench: process $1 is not recording" >&2
	return 1
}
agent_tid() {
	local f
	for f in /proc/"$1"/task/*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = fntrace-agent ] && { f=${f%/comm}; echo "${f##*/}"; return 0; }
	done
	return 1
}

# --- builds ---------------------------------------------------------------
log "building in $W"
clang -O2 -o "$W/work_plain" bench/live_work.c
clang -O2 -fpatchable-function-entry=5 -o "$W/work_sites" bench/live_work.c
clang -O2 -fpatchable-function-entry=5 -o "$W/idle" bench/live_idle.c
# The 100,000-function program, and bench/patch_speed.c linked with the
# same functions (fnt_enable/fnt_disable in-process: the reference), take
# a minute or two of clang (about 0.8 ms per -O1 function): built in the
# background while sections 1 and 2 run, and kept until bench/gen_sites.py
# changes.
MANY=$W/many
if [ ! -x "$MANY" ] || [ "$MANY" -ot bench/gen_sites.py ] || [ ! -x "$W/pspeed" ]; then
	log "generating and compiling 100 files of 1000 functions (once)"
	(
		rm -rf "$W/gen" && python3 bench/gen_sites.py "$W/gen" 100 1000 &&
		ls "$W"/gen/gen_[0-9]*.c | xargs -P "$(nproc)" -I{} clang -O1 -fpatchable-function-entry=5 -c {} -o {}.o &&
		clang -O2 -pthread -o "$MANY.tmp" "$W/gen/gen_main.c" "$W"/gen/gen_[0-9]*.c.o &&
		mv "$MANY.tmp" "$MANY" &&
		clang -O2 -I"$ROOT/include" -o "$W/pspeed" bench/patch_speed.c "$W"/gen/gen_[0-9]*.c.o \
			-L"$W/bin" -lfntrace -Wl,-rpath,"$W/bin"
	) >"$W/gen.log" 2>&1 &
	GEN=$!
else
	GEN=
fi
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 1. dormant cost --------------------------------------------------------
log "1. callgrind"
N1=$ITERS; N2=$((ITERS / 2))
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1; }
p1=$(ir "$W/work_plain" $N1); p2=$(ir "$W/work_plain" $N2)
s1=$(ir --trace-children=yes "$FNT" run "$W/work_sites" $N1)
s2=$(ir --trace-children=yes "$FNT" run "$W/work_sites" $N2)
DORM=$(awk -v p1=$p1 -v p2=$p2 -v s1=$s1 -v s2=$s2 -v c=$(( (N1 - N2) * 7 )) 'BEGIN {
	pb = (p1 - p2) / c; ps = (s1 - s2) / c
	printf "%.3f %.3f %.3f %d %d", pb, ps, ps - pb, p2 - (p1 - p2), s2 - (s1 - s2) }')
read -r D_PLAIN D_SITES D_EXTRA D_SU_PLAIN D_SU_SITES <<<"$DORM"

# --- 2. idle agent ----------------------------------------------------------
log "2. idle agent, ${IDLE_S} s"
declare -A IDLE
for mode in sleep work; do
	"$FNT" run "$W/idle" $((IDLE_S + 30)) $mode & IDLE[$mode]=$!; started "${IDLE[$mode]}"
done
for mode in sleep work; do wait_agent "${IDLE[$mode]}"; done
sleep 0.5
ctx() {	# voluntary nonvoluntary on-CPU-ns of the agent thread of $1
	local t; t=$(agent_tid "$1")
	echo "$(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v, n }' /proc/"$1"/task/"$t"/status) $(cut -d' ' -f1 /proc/"$1"/task/"$t"/schedstat)"
}
declare -A C0 C1
for mode in sleep work; do C0[$mode]=$(ctx "${IDLE[$mode]}"); done
sleep "$IDLE_S"
for mode in sleep work; do C1[$mode]=$(ctx "${IDLE[$mode]}"); kill "${IDLE[$mode]}"; done
reap "${IDLE[sleep]}" "${IDLE[work]}"

# --- 3. patch time ----------------------------------------------------------
if [ -n "$GEN" ]; then
	log "waiting for the 100,000-function build"
	wait "$GEN" || { cat "$W/gen.log" >&2; exit 1; }
fi
declare -A PT
# Agent-side times from 'perf trace -a -e execve,sendto,recvmsg' (syscall
# tracepoints: nothing else is slowed): a request lasts from the agent's
# first recvmsg of it to its sendto of the reply, which comes once the
# batch is applied.  Requests are told apart by their body: START carries
# "filter=\nnotrace=\n" (17 bytes), ctl -F '*' "filter=\n" (8), ctl -F
# nothing_matches_this 28; STOP is the request after START on the same
# connection.  Prints "KIND MS" lines, and "exec MS" (from the execve of
# the record -p that sent a START to that START's reply).
AGENT_AWK='
$0 ~ " execve\\(" && $1 ~ /^[0-9.]+$/ { for (i = 1; i <= NF; i++) if ($i ~ /^[^ ]*\/[0-9]+$/) { split($i, c, "/"); if (c[2] in R) lastexec = $1 } next }
$0 ~ ("/" A " ") && $0 ~ / (recvmsg|sendto)\(/ {
	t = $1; fd = $0; sub(/.*\(fd: /, "", fd); sub(/[,<].*/, "", fd); r = $NF
	if ($0 ~ / recvmsg\(/) {
		if (r == 0) { delete pend[fd]; delete last[fd]; next }
		if (r !~ /^[0-9]+$/) next
		if (!(fd in pend)) { pend[fd] = t; body[fd] = 0 } else body[fd] += r
		next
	}
	if (fd in pend) {
		k = body[fd] == 17 ? "start" : body[fd] == 8 ? "all" : body[fd] == 28 ? "none" : last[fd] == "start" ? "stop" : "status"
		printf "%s %.3f\n", k, t - pend[fd]
		if (k == "start" && lastexec != "") printf "exec %.3f\n", t - lastexec
		last[fd] = k; delete pend[fd]
	}
}'
HAVE_PERF_TRACE=0
perf trace -e sendto -o /dev/null -- true >/dev/null 2>&1 && HAVE_PERF_TRACE=1
patch_round() {	# $1: busy threads
	local th=$1 p a rp pt r w0 w1 w2 w3 s0 s1 s2 noop=() on=() off=() cpu_on=() cpu_off=()
	local wait_on=() wait_off=() cpu_sess=() wait_sess=() rps="" bad=0 k
	"$FNT" run "$MANY" "$th" $SPIN >/dev/null 2>"$W/many.err" & p=$!; started $p
	wait_agent $p
	"$FNT" ctl -p $p >"$W/ctl.out"
	grep -q '^sites  *100000$' "$W/ctl.out" || { echo "bench: not 100000 sites" >&2; cat "$W/ctl.out" >&2; exit 1; }
	a=$(agent_tid $p)
	if [ $HAVE_PERF_TRACE = 1 ]; then
		rm -f "$W/ptrace.txt" "$W/ptrace.txt.old"	# (perf keeps an old file as .old)
		perf trace -a -e execve,sendto,recvmsg -o "$W/ptrace.txt" 2>/dev/null & pt=$!; started $pt
		sleep 1
	fi
	# Whole recordings: record -p -d 1ns: START patches every site, STOP
	# follows at once and unpatches them.
	for r in $(seq "$RUNS"); do
		read -r -a s0 </proc/$p/task/$a/schedstat
		"$FNT" record -p $p -d 1ns -o "$W/sess.data" 2>/dev/null & rp=$!; started $rp
		rps+="$rp,"; reap $rp
		read -r -a s1 </proc/$p/task/$a/schedstat
		cpu_sess+=("$(awk -v a=${s0[0]} -v b=${s1[0]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
		wait_sess+=("$(awk -v a=${s0[1]} -v b=${s1[1]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
	done
	# Changes during a recording that starts with no site enabled.
	"$FNT" record -p $p -F nothing_matches_this -o "$W/patch.data" 2>"$W/patch.err" & rp=$!; started $rp
	wait_recording $p
	for r in $(seq "$PATCH_RUNS"); do
		w0=$EPOCHREALTIME; "$FNT" ctl -p $p >/dev/null
		w1=$EPOCHREALTIME; noop+=("$(ms "$w0" "$w1")")
		read -r -a s0 </proc/$p/task/$a/schedstat
		w0=$EPOCHREALTIME; "$FNT" ctl -p $p -F '*' >"$W/ctl.out"
		w1=$EPOCHREALTIME; on+=("$(ms "$w0" "$w1")")
		grep -q '^enabled  *100000$' "$W/ctl.out" || bad=$((bad + 1))
		read -r -a s1 </proc/$p/task/$a/schedstat
		w2=$EPOCHREALTIME; "$FNT" ctl -p $p -F nothing_matches_this >"$W/ctl.out"
		w3=$EPOCHREALTIME; off+=("$(ms "$w2" "$w3")")
		grep -q '^enabled  *0$' "$W/ctl.out" || bad=$((bad + 1))
		read -r -a s2 </proc/$p/task/$a/schedstat
		cpu_on+=("$(awk -v a=${s0[0]} -v b=${s1[0]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
		cpu_off+=("$(awk -v a=${s1[0]} -v b=${s2[0]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
		wait_on+=("$(awk -v a=${s0[1]} -v b=${s1[1]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
		wait_off+=("$(awk -v a=${s1[1]} -v b=${s2[1]} 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
	done
	kill -INT $rp; reap $rp
	kill $p; reap $p
	local nm; nm=$(med "${noop[@]}")
	PT[$th,noop]="$nm [$(rng "${noop[@]}")]"
	PT[$th,on]=$(med "${on[@]}"); PT[$th,on_r]=$(rng "${on[@]}")
	PT[$th,off]=$(med "${off[@]}"); PT[$th,off_r]=$(rng "${off[@]}")
	PT[$th,on_net]=$(awk -v a="${PT[$th,on]}" -v b=$nm 'BEGIN { printf "%.2f", a - b }')
	PT[$th,off_net]=$(awk -v a="${PT[$th,off]}" -v b=$nm 'BEGIN { printf "%.2f", a - b }')
	PT[$th,cpu_on]=$(med "${cpu_on[@]}"); PT[$th,cpu_off]=$(med "${cpu_off[@]}")
	PT[$th,wait_on]=$(med "${wait_on[@]}"); PT[$th,wait_off]=$(med "${wait_off[@]}")
	PT[$th,cpu_sess]=$(med "${cpu_sess[@]}"); PT[$th,wait_sess]=$(med "${wait_sess[@]}")
	PT[$th,bad]=$bad
	for k in start stop all none exec; do PT[$th,a_$k]="n/a"; PT[$th,a_${k}_r]="n/a"; done
	if [ $HAVE_PERF_TRACE = 1 ]; then
		kill -INT $pt; reap $pt
		awk -v A=$a -v RL="$rps" 'BEGIN { n = split(RL, x, ","); for (i = 1; i <= n; i++) if (x[i] != "") R[x[i]] = 1 }'"$AGENT_AWK" \
			"$W/ptrace.txt" >"$W/agent.$th.txt"
		for k in start stop all none exec; do
			local v; v=$(awk -v k=$k '$1 == k { print $2 }' "$W/agent.$th.txt")
			[ -n "$v" ] || continue
			# shellcheck disable=SC2086
			PT[$th,a_$k]=$(med $v); PT[$th,a_${k}_r]=$(rng $v)
			PT[$th,a_${k}_n]=$(wc -w <<<"$v")
		done
	fi
}
log "3. patch time, in-process reference"
PSPEED=$("$W/pspeed" 7)
PS_EN=$(sed -n 's/.*enable_ms median=\([0-9.]*\).*/\1/p' <<<"$PSPEED")
PS_DIS=$(sed -n 's/.*disable_ms median=\([0-9.]*\).*/\1/p' <<<"$PSPEED")
log "3. patch time, 2 busy threads"
patch_round 2
log "3. patch time, no busy thread"
patch_round 0
rm -f "$W/patch.data" "$W/sess.data" "$W/ptrace.txt" "$W/ctl.out"

# --- 4. per-call cost ------------------------------------------------------
log "4. per call, $RUNS rounds"
rm -f "$W/go.fifo"; mkfifo "$W/go.fifo"
exec 3<>"$W/go.fifo"	# held open: the program's open of its stdin never blocks
CFGS="plain dormant rec_graph recp_graph rec_func recp_func"
declare -A WALL CPU EV
one() {	# one run of configuration $1; sets WALL[$1] CPU[$1] EV[$1] (appended)
	local cfg=$1 out=$W/run.out p rp tr=function_graph ev=
	case $cfg in *func) tr=function ;; esac
	case $cfg in
	plain)	"$W/work_plain" $ITERS >"$out" ;;
	dormant) "$FNT" run "$W/work_sites" $ITERS >"$out" ;;
	rec_*)	"$FNT" record --tracer $tr -o "$W/rec.data" "$W/work_sites" $ITERS >"$out" 2>"$W/rec.err"
		ev=$("$FNT" info -i "$W/rec.data" | awk '/^# events/ { e = $4 } /^# lost events/ { l = $5 } END { print e "/" l }') ;;
	recp_*)	"$FNT" run "$W/work_sites" $ITERS wait <"$W/go.fifo" >"$out" & p=$!; started $p
		wait_agent $p
		"$FNT" record -p $p --tracer $tr -o "$W/rec.data" 2>"$W/rec.err" & rp=$!; started $rp
		wait_recording $p
		printf g >&3
		reap $p $rp
		ev=$("$FNT" info -i "$W/rec.data" | awk '/^# events/ { e = $4 } /^# lost events/ { l = $5 } END { print e "/" l }') ;;
	esac
	read -r _ _ w _ c _ <"$out"
	WALL[$cfg]+="$w "; CPU[$cfg]+="$c "; EV[$cfg]+="$ev "
}
for r in $(seq "$RUNS"); do
	for cfg in $CFGS; do one $cfg; done
done
exec 3>&-
rm -f "$W/go.fifo" "$W/rec.data" "$W/rec.err" "$W/run.out"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# --- the section -------------------------------------------------------------
md=$W/live.md.tmp
{
rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD 2>/dev/null || rev="$rev + uncommitted changes"
echo "## Live control: fntrace run, record -p, ctl"
echo
echo "Generated by \`bench/live.sh\` (\`O=$O bash bench/live.sh\`). \`fntrace\` below is a copy of \`$O/fntrace\` and \`$O/libfntrace.so\` taken when the script starts."
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs, Linux $(uname -r) |"
echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
echo "| commit | \`$rev\` |"
echo "| compiler | $(clang --version | head -1) |"
echo "| load average | $LOAD0 at the start, $LOAD1 at the end (other jobs share this machine) |"
echo "| whole run | $ELAPSED s |"
echo
echo "| figure | measured | target | |"
echo "|---|---|---|---|"
echo "| 1. dormant cost per call (callgrind) | $D_EXTRA instructions | ≤ 1 | $(awk -v x=$D_EXTRA 'BEGIN { print x <= 1.01 ? "met" : "**missed**" }') |"
for mode in sleep work; do
	read -r v0 n0 r0 <<<"${C0[$mode]}"; read -r v1 n1 r1 <<<"${C1[$mode]}"
	k=$(( (v1 - v0) + (n1 - n0) ))
	echo "| 2. agent wake-ups in ${IDLE_S} s, dormant program that ${mode}s | $k ($((v1 - v0)) voluntary, $((n1 - n0)) involuntary; $(( (r1 - r0) / 1000 )) µs on CPU) | 0 | $([ $k = 0 ] && echo met || echo '**missed**') |"
done
ok25() { awk -v x="$1" 'BEGIN { print x == "n/a" ? "" : x <= 25 ? "met" : "**missed**" }'; }
echo "| 3. \`record -p\` START, all 100,000 sites patched (agent side), 2 busy threads | ${PT[2,a_start]} ms | ≤ 25 ms | $(ok25 ${PT[2,a_start]}) |"
echo "| 3. \`record -p\` STOP, all 100,000 sites unpatched (agent side), 2 busy threads | ${PT[2,a_stop]} ms | ≤ 25 ms | $(ok25 ${PT[2,a_stop]}) |"
echo "| 3. \`record -p\` from its exec to all sites patched, 2 busy threads | ${PT[2,a_exec]} ms | | |"
echo "| 3. \`ctl -F '*'\`, 0 → 100,000 sites (agent side; wall − no-change wall), 2 busy threads | ${PT[2,a_all]} ms (${PT[2,on_net]} ms) | ≤ 25 ms | $(ok25 ${PT[2,a_all]}) |"
echo "| 3. \`ctl -F nothing_matches_this\`, 100,000 → 0 sites (agent side; wall − no-change wall), 2 busy threads | ${PT[2,a_none]} ms (${PT[2,off_net]} ms) | ≤ 25 ms | $(ok25 ${PT[2,a_none]}) |"
echo "| 4. record -p, function_graph, ns per call (wall) | $(med ${WALL[recp_graph]}) (record -o: $(med ${WALL[rec_graph]}); untraced: $(med ${WALL[plain]})) | | |"
echo "| 4. record -p, function, ns per call (wall) | $(med ${WALL[recp_func]}) (record -o: $(med ${WALL[rec_func]}); untraced: $(med ${WALL[plain]})) | | |"
echo
echo "### 1. Dormant cost"
echo
echo "\`bench/live_work.c\` (a → 2 b → 4 c, 7 calls per iteration), callgrind instruction counts (stable, single runs); the difference between $N1 and $N2 iterations, $(( (N1 - N2) * 7 )) calls, leaves out start-up. Start-up: the part that does not depend on the iterations."
echo
echo "| build, run | instructions per call | start-up instructions | command |"
echo "|---|---|---|---|"
echo "| clang -O2, no sites, plain | $D_PLAIN | $D_SU_PLAIN | \`valgrind --tool=callgrind ./work_plain N\` |"
echo "| clang -O2 -fpatchable-function-entry=5, \`fntrace run\` (dormant) | $D_SITES | $D_SU_SITES | \`valgrind --tool=callgrind --trace-children=yes fntrace run ./work_sites N\` |"
echo "| extra per call | **$D_EXTRA** | | |"
echo
echo "The runtime's start-up (ELF tables, sites, the agent thread and its socket) is the difference in start-up instructions; each call pays one 5-byte NOP."
echo
echo "### 2. Idle agent"
echo
echo "Two dormant programs (\`fntrace run ./idle $((IDLE_S + 30)) sleep\` and \`... work\`, \`bench/live_idle.c\`; \`work\` calls traced functions all the time). \`voluntary_ctxt_switches\` and \`nonvoluntary_ctxt_switches\` of the thread whose \`comm\` is \`fntrace-agent\` (\`/proc/PID/task/TID/status\`), and its on-CPU time (\`schedstat\`), read ${IDLE_S} s apart, starting 0.5 s after the agent first answered."
echo
echo "| program | voluntary | involuntary | on-CPU time |"
echo "|---|---|---|---|"
for mode in sleep work; do
	read -r v0 n0 r0 <<<"${C0[$mode]}"; read -r v1 n1 r1 <<<"${C1[$mode]}"
	echo "| $mode | $v0 → $v1 | $n0 → $n1 | $(( (r1 - r0) / 1000 )) µs |"
done
echo
echo "Anyone's \`fntrace ps\` or \`fntrace ctl\` during the window connects to every agent of the user and counts here."
echo
echo "### 3. Patch time, 100,000 sites"
echo
echo "\`bench/gen_sites.py\`: 100 files of 1000 functions (noinline, distinct bodies, in tables), clang -O1 -fpatchable-function-entry=5; the main file, without sites, starts 0 or 2 threads that call 2000 of the functions in turn, with $SPIN loop iterations of other work after each call. Started with \`fntrace run ./many THREADS $SPIN\` (100,000 sites)."
echo
echo "Each round: $RUNS recordings \`fntrace record -p PID -d 1ns -o sess.data\` (function_graph, every site; \`-d 1ns\`: STOP as soon as START is answered); then \`fntrace record -p PID -F nothing_matches_this -o patch.data\` (no site enabled) and, $PATCH_RUNS times, \`fntrace ctl -p PID\` (no change: the status), \`fntrace ctl -p PID -F '*'\` (one batch; the reply says \`enabled 100000\`), \`fntrace ctl -p PID -F nothing_matches_this\` (\`enabled 0\`), then Ctrl-C to the recording."
echo
echo "*Agent side*: \`perf trace -a -e execve,sendto,recvmsg\` over the round (syscall tracepoints; nothing else is slowed). A request lasts from the agent's first \`recvmsg\` of it to its \`sendto\` of the reply, which it sends once the batch is applied: the time the sites take to change. *exec → patched*: from \`record -p\`'s \`execve\` to the agent's START reply. *Wall*: the \`ctl\` command's wall-clock time; *net*: minus the no-change median (process start, connection, status). *Agent CPU / waiting*: the agent thread's on-CPU time and run-queue wait (\`/proc/PID/task/TID/schedstat\`) during the recording (START + STOP) or the \`ctl\` command. Median [min–max], ms."
echo
echo "| busy threads | START | STOP | exec → patched | agent CPU / waiting, START + STOP |"
echo "|---|---|---|---|---|"
for th in 2 0; do
	echo "| $th | **${PT[$th,a_start]}** [${PT[$th,a_start_r]}] | **${PT[$th,a_stop]}** [${PT[$th,a_stop_r]}] | ${PT[$th,a_exec]} [${PT[$th,a_exec_r]}] | ${PT[$th,cpu_sess]} / ${PT[$th,wait_sess]} |"
done
echo
echo "| busy threads | \`ctl\` no change, wall | \`-F '*'\`: agent side | wall | net | agent CPU / waiting | \`-F nothing_matches_this\`: agent side | wall | net | agent CPU / waiting |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for th in 2 0; do
	echo "| $th | ${PT[$th,noop]} | **${PT[$th,a_all]}** [${PT[$th,a_all_r]}] | ${PT[$th,on]} [${PT[$th,on_r]}] | ${PT[$th,on_net]} | ${PT[$th,cpu_on]} / ${PT[$th,wait_on]} | **${PT[$th,a_none]}** [${PT[$th,a_none_r]}] | ${PT[$th,off]} [${PT[$th,off_r]}] | ${PT[$th,off_net]} | ${PT[$th,cpu_off]} / ${PT[$th,wait_off]} |"
done
echo
echo "Where the agent-side time is well above the agent's CPU time, the rest is run-queue wait: the agent is an ordinary thread (SCHED_OTHER, nice 0) that shares the 2 CPUs with the busy threads, the \`record -p\` process and the machine's other jobs."
echo
echo "In-process reference, same run, same 100,000 functions, no busy thread: \`bench/patch_speed.c\` linked with them (\`./pspeed 7\`: \`fnt_enable(NULL)\` / \`fnt_disable(NULL)\`, median of 7): enable $PS_EN ms, disable $PS_DIS ms."
if [ "${PT[2,bad]}${PT[0,bad]}" != 00 ]; then
	echo; echo "**${PT[2,bad]} + ${PT[0,bad]} replies did not show the expected number of enabled sites.**"
fi
echo
echo "### 4. Per call while recording from outside"
echo
echo "\`bench/live_work.c\` with $ITERS iterations ($((ITERS * 7)) calls), one thread; it times its own loop (CLOCK_MONOTONIC, and CLOCK_THREAD_CPUTIME_ID). *record -p*: \`fntrace run ./work_sites $ITERS wait <fifo\`; \`fntrace record -p PID [--tracer T] -o rec.data\`; once \`fntrace ctl -p PID\` says \`recording\`, \"g\" is written to the FIFO and the loop starts (the whole loop is inside the recording; the record ends when the program does). *record -o*: \`fntrace record [--tracer T] -o rec.data ./work_sites $ITERS\`. ns per call, median [min–max] of $RUNS, round-robin over the configurations. Events/lost: \`fntrace info -i rec.data\` of each run."
echo
echo "| configuration | wall ns/call | thread CPU ns/call | events/lost per run |"
echo "|---|---|---|---|"
label() { case $1 in plain) echo "untraced: no sites, plain";; dormant) echo "sites, \`fntrace run\` (dormant)";;
	rec_graph) echo "\`record -o\`, function_graph";; recp_graph) echo "\`run\` + \`record -p\`, function_graph";;
	rec_func) echo "\`record -o\`, function";; recp_func) echo "\`run\` + \`record -p\`, function";; esac; }
for cfg in $CFGS; do
	echo "| $(label $cfg) | $(med ${WALL[$cfg]}) [$(rng ${WALL[$cfg]})] | $(med ${CPU[$cfg]}) [$(rng ${CPU[$cfg]})] | $(echo ${EV[$cfg]} | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//;s/^$/–/') |"
done
echo
echo "record -p against record -o, median wall: function_graph $(awk -v a=$(med ${WALL[recp_graph]}) -v b=$(med ${WALL[rec_graph]}) 'BEGIN { printf "%.2f×", a / b }'), function $(awk -v a=$(med ${WALL[recp_func]}) -v b=$(med ${WALL[rec_func]}) 'BEGIN { printf "%.2f×", a / b }')."
} >"$md"
mv "$md" "$B/bench/live.md"
cat "$B/bench/live.md"
