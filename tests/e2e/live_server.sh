#!/usr/bin/env bash
# live_server.sh - recordings begun and ended from outside, over and over,
# while a server-like program works and waits (tests/progs/live_server.c):
# two workers calling traced functions in tight loops, a thread blocked in
# read() on a FIFO, one in nanosleep, one in FUTEX_WAIT, main in
# pthread_join.  The program is started dormant (fntrace run); LIVE_ROUNDS
# rounds (default 500) of 'record -p PID -d 20ms', every tenth one a longer
# recording whose filters 'ctl -p PID -F/-N' change while it runs, and
# which ends by Ctrl-C or by 'ctl --stop'.  Checked:
#   - every round's trace has the workers' calls, and only the functions
#     its filters select;
#   - between rounds, 'ctl -p' says dormant with 0 sites enabled, and every
#     patch site's 5 bytes in /proc/PID/mem equal the ELF file's (sites
#     from __patchable_function_entries); while a recording runs, exactly
#     'enabled' sites differ from the file (the check sees patching);
#   - afterwards: the process has its 6 threads and the agent, no more;
#     the workers' checksum equals an untraced run of the same program
#     doing the same number of iterations; no EINTR (read, nanosleep,
#     futex), no short sleep, no spurious futex return; exit status 0.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

ROUNDS=${LIVE_ROUNDS:-500}
SRV=$W/live_server
clang -O1 -g -fpatchable-function-entry=5 -o "$SRV" "$PROGS/live_server.c" -lpthread

# sites.py EXE PID check|patched: the patch sites of EXE (its
# __patchable_function_entries, relocated by the load bias in
# /proc/PID/maps); 'check' fails naming every site whose 5 bytes in
# /proc/PID/mem differ from the file's (five 1-byte NOPs, gcc's, are
# expected as the 5-byte NOP they are converted to); 'patched' prints how
# many differ.
cat >"$W/sites.py" <<'EOF'
import os, struct, sys
exe, pid, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
            return data[p[2] + va - p[3]:p[2] + va - p[3] + 5]
    sys.exit('site %#x is in no segment' % va)
diff = []
with open('/proc/%d/mem' % pid, 'rb', 0) as mem:
    for va in sites:
        want = file_bytes(va)
        if want == b'\x90' * 5:
            want = b'\x0f\x1f\x44\x00\x00'
        assert want[:3] == b'\x0f\x1f\x44', 'site %#x is not a NOP in the file: %s' % (va, want.hex())
        mem.seek(bias + va)
        got = mem.read(5)
        if got != want:
            diff.append('site %#x (at %#x): %s, file %s' % (va, bias + va, got.hex(), want.hex()))
if mode == 'patched':
    print(len(diff))
elif diff:
    sys.exit('%d of %d sites are not NOPs:\n  %s' % (len(diff), len(sites), '\n  '.join(diff)))
EOF
sites() { python3 "$W/sites.py" "$SRV" "$PID" "$@"; }

PID= RP=
cleanup() {
	[ -n "$RP" ] && kill -KILL "$RP" 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	return 0
}
trap cleanup EXIT

mkfifo "$W/stop.fifo"
"$FNTRACE" run "$SRV" "$W/stop.fifo" >"$W/out" 2>"$W/err" &
PID=$!
for i in $(seq 100); do grep -q '^ready$' "$W/out" && break; sleep 0.05; done
expect_grep '^ready$' "$W/out" "the server started"

# ctl_field FIELD: a field of 'ctl -p PID'.
ctl_field() { "$FNTRACE" ctl -p "$PID" | awk -v k="$1" '$1 == k { print $2 }'; }
# threads: the names of the process's threads, sorted, on one line.
threads() { cat /proc/"$PID"/task/*/comm | sort | tr '\n' ' '; }
want_threads="fntrace-agent futex live_server reader sleeper worker0 worker1 "
expect_eq "$(threads)" "$want_threads" "threads before the rounds"
NSITES=$(ctl_field sites)
# Sanity: the ELF's table has them all, and all are NOPs now.
sites check || fail "a site is not a NOP before any recording"
expect_eq "$(ctl_field state)" dormant "state before the rounds"
expect_eq "$(ctl_field enabled)" 0 "enabled before the rounds"

# between ROUND: nothing is recording, nothing is patched.
between() {
	local st
	st=$("$FNTRACE" ctl -p "$PID")
	echo "$st" | grep -qE '^state +dormant$' || { echo "$st" >&2; fail "round $1: not dormant after the recording"; }
	echo "$st" | grep -qE '^enabled +0$' || { echo "$st" >&2; fail "round $1: sites still enabled"; }
	sites check || fail "round $1: a site is not a NOP after the recording"
}

# wait_recording: until 'ctl -p' says recording (10 s at most).
wait_recording() {
	for i in $(seq 500); do
		[ "$(ctl_field state)" = recording ] && return 0
		kill -0 "$RP" 2>/dev/null || fail "round $r: record -p ended before recording"
		sleep 0.02
	done
	fail "round $r: not recording after 10 s"
}

# ctl_set ARGS...: a ctl change; checks the filter and the number of
# enabled sites it reports, and that exactly those are patched.
ctl_set() {
	local want_filter=$1 want_enabled=$2; shift 2
	"$FNTRACE" ctl -p "$PID" "$@" >"$W/ctl.out" 2>&1 || { cat "$W/ctl.out"; fail "round $r: ctl $*"; }
	expect_grep "^filter +$want_filter\$" "$W/ctl.out" "round $r: ctl $*: filter"
	expect_grep "^enabled +$want_enabled\$" "$W/ctl.out" "round $r: ctl $*: enabled sites"
	expect_eq "$(sites patched)" "$want_enabled" "round $r: ctl $*: sites patched in memory"
}

# calls FUNC: its calls in this round's report.
calls() { calls_of "$W/report" "$1"; }

workers="w_mix w_fmix w_va w_struct w_rec w_leaf w_leaf2 w_iter"
t0=$SECONDS
for r in $(seq 1 "$ROUNDS"); do
	data=$W/r.data
	tracer=function_graph; [ $((r % 2)) -eq 1 ] && tracer=function
	case $((r % 10)) in
	0)	# Filters changed while it records; ended by Ctrl-C or ctl --stop.
		"$FNTRACE" record -p "$PID" --tracer $tracer -F w_mix -o "$data" 2>"$W/rec.err" &
		RP=$!
		wait_recording
		expect_eq "$(sites patched)" 1 "round $r: sites patched with -F w_mix"
		ctl_set w_fmix 1 -F w_fmix
		sleep 0.02
		ctl_set "" $((NSITES - 1)) -F '*' -N w_rec
		sleep 0.02
		if [ $((r % 20)) -eq 0 ]; then
			kill -INT "$RP"
		else
			"$FNTRACE" ctl -p "$PID" --stop >/dev/null || fail "round $r: ctl --stop"
			# record -p must see the end and finish by itself.
			for i in $(seq 250); do kill -0 "$RP" 2>/dev/null || break; sleep 0.02; done
			kill -0 "$RP" 2>/dev/null && fail "round $r: record -p still runs 5 s after ctl --stop"
		fi
		rc=0; wait "$RP" || rc=$?; RP=
		[ $rc -eq 0 ] || { cat "$W/rec.err"; fail "round $r: record -p exited with $rc"; }
		"$FNTRACE" report -i "$data" >"$W/report"
		for f in w_mix w_fmix w_leaf w_iter; do
			[ "$(calls $f)" -gt 0 ] || { cat "$W/report"; fail "round $r: no call of $f"; }
		done
		expect_eq "$(calls w_rec)" 0 "round $r: calls of w_rec (never selected)"
		;;
	5)	# Only what -F selects is recorded.
		"$FNTRACE" record -p "$PID" --tracer $tracer -F 'w_fmix,w_va' -d 20ms -o "$data" 2>"$W/rec.err" ||
			{ cat "$W/rec.err"; fail "round $r: record -p -F failed"; }
		"$FNTRACE" report -i "$data" >"$W/report"
		[ "$(calls w_fmix)" -gt 0 ] && [ "$(calls w_va)" -gt 0 ] || { cat "$W/report"; fail "round $r: -F: calls missing"; }
		for f in w_mix w_struct w_rec w_leaf w_leaf2 w_iter; do
			expect_eq "$(calls $f)" 0 "round $r: -F w_fmix,w_va: calls of $f"
		done
		;;
	*)	mode=lossless; [ $((r % 10)) -eq 7 ] && mode=overwrite
		args=(); [ $((r % 10)) -eq 3 ] && args=(-N 'w_rec')
		"$FNTRACE" record -p "$PID" --tracer $tracer --mode $mode "${args[@]}" -d 20ms -o "$data" 2>"$W/rec.err" ||
			{ cat "$W/rec.err"; fail "round $r: record -p failed"; }
		"$FNTRACE" report -i "$data" >"$W/report"
		for f in w_mix w_fmix w_iter; do
			[ "$(calls $f)" -gt 0 ] || { cat "$W/report"; fail "round $r ($tracer $mode ${args[*]}): no call of $f"; }
		done
		if [ ${#args[@]} -gt 0 ]; then
			expect_eq "$(calls w_rec)" 0 "round $r: -N w_rec: calls of w_rec"
		fi
		;;
	esac
	# Nothing else may be said (a lost event, a refusal).
	if [ -s "$W/rec.err" ]; then cat "$W/rec.err"; fail "round $r: record -p wrote to stderr"; fi
	between "$r"
	kill -0 "$PID" 2>/dev/null || fail "round $r: the server died"
	if [ $((r % 50)) -eq 0 ]; then note "$r rounds, $((SECONDS - t0)) s"; fi
done
note "$ROUNDS rounds in $((SECONDS - t0)) s"
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
