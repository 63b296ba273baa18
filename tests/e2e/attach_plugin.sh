#!/usr/bin/env bash
# attach_plugin.sh - objects loaded and unloaded after an attach (issue 12,
# item 3): the e1000e scenario through an attach.  An attached runtime has
# no LD_AUDIT; it hears of loads and unloads through the dynamic linker's
# debugger hook, which the attach turns into a call (written with the other
# threads stopped).  The program (tests/progs/attach_plugin.c, started
# without fntrace) holds a plugin it dlopen()ed at start-up; 'record -p'
# attaches with a filter that names the plugins' functions too, and records
# while the program runs 300 rounds of dlopen / calls / dlclose / "device"
# mapped at the old text: no device is ever written, the process lives,
# the program's own traced calls are all recorded, the plugin loaded after
# the attach is traced in every round (its functions in the trace), and the
# one loaded before stays untraced (it may have been on its way out,
# unheard: see fnt__rtld_arm).  Without the hook (the runtime's debug
# message says so) no plugin call would be in the trace.
source "$(dirname "$0")/rec_common.bash"

{
	echo 'long n_pf0;'
	echo '__attribute__((noinline)) int pf0(int x) { __atomic_fetch_add(&n_pf0, 1, __ATOMIC_RELAXED); return x + 1; }'
	for i in $(seq 1 99); do
		echo "__attribute__((noinline)) int pf$i(int x) { return (x ^ $i) + pf$((i - 1))(x & 7); }"
	done
} >"$W/plugin.c"
echo 'int kf(int x) { return x + 1; }' >"$W/kept.c"
clang -O1 -fPIC -shared -fpatchable-function-entry=5 -fno-optimize-sibling-calls \
	-o "$W/libplug.so" "$W/plugin.c"
clang -O1 -fPIC -shared -fpatchable-function-entry=5 -o "$W/libkept.so" "$W/kept.c"
clang -O2 -g -fpatchable-function-entry=5 -o "$W/prog" "$PROGS/attach_plugin.c" -lpthread

PID= RP=
trap '[ -n "$RP" ] && kill -KILL $RP 2>/dev/null; [ -n "$PID" ] && kill -KILL $PID 2>/dev/null; true' EXIT
mkfifo "$W/in"
exec 3<>"$W/in"
"$W/prog" "$W/libplug.so" "$W/libkept.so" 300 2 <"$W/in" >"$W/out" 2>"$W/err" &
PID=$!
for i in $(seq 200); do grep -q '^ready$' "$W/out" && break; sleep 0.02; done
expect_grep '^ready$' "$W/out" "the program started"
"$FNTRACE" record -p "$PID" -F 'caller,call_plugin,pf*,kf,main' -o "$W/t.data" 2>"$W/rec.err" &
RP=$!
for i in $(seq 500); do
	"$FNTRACE" ctl -p "$PID" 2>/dev/null | grep -qE '^state +recording$' && break
	sleep 0.02
done
"$FNTRACE" ctl -p "$PID" | grep -qE '^state +recording$' || { cat "$W/rec.err"; fail "not recording"; }
echo go >&3
rc=0
wait "$PID" || rc=$?
PID=
cat "$W/out"
[ $rc -eq 0 ] || { cat "$W/err"; fail "the program exited with $rc"; }
expect_grep '^OK$' "$W/out" "no device written"
wait "$RP" || { cat "$W/rec.err"; fail "record -p"; }
RP=
"$FNTRACE" report -i "$W/t.data" >"$W/rep"
expect_eq "$(calls_of "$W/rep" caller)" "$(awk '$2 == "caller" { print $3 }' "$W/out")" "calls of caller"
[ "$(awk '$1 == "devices" { print $2 }' "$W/out")" -gt 100 ] || fail "too few devices mapped"
grep -qE ' kf$' "$W/rep" && fail "the plugin loaded before the attach was traced"
pf0=$(calls_of "$W/rep" pf0)
note "pf0: $pf0 calls"
[ "$pf0" -gt 300 ] || fail "the plugin loaded after the attach was not traced (pf0: $pf0 calls)"
expect_eq "$pf0" "$(awk '$2 == "pf0" { print $3 }' "$W/out")" "calls of pf0, over every load"
expect_eq "$(info_field "$W/t.data" 'lost events')" 0 "lost events"
# The trace is gigabytes (every plugin call of 300 rounds), and CI runs
# this twice on one machine: kept only when the test fails.
rm -f "$W/t.data"
echo "attach_plugin: ok"
