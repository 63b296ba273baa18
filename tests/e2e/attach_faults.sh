#!/usr/bin/env bash
# attach_faults.sh - an attach cut short.  The target
# (tests/progs/attach_target.c -t 2 -z) has three threads that make traced
# calls and run a register-heavy loop, checking both results every round;
# its main thread (the one fntrace hijacks) also sleeps 200 us a round, and
# a nanosleep that fails (EINTR: nothing signals it) is a mismatch too.  A
# mismatch ends it with status 3.
#
#  1. ROUNDS rounds, each with a fresh target: 'fntrace ctl -p PID' (every
#     other round 'record -p PID -d 200ms') starts, and is SIGKILLed after
#     a random delay: in odd rounds from 0 to the time an attach takes here
#     (30 ms at least), in even rounds within 2 ms of the moment the
#     injection happens (as the rounds so far place it: most of an attach
#     is the wait for the runtime to start).
#     Then the target must be alive, no thread stopped (state t/T) nor
#     gone, the threads the same ones with the signal masks they had, every
#     thread making progress; it is left without the runtime (no
#     libfntrace mapped) or with it dormant ('ctl -p' says so); a second,
#     full attach ('record -p PID -d 200ms -F work') works and records
#     calls of every thread; and at SIGHUP it exits 0 with nothing on stderr.  How
#     many rounds ended "without runtime" and "dormant" is printed (and how
#     many kept the loader's rwx area, mapped but never used).
#  2. fntrace SIGKILLed at chosen steps of the hijack (gdb runs it with a
#     breakpoint, and kills it there): before the mmap runs (the thread
#     stopped, its registers its own), as the mmap runs and as the clone
#     runs (the thread's registers set to run the call: the signal frame
#     is its way back), after the clone (the loader runs), and while
#     fntrace waits for the runtime.  The main thread sleeps (-Z: 100 ms a
#     round) so that the hijack finds it inside nanosleep, or (for the
#     mmap and the clone again) only computes, so that it is stopped
#     inside its register loop.  The same checks.
#  3. KROUNDS rounds where the target is SIGKILLed during the attach (the
#     delays drawn as in 1): fntrace ends within 30 s, never by a signal,
#     with status 0 or status 1 and a line or two "fntrace: ..." that do
#     not blame a refusal reason the process never had (static, no patch
#     sites, runtime not at the same path, permissions, SIGTRAP blocked,
#     traced).
#
# Rounds run in subshells: all run, and the failures are counted and shown.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
source "$ROOT/tests/e2e/attach_common.bash"

ROUNDS=${ROUNDS:-100} KROUNDS=${KROUNDS:-40}
clang -O2 -g -fpatchable-function-entry=5 -o "$W/target" "$PROGS/attach_target.c" -lpthread

P= FP=
cleanup() {
	set +e
	[ -n "$FP" ] && kill -KILL "$FP" 2>/dev/null
	[ -n "$P" ] && kill -KILL "$P" 2>/dev/null
	return 0
}
trap cleanup EXIT
# A sleep without a fork: read with a timeout from a FIFO nobody writes.
mkfifo "$W/never"
exec 5<>"$W/never"
nap_us() { read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" -u 5 _ || true; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
counters() { od -An -v -tu8 -w8 -N $((8 * $2)) "$1" | tr -s ' \n' ' '; }

# start ARGS...: a fresh target with 3 threads; waits for "ready"; sets P,
# TIDS (its threads) and MASKS (their SigBlk, in the same order).
start() {
	rm -f "$W/t.out" "$W/t.err" "$W/t.prog"
	"$W/target" -t 2 "$@" -p "$W/t.prog" >"$W/t.out" 2>"$W/t.err" &
	P=$!
	for ((i = 0; i < 1000; i++)); do
		grep -q '^ready$' "$W/t.out" 2>/dev/null && break
		kill -0 "$P" 2>/dev/null || { cat "$W/t.err"; fail "$case: the target ended at start"; }
		sleep 0.02
	done
	grep -q '^ready$' "$W/t.out" || fail "$case: the target did not start in 20 s"
	TIDS=$(awk '$1 == "thread" { print $3 }' "$W/t.out" | sort -n | tr '\n' ' ')
	MASKS=$(masks)
}
masks() { for t in $TIDS; do awk '/^SigBlk:/ { printf "%s ", $2 }' "/proc/$P/task/$t/status"; done; }
# died: the target is gone: how it ended.
died() {
	local rc=0
	wait "$P" 2>/dev/null || rc=$?
	cat "$W/t.err" >&2
	[ $rc -gt 128 ] && fail "$case: the target died of signal $((rc - 128))"
	fail "$case: the target ended, status $rc"
}
# alive: the target runs, no thread stopped or gone.
alive() {
	local s
	kill -0 "$P" 2>/dev/null || died
	s=$(for t in /proc/"$P"/task/*; do awk '{ print $3 }' "$t/stat" 2>/dev/null || true; done | sort -u | tr -d '\n')
	case "$s" in *[tTZX]*) cat "$W/t.err" >&2; fail "$case: a thread of the target is in state $s" ;; esac
}
progress() {
	local a b ok k
	read -ra a <<<"$(counters "$W/t.prog" 3)"
	for ((i = 0; i < 750; i++)); do
		alive
		read -ra b <<<"$(counters "$W/t.prog" 3)"
		ok=1
		for ((k = 0; k < 3; k++)); do [ "${b[k]}" -gt "${a[k]}" ] || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.02
	done
	fail "$case: not every thread made progress in 15 s (${a[*]} -> ${b[*]})"
}
# settle: waits (10 s at most) until the threads are the target's own, and
# the agent's if the runtime came in: no loader thread left.  Sets OUTCOME
# to "dormant" or "without-runtime".
settle() {
	local tasks extra
	for ((i = 0; i < 500; i++)); do
		alive
		tasks=$(ls "/proc/$P/task" 2>/dev/null | sort -n | tr '\n' ' ') || true
		extra=$(for t in $tasks; do case " $TIDS" in *" $t "*) ;; *) echo "$t:$(cat "/proc/$P/task/$t/comm" 2>/dev/null)" ;; esac; done | tr '\n' ' ') || true
		case "$extra" in "" | *:fntrace-agent" ") [ "$(echo $extra | wc -w)" -le 1 ] && break ;; esac
		sleep 0.02
	done
	alive
	for t in $TIDS; do [ -d "/proc/$P/task/$t" ] || fail "$case: thread $t of the target is gone"; done
	case "$extra" in
	"") grep -q libfntrace "/proc/$P/maps" && fail "$case: libfntrace mapped, but no agent thread"
	    OUTCOME=without-runtime ;;
	*:fntrace-agent" ") [ "$(echo $extra | wc -w)" = 1 ] || fail "$case: threads added: $extra"
	    OUTCOME=dormant ;;
	*)  fail "$case: threads added and still there after 10 s: $extra" ;;
	esac
}
# state: what 'ctl -p' says (after a kill of record -p, the agent may
# need a moment to see that its recorder is gone: 10 s at most).
wait_dormant() {
	for ((i = 0; i < 500; i++)); do
		"$FNTRACE" ctl -p "$P" >"$W/ctl.out" 2>"$W/ctl.err" &&
			grep -qE '^state +dormant$' "$W/ctl.out" && return 0
		sleep 0.02
	done
	cat "$W/ctl.out" "$W/ctl.err"
	fail "$case: the runtime is mapped, but ctl -p does not say dormant within 10 s"
}
# after_fault: every check once the attach was cut short; sets OUTCOME,
# and RWX: how many rwx anonymous areas the process had at its end.
after_fault() {
	local rc=0 st
	settle
	alive
	expect_eq "$(masks)" "$MASKS" "$case: the signal masks of the target's threads"
	if [ "$OUTCOME" = dormant ]; then
		grep -q libfntrace "/proc/$P/maps" || fail "$case: an agent thread but no libfntrace"
		wait_dormant
		expect_eq "$(awk '$1 == "enabled" { print $2 }' "$W/ctl.out")" 0 "$case: enabled sites"
	fi
	progress
	# The second, full attach.
	# (-F work: the trace stays small; every thread calls work each round)
	timeout -k 2 60 "$FNTRACE" record -p "$P" -d 200ms -F work -o "$W/second.data" 2>"$W/second.err" || rc=$?
	[ $rc -eq 0 ] || { cat "$W/second.err"; fail "$case: the second attach (record -p): status $rc"; }
	"$FNTRACE" report -i "$W/second.data" >"$W/second.report"
	st=$(calls_of "$W/second.report" work)
	[ "$st" -gt 0 ] || fail "$case: the second attach recorded no call of work"
	expect_eq "$(info_field "$W/second.data" threads)" 3 "$case: threads recorded by the second attach"
	expect_eq "$(masks)" "$MASKS" "$case: the signal masks after the second attach"
	progress
	finish
}
# finish: SIGHUP; the target exits 0 within 15 s and said nothing.
finish() {
	RWX=$(awk '$2 ~ /^rwx/ && NF == 5' "/proc/$P/maps" | wc -l)
	hup_and_reap 15
	# The runtime's word when the record -p it served was killed.
	grep -v '^fntrace: recording stopped: the fntrace process recording it is gone' "$W/t.err" >"$W/t.err2" || true
	[ -s "$W/t.err2" ] && { cat "$W/t.err"; fail "$case: the target wrote to stderr"; }
	expect_grep '^rounds [1-9][0-9]*$' "$W/t.out" "$case: the target's last line"
	return 0
}

FAILS=0
# isolated NAME FUNCTION: FUNCTION in a subshell; a failure is counted and
# shown, and the next round goes on.
isolated() {
	local rc
	case=$1
	set +e
	(
		set -e
		trap cleanup EXIT
		"$2"
	) >"$W/case.log" 2>&1
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		FAILS=$((FAILS + 1))
		echo "-- $1: FAILED:" >&2
		sed 's/^/     | /' "$W/case.log" >&2
	else
		sed 's/^/   /' "$W/case.log"
	fi
	return 0
}

# --- how long an attach takes here --------------------------------------
case=calibration
times=()
for r in 1 2 3; do
	start -z
	t0=$(now_ms)
	"$FNTRACE" ctl -p "$P" >/dev/null || fail "calibration: ctl -p: status $?"
	times+=($(($(now_ms) - t0)))
	kill -KILL "$P"; wait "$P" 2>/dev/null || true
done
AT=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
SPAN=$((AT * 12 / 10))
[ $SPAN -ge 30 ] || SPAN=30
[ $SPAN -le 300 ] || SPAN=300
note "an attach takes ${times[*]} ms here: fntrace is killed 0 to $SPAN ms after its start"

# --- 1. fntrace SIGKILLed at a random moment -----------------------------
: >"$W/outcomes"
one_round() {
	local cmd rc=0 d=$D_US
	start -z
	if [ $((r % 2)) = 0 ]; then
		cmd=(record -p "$P" -d 200ms -o "$W/killed.data")
	else
		cmd=(ctl -p "$P")
	fi
	"$FNTRACE" "${cmd[@]}" >/dev/null 2>"$W/killed.err" &
	FP=$!
	nap_us $d
	kill -KILL "$FP" 2>/dev/null || true
	wait "$FP" 2>/dev/null || rc=$?
	FP=
	case $rc in
	137) ;;
	0) ;;	# done before the kill
	*) cat "$W/killed.err"; fail "$case: fntrace ${cmd[0]} ended with $rc before it was killed" ;;
	esac
	after_fault
	echo "$case: ${cmd[0]} killed after $((d / 1000)).$(printf '%03d' $((d % 1000))) ms$([ $rc = 0 ] && echo ' (it had finished)'):" \
		"$OUTCOME, $RWX rwx areas"
	echo "$OUTCOME $RWX $rc $d" >>"$W/outcomes"
}
# pick_delay: odd rounds anywhere in the span; even rounds near the moment
# the injection happens, as the rounds so far place it: between the latest
# kill that left no runtime and the earliest that left it dormant (2 ms on
# either side).
pick_delay() {
	local lo hi c
	D_US=$(((RANDOM * 32768 + RANDOM) % (SPAN * 1000)))
	[ $((r % 2)) = 0 ] || return 0
	lo=$(awk '$1 == "without-runtime" && $3 == 137 && $4 > m { m = $4 } END { print m + 0 }' "$W/outcomes")
	hi=$(awk '$1 == "dormant" && $3 == 137 && (m == "" || $4 < m) { m = $4 } END { print m + 0 }' "$W/outcomes")
	[ "$hi" -gt 0 ] || return 0
	c=$(((lo + hi) / 2))
	D_US=$((c - 2000 + (RANDOM * 32768 + RANDOM) % 4000))
	[ $D_US -ge 0 ] || D_US=0
}
SECONDS=0
for ((r = 1; r <= ROUNDS; r++)); do
	pick_delay
	isolated "round $r" one_round
	[ $((r % 25)) = 0 ] && note "$r rounds (${SECONDS} s, $FAILS failed)"
done
nr=$(awk '$1 == "without-runtime"' "$W/outcomes" | wc -l)
nd=$(awk '$1 == "dormant"' "$W/outcomes" | wc -l)
nf=$(awk '$2 != 0' "$W/outcomes" | wc -l)
nfin=$(awk '$3 == 0' "$W/outcomes" | wc -l)
note "random kills: $ROUNDS rounds: $nr without runtime, $nd dormant ($nfin of them had finished before the kill)," \
	"$nf left an unused rwx area; $FAILS failed (${SECONDS} s)"

# --- 2. fntrace SIGKILLed at chosen steps, by gdb -------------------------
# point NAME TARGET-ARGS BREAK [CONTINUES]: gdb stops fntrace ctl -p at
# BREAK (after CONTINUES more hits) and kills it.
point() {
	local name=$1 args=$2 bp=$3 cont=${4:-0} ex=()
	case="killed $name"
	ex=(-ex "break $bp" -ex run)
	for ((c = 0; c < cont; c++)); do ex+=(-ex continue); done
	ex+=(-ex kill)
	start $args
	timeout -k 5 120 gdb -q -batch -nx -ex 'set confirm off' -ex 'set pagination off' -ex 'set breakpoint pending on' "${ex[@]}" \
		--args "$FNTRACE" ctl -p "$P" >"$W/gdb.log" 2>&1 || true
	if [ "$bp" = usleep ] && ! grep -q '^Breakpoint 1,' "$W/gdb.log" &&
		grep -q 'exited normally' "$W/gdb.log"; then
		echo "$case: not reached (the runtime was up before fntrace waited)"
	else
		[ "$(grep -c '^Breakpoint 1,' "$W/gdb.log")" -eq $((cont + 1)) ] ||
			{ cat "$W/gdb.log"; fail "$case: gdb did not stop fntrace there"; }
		grep -q '^\[Inferior 1 (process [0-9]*) killed\]' "$W/gdb.log" ||
			{ cat "$W/gdb.log"; fail "$case: gdb did not kill fntrace"; }
	fi
	after_fault
	echo "$case: $OUTCOME, $RWX rwx areas"
}
if command -v gdb >/dev/null; then
	SECONDS=0
	F0=$FAILS
	SYS='ptrace if $rdi == 24'	# PTRACE_SYSCALL
	# ASan's interceptor is a second location of "ptrace" (each call would
	# count twice): stop at the interceptor alone.
	[ -n "${SAN:-}" ] && SYS='__interceptor_ptrace if $rdi == 24'
	pt_begin() { point "before the mmap (the thread stopped, its own registers)" -Z fnt__hijack_syscall; }
	pt_mmap() { point "at the mmap's entry, in nanosleep (the frame its way back)" -Z "$SYS"; }
	pt_clone() { point "at the clone's entry, in nanosleep (the frame its way back)" -Z "$SYS" 2; }
	pt_mmap_c() { point "at the mmap's entry, computing (the frame its way back)" "" "$SYS"; }
	pt_clone_c() { point "at the clone's entry, computing (the frame its way back)" "" "$SYS" 2; }
	pt_end() { point "after the clone, before the thread is let go" -Z fnt__hijack_end; }
	pt_wait() { point "waiting for the runtime" -Z usleep; }
	isolated "killed before the mmap" pt_begin
	isolated "killed at the mmap, in nanosleep" pt_mmap
	isolated "killed at the clone, in nanosleep" pt_clone
	isolated "killed at the mmap, computing" pt_mmap_c
	isolated "killed at the clone, computing" pt_clone_c
	isolated "killed after the clone" pt_end
	isolated "killed while waiting" pt_wait
	note "chosen steps: $((FAILS - F0)) of 7 failed (${SECONDS} s)"
else
	note "no gdb: the chosen steps are skipped"
fi

# --- 3. the target SIGKILLed during the attach ----------------------------
: >"$W/kmsgs"
target_killed() {
	local cmd rc=0 d=$D_US t0 ms
	start -z
	if [ $((r % 2)) = 0 ]; then
		cmd=(record -p "$P" -d 1s -o "$W/tk.data")
	else
		cmd=(ctl -p "$P")
	fi
	t0=$(now_ms)
	timeout -k 5 30 "$FNTRACE" "${cmd[@]}" >/dev/null 2>"$W/tk.err" &
	FP=$!
	nap_us $d
	kill -KILL "$P"
	wait "$P" 2>/dev/null || true
	P=
	wait "$FP" || rc=$?
	FP=
	ms=$(($(now_ms) - t0))
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$case: fntrace ${cmd[0]} hung (killed after 30 s)"
	[ $rc -lt 128 ] || { cat "$W/tk.err"; fail "$case: fntrace ${cmd[0]} ended by signal $((rc - 128))"; }
	if [ $rc -ne 0 ]; then
		expect_eq "$rc" 1 "$case: fntrace ${cmd[0]}'s status"
		[ "$(wc -l <"$W/tk.err")" -ge 1 ] || fail "$case: fntrace ${cmd[0]} failed and said nothing"
		[ "$(wc -l <"$W/tk.err")" -le 2 ] || { cat "$W/tk.err"; fail "$case: fntrace ${cmd[0]}: more than 2 lines"; }
		grep -qv '^fntrace: ' "$W/tk.err" && { cat "$W/tk.err"; fail "$case: a line not from fntrace"; }
		# Not a refusal for a reason the process never had.
		grep -E 'statically linked|no patch sites|not at the same path|not permitted|blocks SIGTRAP|already traced|belongs to uid' "$W/tk.err" &&
			fail "$case: fntrace gave a wrong reason for the end of the process"
	fi
	echo "$case: target killed after $((d / 1000)) ms: ${cmd[0]} status $rc in $ms ms: $(head -1 "$W/tk.err")"
	sed "s/[0-9][0-9]*/N/g" "$W/tk.err" >>"$W/kmsgs"
}
SECONDS=0
F0=$FAILS
for ((r = 1; r <= KROUNDS; r++)); do
	pick_delay
	isolated "target killed, round $r" target_killed
done
note "target killed: $KROUNDS rounds, $((FAILS - F0)) failed (${SECONDS} s); what fntrace said:"
sort "$W/kmsgs" | uniq -c | sed 's/^/     /'

[ $FAILS -eq 0 ] || fail "$FAILS rounds failed (above)"
echo "attach_faults: ok"
