#!/usr/bin/env bash
# live_server.sh - recordings begun and ended from outside, over and over,
# while a server-like program works and waits (tests/progs/live_server.c):
# two workers calling traced functions in tight loops, a thread blocked in
# read() on a FIFO, one in nanosleep, one in FUTEX_WAIT, main in
# pthread_join.  The program is started dormant (fntrace run); LIVE_ROUNDS
# rounds (default 500: 65 s on an idle 2-core machine, 120 s with a load
# of 10) of 'record -p PID -d 20ms' (both tracers, lossless and overwrite,
# -F, -N, rings of 16 KB that fill at once), every tenth one a recording
# whose filters and tracer 'ctl -p PID' changes while it runs, ended by
# Ctrl-C or by 'ctl --stop'.  Checked:
#   - every round's trace has the workers' calls, and only the functions
#     its filters select; record -p says nothing (no event lost, even when
#     lossless writers wait for room as the recording begins and ends);
#   - between rounds, 'ctl -p' says dormant with 0 sites enabled, the
#     recording's buffers (/dev/shm/fntrace-*) are not mapped, and every
#     patch site's 5 bytes in /proc/PID/mem equal the ELF file's (sites
#     from __patchable_function_entries); while a recording runs, the
#     buffers are mapped and exactly 'enabled' sites differ from the file
#     (the checks do see a recording);
#   - afterwards: the process has its 6 threads and the agent, no more;
#     the workers' checksum equals an untraced run of the same program
#     doing the same number of iterations; no EINTR (read, nanosleep,
#     clock_nanosleep, futex), no short sleep, no spurious futex return;
#     exit status 0.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

ROUNDS=${LIVE_ROUNDS:-500}
SRV=$W/live_server
clang -O1 -g -fpatchable-function-entry=5 -o "$SRV" "$PROGS/live_server.c" -lpthread

# sites.py EXE PID: the patch sites of EXE (its __patchable_function_entries,
# relocated by the load bias in /proc/PID/maps) and the bytes the file has
# there (five 1-byte NOPs, gcc's, are expected as the 5-byte NOP they are
# converted to).  Then one answer line per request line: 'check' says "ok"
# or names every site whose 5 bytes in /proc/PID/mem differ; 'patched'
# prints how many differ.  A coprocess: no interpreter start-up per round.
cat >"$W/sites.py" <<'EOF'
import os, struct, sys
exe, pid = sys.argv[1], int(sys.argv[2])
data = open(exe, 'rb').read()
assert data[:4] == b'\x7fELF' and data[4] == 2, 'not an ELF64 file'
(e_type, _, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum, e_shentsize, e_shnum,
 e_shstrndx) = struct.unpack_from('<HHIQQQIHHHHHH', data, 16)
phdrs = [struct.unpack_from('<IIQQQQQQ', data, e_phoff + i * e_phentsize) for i in range(e_phnum)]
loads = [p for p in phdrs if p[0] == 1]
shdrs = [struct.unpack_from('<IIQQQQIIQQ', data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
strtab = shdrs[e_shstrndx]
def name(off):
    s = strtab[4] + off
    return data[s:data.index(b'\0', s)].decode()
# RELATIVE relocations: the addend is the address (PIE).
rel = {}
for sh in shdrs:
    if sh[1] == 4:  # SHT_RELA
        for k in range(sh[5] // 24):
            off, info, add = struct.unpack_from('<QQq', data, sh[4] + 24 * k)
            if info & 0xffffffff == 8:
                rel[off] = add
sites = []
for sh in shdrs:
    if name(sh[0]) == '__patchable_function_entries':
        for k in range(sh[5] // 8):
            va = sh[3] + 8 * k
            sites.append(rel.get(va, struct.unpack_from('<Q', data, sh[4] + 8 * k)[0]))
assert sites, 'no patch sites in ' + exe
bias = 0
if e_type == 3:
    real = os.path.realpath(exe)
    first = min(p[3] for p in loads if p[2] == 0)
    for line in open('/proc/%d/maps' % pid):
        f = line.split()
        if len(f) >= 6 and f[5] == real and int(f[2], 16) == 0:
            bias = int(f[0].split('-')[0], 16) - (first & ~0xfff)
            break
    else:
        sys.exit('%s is not mapped in process %d' % (exe, pid))
def file_bytes(va):
    for p in loads:
        if p[3] <= va < p[3] + p[5]:
            b = data[p[2] + va - p[3]:p[2] + va - p[3] + 5]
            return b'\x0f\x1f\x44\x00\x00' if b == b'\x90' * 5 else b
    sys.exit('site %#x is in no segment' % va)
want = [file_bytes(va) for va in sites]
for va, w in zip(sites, want):
    assert w[:3] == b'\x0f\x1f\x44', 'site %#x is not a NOP in the file: %s' % (va, w.hex())
mem = open('/proc/%d/mem' % pid, 'rb', 0)
print('%d sites' % len(sites), flush=True)
for req in sys.stdin:
    diff = []
    for va, w in zip(sites, want):
        mem.seek(bias + va)
        got = mem.read(5)
        if got != w:
            diff.append('site %#x at %#x: %s, file %s' % (va, bias + va, got.hex(), w.hex()))
    if req.strip() == 'patched':
        print(len(diff), flush=True)
    else:
        print('ok' if not diff else '%d of %d sites are not NOPs: %s' %
              (len(diff), len(sites), '; '.join(diff)), flush=True)
EOF

PID= RP= SITES_PID=
cleanup() {
	[ -n "$RP" ] && kill -KILL "$RP" 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	[ -n "$SITES_PID" ] && kill "$SITES_PID" 2>/dev/null
	return 0
}
trap cleanup EXIT

mkfifo "$W/stop.fifo"
"$FNTRACE" run "$SRV" "$W/stop.fifo" >"$W/out" 2>"$W/err" &
PID=$!
for i in $(seq 200); do grep -q '^ready$' "$W/out" && break; sleep 0.05; done
expect_grep '^ready$' "$W/out" "the server started"
coproc SITES { exec python3 -u "$W/sites.py" "$SRV" "$PID"; }
read -r ans <&"${SITES[0]}" || fail "the site checker did not start"
note "$ans in the ELF file"

# sites check|patched: asks the checker.
sites() {
	local ans
	echo "$1" >&"${SITES[1]}"
	read -r ans <&"${SITES[0]}" || fail "the site checker died"
	if [ "$1" = check ]; then
		[ "$ans" = ok ] || { echo "$ans" >&2; return 1; }
	else
		echo "$ans"
	fi
}
# ctl_field FIELD: a field of 'ctl -p PID'.
ctl_field() { "$FNTRACE" ctl -p "$PID" | awk -v k="$1" '$1 == k { print $2 }'; }
# threads: the names of the process's threads, sorted, on one line.
threads() { cat /proc/"$PID"/task/*/comm | sort | tr '\n' ' '; }
want_threads="fntrace-agent futex live_server reader sleeper worker0 worker1 "
expect_eq "$(threads)" "$want_threads" "threads before the rounds"
NSITES=$(ctl_field sites)
expect_eq "$NSITES" "${ans%% *}" "sites the agent knows and the ELF file lists"
sites check || fail "a site is not a NOP before any recording"
expect_eq "$(ctl_field state)" dormant "state before the rounds"
expect_eq "$(ctl_field enabled)" 0 "enabled before the rounds"

# between ROUND: nothing is recording, nothing is patched.
between() {
	local st
	st=$("$FNTRACE" ctl -p "$PID")
	grep -qE '^state +dormant$' <<<"$st" || { echo "$st" >&2; fail "round $1: not dormant after the recording"; }
	grep -qE '^enabled +0$' <<<"$st" || { echo "$st" >&2; fail "round $1: sites still enabled"; }
	sites check || fail "round $1: a site is not a NOP after the recording"
	# Nowhere to write to: the recording's buffers are unmapped.
	if grep -q /dev/shm/fntrace- /proc/"$PID"/maps; then
		grep /dev/shm/fntrace- /proc/"$PID"/maps >&2
		fail "round $1: the recording's buffers are still mapped"
	fi
}

# wait_recording: until 'ctl -p' says recording (20 s at most).
wait_recording() {
	for i in $(seq 1000); do
		[ "$(ctl_field state)" = recording ] && return 0
		kill -0 "$RP" 2>/dev/null || { cat "$W/rec.err"; fail "round $r: record -p ended before recording"; }
		sleep 0.02
	done
	fail "round $r: not recording after 20 s"
}

# ctl_set FILTER ENABLED TRACER ARGS...: a ctl change; checks the filter,
# tracer and number of enabled sites it reports, and that exactly those
# are patched.
ctl_set() {
	local want_filter=$1 want_enabled=$2 want_tracer=$3; shift 3
	"$FNTRACE" ctl -p "$PID" "$@" >"$W/ctl.out" 2>&1 || { cat "$W/ctl.out"; fail "round $r: ctl $*"; }
	expect_grep "^filter +$want_filter\$" "$W/ctl.out" "round $r: ctl $*: filter"
	expect_grep "^enabled +$want_enabled\$" "$W/ctl.out" "round $r: ctl $*: enabled sites"
	expect_grep "^tracer +$want_tracer\$" "$W/ctl.out" "round $r: ctl $*: tracer"
	expect_eq "$(sites patched)" "$want_enabled" "round $r: ctl $*: sites patched in memory"
}

# calls FUNC: its calls in this round's report.
calls() { calls_of "$W/report" "$1"; }
# expect_some FUNC...: each FUNC has calls in this round's report.  If
# not, and the workers had (almost) no CPU during the round (their
# schedstat run time: the machine is loaded), the round is not counted.
WT=$(for t in /proc/"$PID"/task/*; do case $(cat "$t/comm") in worker*) echo "${t##*/}" ;; esac; done)
cpu_ns() { local s=0 t; for t in $WT; do s=$((s + $(cut -d' ' -f1 /proc/"$PID"/task/"$t"/schedstat))); done; echo $s; }
starved=0
expect_some() {
	local f none=() ran
	for f in "$@"; do [ "$(calls "$f")" -gt 0 ] || none+=("$f"); done
	[ ${#none[@]} -eq 0 ] && return 0
	ran=$((($(cpu_ns) - c0) / 1000))
	if [ $ran -lt 10000 ]; then
		starved=$((starved + 1))
		note "round $r: no call of ${none[*]}, but the workers ran for $ran us in it: not counted"
		return 0
	fi
	cat "$W/report"
	fail "round $r ($tracer ${args[*]}): no call of ${none[*]} (the workers ran for $ran us meanwhile)"
}

lost=0 lost_rounds=0
t0=$SECONDS
for r in $(seq 1 "$ROUNDS"); do
	data=$W/r.data
	c0=$(cpu_ns) args=()
	tracer=function_graph other=function
	if [ $((r % 2)) -eq 1 ]; then tracer=function other=function_graph; fi
	case $((r % 10)) in
	0)	# Filters and tracer changed while it records; then Ctrl-C or ctl --stop.
		"$FNTRACE" record -p "$PID" --tracer $tracer -F w_mix -o "$data" 2>"$W/rec.err" &
		RP=$!
		wait_recording
		expect_eq "$(sites patched)" 1 "round $r: sites patched with -F w_mix"
		grep -q /dev/shm/fntrace- /proc/"$PID"/maps || fail "round $r: no buffers mapped while recording"
		ctl_set w_fmix 1 $tracer -F w_fmix
		sleep 0.02
		ctl_set "" $((NSITES - 1)) $tracer -F '*' -N w_rec
		sleep 0.02
		ctl_set "" $((NSITES - 1)) $other --tracer $other
		sleep 0.02
		if [ $((r % 20)) -eq 0 ]; then
			kill -INT "$RP"
		else
			"$FNTRACE" ctl -p "$PID" --stop >/dev/null || fail "round $r: ctl --stop"
			# record -p must see the end and finish by itself.
			for i in $(seq 500); do kill -0 "$RP" 2>/dev/null || break; sleep 0.02; done
			if kill -0 "$RP" 2>/dev/null; then fail "round $r: record -p still runs 10 s after ctl --stop"; fi
		fi
		rc=0; wait "$RP" || rc=$?; RP=
		[ $rc -eq 0 ] || { cat "$W/rec.err"; fail "round $r: record -p exited with $rc"; }
		if [ $((r % 20)) -ne 0 ]; then
			expect_grep "^fntrace: process $PID: recording stopped by 'fntrace ctl --stop'" "$W/rec.err" "round $r: record -p says why it ended"
			sed -i "/recording stopped by 'fntrace ctl --stop'/d" "$W/rec.err"
		fi
		"$FNTRACE" report -i "$data" >"$W/report"
		expect_some w_mix w_fmix w_leaf w_iter
		expect_eq "$(calls w_rec)" 0 "round $r: calls of w_rec (never selected)"
		;;
	5)	# Only what -F selects is recorded.
		"$FNTRACE" record -p "$PID" --tracer $tracer -F 'w_fmix,w_va' -d 20ms -o "$data" 2>"$W/rec.err" ||
			{ cat "$W/rec.err"; fail "round $r: record -p -F failed"; }
		"$FNTRACE" report -i "$data" >"$W/report"
		expect_some w_fmix w_va
		for f in w_mix w_struct w_rec w_leaf w_leaf2 w_iter; do
			expect_eq "$(calls $f)" 0 "round $r: -F w_fmix,w_va: calls of $f"
		done
		;;
	*)	mode=lossless
		if [ $((r % 10)) -eq 7 ]; then mode=overwrite; fi
		args=()
		if [ $((r % 10)) -eq 3 ]; then args=(-N 'w_rec'); fi
		# Rings that fill in a moment: lossless writers wait for the
		# drain while the agent patches (START) and unpatches (STOP),
		# and must lose nothing either way.
		if [ $((r % 10)) -eq 9 ]; then args=(--buffer-size 16K); tracer=function_graph; fi
		"$FNTRACE" record -p "$PID" --tracer $tracer --mode $mode "${args[@]}" -d 20ms -o "$data" 2>"$W/rec.err" ||
			{ cat "$W/rec.err"; fail "round $r: record -p failed"; }
		# Overwrite mode loses the oldest events by design (counted).
		if [ $mode = overwrite ]; then
			sed -i '/^fntrace: [0-9]* events lost (of [0-9]*); see /d' "$W/rec.err"
		fi
		"$FNTRACE" report -i "$data" >"$W/report"
		expect_some w_mix w_fmix w_iter
		if [ $((r % 10)) -eq 3 ]; then
			expect_eq "$(calls w_rec)" 0 "round $r: -N w_rec: calls of w_rec"
		fi
		;;
	esac
	# Nothing else may be said: no refusal, no lost event.
	if [ -s "$W/rec.err" ]; then cat "$W/rec.err"; fail "round $r: record -p wrote to stderr"; fi
	between "$r"
	kill -0 "$PID" 2>/dev/null || fail "round $r: the server died"
	if [ $((r % 50)) -eq 0 ]; then note "$r rounds, $((SECONDS - t0)) s"; fi
done
note "$ROUNDS rounds in $((SECONDS - t0)) s ($starved not counted: the workers had no CPU)"
[ $starved -le $((ROUNDS / 20)) ] || fail "$starved of $ROUNDS rounds had workers without CPU: too loaded to tell"
rm -f "$W/r.data"

expect_eq "$(threads)" "$want_threads" "threads after the rounds (the program's and the agent)"
expect_eq "$(ls /proc/"$PID"/task | wc -l)" 7 "thread count after the rounds"

echo q >"$W/stop.fifo"
rc=0; wait "$PID" || rc=$?; PID=
cat "$W/out"
if [ -s "$W/err" ]; then cat "$W/err"; fail "the server wrote to stderr"; fi
[ $rc -eq 0 ] || fail "the server exited with $rc"
expect_grep '^eintr=0 short_sleeps=0 spurious=0 sleeps=[1-9]' "$W/out" "no EINTR, short sleep or spurious wake-up"
n0=$(sed -n 's/^worker 0 iters \([0-9]*\) .*/\1/p' "$W/out")
n1=$(sed -n 's/^worker 1 iters \([0-9]*\) .*/\1/p' "$W/out")
"$SRV" --ref "$n0" "$n1" >"$W/ref"
expect_eq "$(grep '^checksum' "$W/out")" "$(grep '^checksum' "$W/ref")" "checksum of $n0 + $n1 iterations against the untraced run"
echo "live_server: ok ($ROUNDS rounds)"
