#!/usr/bin/env bash
# attach_counts.sh - exact call counts through an attach (issue 12), in
# each form that can be patched while the program runs: clang's
# -fpatchable-function-entry=5 as PIE and non-PIE, and gcc's
# -pg -mfentry -mrecord-mcount -mnop-mcount (non-PIE: gcc has no PIE form
# of it).  tests/progs/live_counts.c is started without fntrace; 'record
# -p' loads the runtime, records while the program makes its calls, and
# detaches: every count is exactly what the program made, nothing is lost,
# and afterwards the program's code in memory is byte for byte its file's
# (every site a NOP again, no int3 left).  A second 'ctl -p' reuses the
# runtime (no second load).  The program exits 0.
#
# gcc's -fpatchable-function-entry (five 1-byte NOPs, rewritten only
# before the program runs) is refused before anything is changed.
source "$(dirname "$0")/rec_common.bash"

src=$PROGS/live_counts.c
clang -O1 -g -fpatchable-function-entry=5 -o "$W/clang-pie" "$src" -lpthread
clang -O1 -g -fno-pie -no-pie -fpatchable-function-entry=5 -o "$W/clang-nopie" "$src" -lpthread
gcc -O1 -g -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie -c -o "$W/gcc-nop.o" "$src"
gcc -no-pie -o "$W/gcc-nop" "$W/gcc-nop.o" -lpthread
# The same with exit sites: enabled live, and gone again after the detach.
gcc -O1 -g -pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 -mrecord-return \
	-fno-pie -c -o "$W/gcc-exit.o" "$src"
gcc -no-pie -o "$W/gcc-exit" "$W/gcc-exit.o" -lpthread
gcc -O1 -g -fpatchable-function-entry=5 -o "$W/gcc-pfe" "$src" -lpthread

cat >"$W/text.py" <<'PY'
# text.py EXE PID: is every executable byte of EXE in PID's memory the file's?
import os, struct, sys
exe, pid = sys.argv[1], int(sys.argv[2])
data = open(exe, 'rb').read()
e_type, = struct.unpack_from('<H', data, 16)
phoff, = struct.unpack_from('<Q', data, 32)
phentsize, phnum = struct.unpack_from('<HH', data, 54)
loads = []
for i in range(phnum):
    p = struct.unpack_from('<IIQQQQQQ', data, phoff + i * phentsize)
    if p[0] == 1:
        loads.append(p)
bias = 0
if e_type == 3:
    real = os.path.realpath(exe)
    first = min(p[3] for p in loads)
    for line in open('/proc/%d/maps' % pid):
        f = line.split()
        if len(f) >= 6 and f[5] == real and int(f[2], 16) == 0:
            bias = int(f[0].split('-')[0], 16) - (first & ~0xfff)
            break
mem = open('/proc/%d/mem' % pid, 'rb', 0)
bad = 0
for p in loads:
    if not (p[1] & 1):
        continue
    mem.seek(bias + p[3])
    got = mem.read(p[6])
    want = data[p[2]:p[2] + p[6]]
    bad += sum(1 for a, b in zip(got, want) if a != b)
print(bad)
PY

PID= RP=
cleanup() {
	[ -n "$RP" ] && kill -KILL "$RP" 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	return 0
}
trap cleanup EXIT
n=0
launch() {
	n=$((n + 1))
	IN=$W/in.$n OUT=$W/out.$n
	mkfifo "$IN" "$OUT"
	exec 3<>"$IN" 4<>"$OUT"
	"$1" counts "$IN" "$OUT" 2>"$W/prog.err" &
	PID=$!
	expect_eq "$(hear)" ready "$case: the program started"
}
hear() {
	local line
	read -r -t 20 line <&4 || fail "$case: the program said nothing for 20 s"
	echo "$line"
}
ctl_state() { "$FNTRACE" ctl -p "$1" 2>/dev/null | awk '$1 == "state" { print $2 }'; }
wait_state() {
	for i in $(seq 500); do
		[ "$(ctl_state "$1")" = "$2" ] && return 0
		kill -0 "$RP" 2>/dev/null || { cat "$W/rec.err"; fail "$case: record -p ended"; }
		sleep 0.02
	done
	fail "$case: process $1 is not '$2' after 10 s"
}
record_round() {
	"$FNTRACE" record -p "$PID" "$@" -o "$W/t.data" 2>"$W/rec.err" &
	RP=$!
	wait_state "$PID" recording
	echo go >&3
	expect_eq "$(hear)" done "$case: the calls were made"
	kill -INT "$RP"
	wait "$RP" || { cat "$W/rec.err"; fail "$case: record -p failed"; }
	RP=
	"$FNTRACE" report -i "$W/t.data" >"$W/report"
	expect_eq "$(info_field "$W/t.data" 'lost events')" 0 "$case: lost events"
	for fc in "f_a 1000" "f_b 2500" "f_leaf 2500" "f_rec 77" "t_fn 300"; do
		set -- $fc
		expect_eq "$(calls_of "$W/report" "$1")" "$2" "$case: calls of $1"
	done
}

for form in clang-pie clang-nopie gcc-nop gcc-exit; do
	for tracer in function_graph function; do
		case="$form $tracer"
		note "$case"
		launch "$W/$form"
		grep -q libfntrace /proc/$PID/maps && fail "$case: the runtime is there before"
		record_round --tracer $tracer
		st=$("$FNTRACE" ctl -p "$PID")
		grep -qE '^state +dormant$' <<<"$st" || { echo "$st"; fail "$case: not dormant"; }
		grep -qE '^enabled +0$' <<<"$st" || { echo "$st"; fail "$case: sites enabled"; }
		expect_eq "$(python3 "$W/text.py" "$W/$form" "$PID")" 0 \
			"$case: bytes of the program's code that differ from its file after the detach"
		# Again: the runtime is reused, not loaded a second time.
		maps=$(grep -c libfntrace /proc/$PID/maps)
		[ "$maps" -gt 0 ] || fail "$case: no runtime was mapped"
		"$FNTRACE" ctl -p "$PID" >/dev/null || fail "$case: a second ctl -p"
		expect_eq "$(grep -c libfntrace /proc/$PID/maps)" "$maps" "$case: runtime mappings"
		echo quit >&3
		wait "$PID" || fail "$case: the program failed"
		PID=
		exec 3>&- 4<&-
	done
done

case="gcc -fpatchable-function-entry"
note "$case: refused"
launch "$W/gcc-pfe"
rc=0
"$FNTRACE" ctl -p "$PID" >"$W/ctl.out" 2>"$W/ctl.err" || rc=$?
cat "$W/ctl.err"
[ $rc -ne 0 ] || fail "$case: the attach was not refused"
expect_grep "five 1-byte NOPs" "$W/ctl.err" "$case: the message"
grep -q libfntrace /proc/$PID/maps && fail "$case: the runtime was loaded"
echo go >&3
expect_eq "$(hear)" done "$case: the calls were made"
echo quit >&3
wait "$PID" || fail "$case: the program failed"
PID=
echo "attach_counts: ok"
