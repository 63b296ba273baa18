#!/usr/bin/env bash
# attach_refuse.sh - 'fntrace ctl -p PID' and 'record -p PID' of a process
# started without fntrace (tests/progs/attach_target.c) refuse to attach
# when the attach cannot be done safely, with one line that says why, and
# change nothing in the process: its mappings (no libfntrace, no new
# anonymous or rwx mapping: /proc/PID/maps is the same, line for line), its
# threads (the same tids and names), every thread's blocked, ignored and
# caught signals, its run state; it goes on making progress and its own
# checks (traced calls' results, a register-heavy loop) all pass, and it
# exits 0 when told to.  record -p creates no file.  Refused:
#   - a thread blocks SIGTRAP (the line names its tid and name);
#   - the process is traced already: strace -f, then gdb holding it (the
#     line names the tracer's pid and name);
#   - the program has no patch sites (a plain gcc -O2 build);
#   - its only sites are gcc -fpatchable-function-entry's 1-byte NOPs, which
#     the runtime cannot rewrite while threads run them (so it would refuse
#     them all once loaded, on the target's stderr);
#   - a statically linked program (built with patch sites);
#   - a process stopped by job control (SIGSTOP): it stays stopped;
#   - fntrace run as nobody on root's process: the line says to attach as
#     that user or as root.  (nobody attaching to nobody's process works.)
# Accepted: a process whose every thread blocks SIGINT, SIGTERM, SIGUSR1
# and SIGALRM (not SIGTRAP): record -p attaches, the counts are exact, the
# masks are as they were (clang and gcc -pg -mnop-mcount builds).
#
# Each case runs in a subshell: all run, and the failed ones are listed.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

SRC=$PROGS/attach_target.c
clang -O2 -g -fpatchable-function-entry=5 -o "$W/target" "$SRC" -lpthread
gcc -O2 -g -o "$W/plain" "$SRC" -lpthread
gcc -O2 -g -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie -c -o "$W/target-gcc.o" "$SRC"
gcc -no-pie -o "$W/target-gcc" "$W/target-gcc.o" -lpthread
gcc -O2 -g -fpatchable-function-entry=5 -o "$W/target-pfe" "$SRC" -lpthread
HAVE_STATIC=1
clang -O2 -g -static -fpatchable-function-entry=5 -o "$W/static" "$SRC" -lpthread 2>"$W/static.log" ||
	HAVE_STATIC=0

KILL_AT_EXIT=
cleanup() {
	set +e
	for p in $KILL_AT_EXIT; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT

# start NAME PROG ARGS...: PROG ARGS -p $W/NAME.prog in the background,
# output in $W/NAME.out and .err; waits for "ready" (20 s at most); sets P.
start() {
	local name=$1 prog=$2; shift 2
	"$prog" "$@" -p "$W/$name.prog" >"$W/$name.out" 2>"$W/$name.err" &
	P=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $P"
	for ((i = 0; i < 1000; i++)); do
		grep -q '^ready$' "$W/$name.out" 2>/dev/null && return 0
		kill -0 "$P" 2>/dev/null || { cat "$W/$name.err"; fail "$name: the target ended at start"; }
		sleep 0.02
	done
	fail "$name: the target did not start in 20 s"
}
# tid_of NAME THREAD: the tid the target printed for THREAD.
tid_of() { awk -v t="$2" '$1 == "thread" && $2 == t { print $3 }' "$W/$1.out"; }
# counters FILE N: the first N progress counters.
counters() { od -An -v -tu8 -w8 -N $((8 * $2)) "$1" | tr -s ' \n' ' '; }
# wait_progress NAME PID N: every one of the N threads makes progress
# (10 s at most).
wait_progress() {
	local a b ok k
	read -ra a <<<"$(counters "$W/$1.prog" "$3")"
	for ((i = 0; i < 500; i++)); do
		kill -0 "$2" 2>/dev/null || { cat "$W/$1.err"; fail "$1: the target died"; }
		read -ra b <<<"$(counters "$W/$1.prog" "$3")"
		ok=1
		for ((k = 0; k < $3; k++)); do [ "${b[k]}" -gt "${a[k]}" ] || ok=0; done
		[ $ok = 1 ] && { note "$1: every thread goes on (${a[*]} -> ${b[*]})"; return 0; }
		sleep 0.02
	done
	fail "$1: not every thread made progress in 10 s (${a[*]} -> ${b[*]})"
}
# snap PID: what must not change: the mappings, and per thread its tid,
# name and signal masks.
snap() {
	cat "/proc/$1/maps"
	for t in /proc/"$1"/task/*; do
		echo "task ${t##*/} $(cat "$t/comm") $(awk '/^Sig(Blk|Ign|Cgt):/ { printf "%s%s ", $1, $2 }' "$t/status")"
	done
}
# unchanged PID BEFORE WHAT: the process is as BEFORE (a snap).
unchanged() {
	local now
	now=$(snap "$1")
	if [ "$now" != "$2" ]; then
		diff <(echo "$2") <(echo "$now") >&2 || true
		fail "$3: the process changed (above: before, after)"
	fi
	grep -q libfntrace "/proc/$1/maps" && fail "$3: libfntrace is mapped"
	note "$3: unchanged: $(wc -l <"/proc/$1/maps") mappings" \
		"($(awk 'NF == 5' "/proc/$1/maps" | wc -l) anonymous, $(awk '$2 ~ /rwx/' "/proc/$1/maps" | wc -l) rwx)," \
		"$(ls "/proc/$1/task" | wc -l) threads, no libfntrace"
}
# run_state PID: the state letters of its threads, sorted and unique.
run_state() { for t in /proc/"$1"/task/*; do awk '{ print $3 }' "$t/stat" 2>/dev/null || true; done | sort -u | tr -d '\n'; }
# not_stopped PID WHAT
not_stopped() {
	local s
	s=$(run_state "$1")
	case "$s" in *[tTZX]*) fail "$2: a thread is in state $s" ;; esac
}
# tracers PID: the TracerPid of every thread, sorted and unique.
tracers() { awk '/^TracerPid:/ { print $2 }' /proc/"$1"/task/*/status | sort -u | tr '\n' ' '; }
# finish NAME PID: SIGHUP; the target exits 0, having said nothing wrong.
finish() {
	local rc=0
	kill -HUP "$2"
	ended=0
	for ((i = 0; i < 500; i++)); do
		if ! kill -0 "$2" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$2/stat" 2>/dev/null)" = Z ]; then
			ended=1
			break
		fi
		sleep 0.02
	done
	[ $ended = 1 ] || fail "$1: the target did not end in 10 s after SIGHUP"
	wait "$2" || rc=$?
	[ $rc -eq 0 ] || { cat "$W/$1.err"; fail "$1: the target exited with $rc"; }
	[ -s "$W/$1.err" ] && { cat "$W/$1.err"; fail "$1: the target wrote to stderr"; }
	expect_grep '^rounds [1-9][0-9]*$' "$W/$1.out" "$1: the target's last line"
}
# refused WHAT PATTERN CMD...: CMD exits non-zero, prints nothing on
# stdout and one line "fntrace: ..." matching PATTERN on stderr.
refused() {
	local what=$1 pat=$2 rc=0; shift 2
	timeout -k 5 60 "$@" >"$W/r.out" 2>"$W/r.err" || rc=$?
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$what: no answer in 60 s"
	[ $rc -ne 0 ] || fail "$what: status 0"
	[ -s "$W/r.out" ] && { cat "$W/r.out"; fail "$what: wrote to stdout"; }
	expect_eq "$(wc -l <"$W/r.err")" 1 "$what: lines on stderr ($(tr '\n' '|' <"$W/r.err"))"
	expect_grep "^fntrace: .*$pat" "$W/r.err" "$what"
	note "$what: $(cat "$W/r.err")"
}
# refused_both WHAT PATTERN PID [PREFIX...]: ctl -p and record -p are refused
# (run through PREFIX, e.g. as another user, with OUTDIR for the trace).
OUTDIR=$W
refused_both() {
	local what=$1 pat=$2 pid=$3; shift 3
	rm -f "$OUTDIR/none.data"
	refused "$what: ctl -p" "$pat" "$@" "$FNT" ctl -p "$pid"
	refused "$what: record -p" "$pat" "$@" "$FNT" record -p "$pid" -d 300ms -o "$OUTDIR/none.data"
	[ -e "$OUTDIR/none.data" ] && fail "$what: the refused record -p created its file"
	ls "$OUTDIR" | grep -q 'none\.data' && fail "$what: the refused record -p left a file"
	return 0
}
FNT=$FNTRACE

FAILED=()
# run_case NAME FUNCTION: the case in a subshell of its own.
run_case() {
	local rc
	note "=== $1"
	set +e
	(
		set -e
		KILL_AT_EXIT=
		trap cleanup EXIT
		"$2"
	)
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		echo "-- $1: FAILED" >&2
		FAILED+=("$1")
	fi
	return 0
}

case_sigtrap() {
	local before tid
	start trap "$W/target" -t 3 -T
	tid=$(tid_of trap trapblocker)
	[ -n "$tid" ] || fail "no trapblocker thread"
	before=$(snap "$P")
	refused_both "SIGTRAP blocked" "thread $tid \\(trapblocker\\) .*blocks SIGTRAP" "$P"
	unchanged "$P" "$before" "SIGTRAP blocked"
	wait_progress trap "$P" 4
	finish trap "$P"
}

case_strace() {
	local before s
	command -v strace >/dev/null || { note "no strace: skipped"; return 0; }
	start strace "$W/target" -t 2
	before=$(snap "$P")
	strace -f -o /dev/null -p "$P" 2>"$W/strace-itself.log" &
	s=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $s"
	for ((i = 0; i < 500; i++)); do [ "$(tracers "$P")" = "$s " ] && break; sleep 0.02; done
	expect_eq "$(tracers "$P")" "$s " "the tracer of every thread"
	refused_both "traced by strace" "process $P is already traced by process $s \\(strace\\)" "$P"
	kill -TERM "$s"
	wait "$s" || true
	for ((i = 0; i < 500; i++)); do [ "$(tracers "$P")" = "0 " ] && break; sleep 0.02; done
	expect_eq "$(tracers "$P")" "0 " "the tracers once strace ended"
	unchanged "$P" "$before" "traced by strace"
	not_stopped "$P" "after strace"
	wait_progress strace "$P" 3
	finish strace "$P"
}

case_gdb() {
	local before g
	command -v gdb >/dev/null || { note "no gdb: skipped"; return 0; }
	start gdb "$W/target" -t 2
	before=$(snap "$P")
	rm -f "$W/gdb.release"
	gdb -q -batch -nx -p "$P" \
		-ex "shell while [ ! -e '$W/gdb.release' ]; do sleep 0.05; done" >"$W/gdb.log" 2>&1 &
	g=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $g"
	for ((i = 0; i < 1500; i++)); do [ "$(tracers "$P")" = "$g " ] && break; sleep 0.02; done
	expect_eq "$(tracers "$P")" "$g " "gdb holds every thread"
	refused_both "held by gdb" "process $P is already traced by process $g \\(gdb\\)" "$P"
	touch "$W/gdb.release"
	for ((i = 0; i < 1500; i++)); do kill -0 "$g" 2>/dev/null || break; sleep 0.02; done
	kill -0 "$g" 2>/dev/null && fail "gdb did not end in 30 s"
	wait "$g" || true
	expect_eq "$(tracers "$P")" "0 " "the tracers once gdb ended"
	unchanged "$P" "$before" "held by gdb"
	not_stopped "$P" "after gdb"
	wait_progress gdb "$P" 3
	finish gdb "$P"
}

case_nosites() {
	local before
	start plain "$W/plain" -t 2
	before=$(snap "$P")
	refused_both "no patch sites" "process $P has no patch sites" "$P"
	unchanged "$P" "$before" "no patch sites"
	wait_progress plain "$P" 3
	finish plain "$P"
}

# gcc -fpatchable-function-entry=5 makes five 1-byte NOPs, which the
# runtime rewrites only before the object runs: in a running process it
# refuses every one of them (on the target's stderr), so an attach would
# load the runtime for nothing.  Refused before anything is changed.
case_pfe() {
	local before
	start pfe "$W/target-pfe" -t 2
	before=$(snap "$P")
	refused_both "gcc 1-byte NOP sites only" "process $P .*(NOP|rewrit|patch sites)" "$P"
	unchanged "$P" "$before" "gcc 1-byte NOP sites only"
	wait_progress pfe "$P" 3
	finish pfe "$P"
}

case_static() {
	local before
	if [ $HAVE_STATIC = 0 ]; then
		cat "$W/static.log"
		note "clang -static cannot link here (no libc.a?): skipped"
		return 0
	fi
	start static "$W/static" -t 2
	before=$(snap "$P")
	refused_both "statically linked" "process $P runs a statically linked program" "$P"
	unchanged "$P" "$before" "statically linked"
	wait_progress static "$P" 3
	finish static "$P"
}

case_stopped() {
	local before
	start stopped "$W/target" -t 2 -B
	kill -STOP "$P"
	for ((i = 0; i < 500; i++)); do [ "$(run_state "$P")" = T ] && break; sleep 0.02; done
	expect_eq "$(run_state "$P")" T "the threads' state after SIGSTOP"
	before=$(snap "$P")
	refused_both "stopped by SIGSTOP" "process $P is stopped \\(job control\\)" "$P"
	unchanged "$P" "$before" "stopped by SIGSTOP"
	expect_eq "$(run_state "$P")" T "the threads' state after the refusals (still stopped)"
	expect_eq "$(tracers "$P")" "0 " "the tracers after the refusals"
	kill -CONT "$P"
	wait_progress stopped "$P" 3
	unchanged "$P" "$before" "stopped by SIGSTOP, then continued"
	finish stopped "$P"
}

case_nobody() {
	local before
	D=$(mktemp -d /tmp/fntrace-attach_refuse.XXXXXX)
	chmod 755 "$D"
	trap 'cleanup; rm -rf "$D"' EXIT
	cp "$BUILD/fntrace" "$BUILD/libfntrace.so" "$W/target" "$D/"
	chmod 755 "$D"/*
	mkdir "$D/nb"
	chown 65534:65534 "$D/nb"
	nb=(env -C "$D" setpriv --reuid=65534 --regid=65534 --clear-groups -- env FNTRACE_LIB="$D/libfntrace.so")
	FNT=$D/fntrace OUTDIR=$D/nb
	start root "$W/target" -t 2
	before=$(snap "$P")
	refused_both "nobody attaching to root's process" "process $P belongs to uid 0.*as that user.*root" \
		"$P" "${nb[@]}"
	unchanged "$P" "$before" "nobody attaching to root's process"
	wait_progress root "$P" 3
	finish root "$P"
	# As the line says: nobody attaches to nobody's process.
	"${nb[@]}" "$D/target" -t 2 -p "$D/nb/own.prog" >"$W/own.out" 2>"$W/own.err" &
	P=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $P"
	for ((i = 0; i < 1000; i++)); do grep -q '^ready$' "$W/own.out" && break; sleep 0.02; done
	expect_grep '^ready$' "$W/own.out" "nobody's target started"
	"${nb[@]}" "$D/fntrace" ctl -p "$P" >"$W/own.ctl" 2>&1 || { cat "$W/own.ctl"; fail "nobody: ctl -p of its own process"; }
	expect_grep '^state +dormant$' "$W/own.ctl" "nobody: ctl -p of its own process"
	"${nb[@]}" "$D/fntrace" record -p "$P" -d 300ms -o "$D/nb/own.data" 2>"$W/own.rec" ||
		{ cat "$W/own.rec"; fail "nobody: record -p of its own process"; }
	"$FNTRACE" report -i "$D/nb/own.data" >"$W/own.report"
	[ "$(calls_of "$W/own.report" work)" -gt 0 ] || fail "nobody: no call of work recorded"
	note "nobody attached to its own process: $(calls_of "$W/own.report" step) calls of step recorded"
	kill -HUP "$P"
	wait "$P" || fail "nobody's target: status $?"
	[ -s "$W/own.err" ] && { cat "$W/own.err"; fail "nobody's target wrote to stderr"; }
	return 0
}

# counts FORM PROG: every thread blocks SIGINT, SIGTERM, SIGUSR1, SIGALRM.
counts() {
	local form=$1 prog=$2 rp rc=0 masks want k in=$W/in.$1 out=$W/out.$1 line
	mkfifo "$in" "$out"
	exec 3<>"$in" 4<>"$out"
	"$prog" -t 2 -B -f "$in" "$out" >"$W/blocked-$form.out" 2>"$W/blocked-$form.err" &
	P=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $P"
	read -r -t 20 line <&4 || fail "$form: the target said nothing for 20 s"
	expect_eq "$line" ready "$form: the target started"
	masks=$(awk '/^SigBlk:/ { print $2 }' /proc/"$P"/task/*/status | sort -u | tr '\n' ' ')
	expect_eq "$masks" "0000000000006202 " "$form: the masks of the target's threads"
	"$FNTRACE" record -p "$P" -o "$W/blocked-$form.data" 2>"$W/blocked-$form.rec" &
	rp=$!
	KILL_AT_EXIT="$KILL_AT_EXIT $rp"
	# ctl -p only once the runtime is in: ctl -p would attach too, and two
	# attaches at once fail all but one.
	for ((i = 0; i < 1000; i++)); do
		grep -q libfntrace "/proc/$P/maps" &&
			[ "$("$FNTRACE" ctl -p "$P" 2>/dev/null | awk '$1 == "state" { print $2 }')" = recording ] && break
		kill -0 "$rp" 2>/dev/null || { cat "$W/blocked-$form.rec"; fail "$form: record -p ended"; }
		sleep 0.02
	done
	echo go >&3
	read -r -t 20 line <&4 || fail "$form: the target said nothing for 20 s after go"
	expect_eq "$line" done "$form: the calls were made"
	kill -INT "$rp"
	wait "$rp" || rc=$?
	[ $rc -eq 0 ] || { cat "$W/blocked-$form.rec"; fail "$form: record -p exited with $rc"; }
	"$FNTRACE" report -i "$W/blocked-$form.data" >"$W/blocked-$form.report"
	for want in "c_main 1000" "c_leaf 1000" "c_work 1400"; do
		expect_eq "$(calls_of "$W/blocked-$form.report" "${want% *}")" "${want#* }" "$form: calls of ${want% *}"
	done
	expect_eq "$(info_field "$W/blocked-$form.data" 'lost events')" 0 "$form: lost events"
	"$FNTRACE" ctl -p "$P" >"$W/blocked-$form.ctl"
	expect_grep '^state +dormant$' "$W/blocked-$form.ctl" "$form: dormant after the recording"
	for k in $(awk '$1 == "thread" { print $3 }' "$W/blocked-$form.out"); do
		[ -e "/proc/$P/task/$k" ] || continue	# the workers have ended
		expect_eq "$(awk '/^SigBlk:/ { print $2 }' "/proc/$P/task/$k/status")" 0000000000006202 \
			"$form: the mask of thread $k after the attach"
	done
	note "$form: attached with SIGINT, SIGTERM, SIGUSR1, SIGALRM blocked everywhere: c_main 1000, c_leaf 1000, c_work 1400"
	echo quit >&3
	rc=0
	wait "$P" || rc=$?
	expect_eq "$rc" 0 "$form: the target's status"
	[ -s "$W/blocked-$form.err" ] && { cat "$W/blocked-$form.err"; fail "$form: the target wrote to stderr"; }
	exec 3>&- 4<&-
}
case_blocked() {
	counts clang "$W/target"
	counts gcc-nop "$W/target-gcc"
}

SECONDS=0
run_case "a thread blocks SIGTRAP" case_sigtrap
run_case "traced by strace -f" case_strace
run_case "held by gdb" case_gdb
run_case "no patch sites" case_nosites
run_case "statically linked" case_static
run_case "only gcc's 1-byte NOP sites (running: not rewritable)" case_pfe
run_case "stopped by SIGSTOP" case_stopped
run_case "nobody attaching to root's process" case_nobody
run_case "many signals blocked, not SIGTRAP: attached" case_blocked
note "all cases in ${SECONDS} s"
[ ${#FAILED[@]} -eq 0 ] || fail "cases failed: $(printf '[%s] ' "${FAILED[@]}")"
echo "attach_refuse: ok"
