#!/usr/bin/env bash
# rec_output.sh - what replay, report and info print, compared with the
# expected text: exactly for a sample trace written by the unit test's
# writer (fixed times), and after normalizing (durations, tids, times and
# addresses removed) for a real program under both tracers and every
# supported compiler/flag form.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
EXP=$ROOT/tests/e2e/expected

"$BUILD/tests/unit/test_tracefile" --write "$W/s.data"
check() {	# check EXPECTED-FILE COMMAND...
	local exp=$1; shift
	"$@" >"$W/got" || fail "$*: status $?"
	diff -u "$EXP/$exp" "$W/got" || fail "$* differs from $exp"
}
check rec_sample.replay "$FNTRACE" replay -i "$W/s.data"
check rec_sample.replay_tid_filter "$FNTRACE" replay -i "$W/s.data" --tid 1002 -F work
check rec_sample.report "$FNTRACE" report -i "$W/s.data"
check rec_sample.report_threads "$FNTRACE" report -i "$W/s.data" --threads --sort calls
"$FNTRACE" info -i "$W/s.data" | sed 's|^# trace file   : .*|# trace file   : SAMPLE|' >"$W/info"
diff -u "$EXP/rec_sample.info" "$W/info" || fail "info differs"

# Real programs, normalized.
graph_norm() { sed -n 's/^.*] | //p' | sed '/^$/d'; }
flat() { sed 's/^ *//' "$1" | tr '\n' ' '; }
func_norm() { sed -n 's/^.*] | //p' | sed 's/+0x[0-9a-f]*$/+ADDR/'; }
failed=()
for form in clang clang-cet gcc-nop gcc-exit gcc-pie; do
	for opt in -O0 -O1 -O2 -O3; do
		build_rec "rc$form$opt" $form $opt
		note "$form $opt"
		# Each case in a subshell: one failure does not hide the others.
		( rec -o "$W/g.data" "$W/rc$form$opt" count 2 >/dev/null
		"$FNTRACE" replay -i "$W/g.data" | graph_norm >"$W/g.txt"
		diff -u "$EXP/rec_calls.graph" "$W/g.txt" || fail "$form $opt: function_graph replay"
		rec --tracer function -o "$W/f.data" "$W/rc$form$opt" count 2 >/dev/null
		"$FNTRACE" replay -i "$W/f.data" | func_norm >"$W/f.txt"
		# Optimized, mid() may tail-call leaf(): leaf returns straight to main.
		exp=rec_calls.function
		objdump -d --no-show-raw-insn "$W/rc$form$opt" | awk '/<mid>:/,/^$/' |
			grep -q 'jmp.*<leaf>' && exp=rec_calls.function_tailcall
		diff -u "$EXP/$exp" "$W/f.txt" || fail "$form $opt: function replay"
		) || failed+=("$form $opt")
	done
done

# Filters at record time: -F, -N, -D; threshold keeps only long calls.
"$FNTRACE" record -F 'mid,main' -o "$W/F.data" "$W/rcclang-O2" count 2 >/dev/null
"$FNTRACE" replay -i "$W/F.data" | graph_norm >"$W/F.txt"
expect_eq "$(flat "$W/F.txt")" "main() { mid(); mid(); } /* main */ " "record -F"
"$FNTRACE" record -N 'leaf' -N report -o "$W/N.data" "$W/rcclang-O2" count 2 >/dev/null
"$FNTRACE" replay -i "$W/N.data" | graph_norm >"$W/N.txt"
expect_eq "$(flat "$W/N.txt")" "main() { mid(); mid(); } /* main */ " "record -N"
"$FNTRACE" record -D 2 -o "$W/D.data" "$W/rcclang-O2" count 2 >/dev/null
"$FNTRACE" replay -i "$W/D.data" | graph_norm >"$W/D.txt"
expect_eq "$(flat "$W/D.txt")" "main() { leaf(); mid(); leaf(); mid(); report(); } /* main */ " "record -D 2"
rec -t 5ms -o "$W/t.data" "$W/rcclang-O2" slow 1000 >/dev/null
"$FNTRACE" replay -i "$W/t.data" | graph_norm >"$W/t.txt"
# Only the 20 ms sleeper and main last 5 ms; they show at their exits.
expect_eq "$(flat "$W/t.txt")" "sleeper(); main(); " "record -t 5ms"
"$FNTRACE" replay -i "$W/t.data" >"$W/t.raw"
expect_grep '^ *[0-9]+\.[0-9]{3} ms \[ *[0-9]+\] \|   sleeper\(\);$' "$W/t.raw" \
	"record -t: sleeper's duration, at depth 1"

# report --sort: by calls leaf leads, by self time the sleeper, by total main.
rec -o "$W/slow.data" "$W/rcclang-O2" slow 1000 >/dev/null
first() { "$FNTRACE" report -i "$W/slow.data" --sort $1 | awk 'NR == 3 { print $NF }'; }
expect_eq "$(first calls)" leaf "report --sort calls"
expect_eq "$(first self)" sleeper "report --sort self"
expect_eq "$(first total)" main "report --sort total"
expect_eq "$(first avg)" main "report --sort avg"
"$FNTRACE" report -i "$W/slow.data" >"$W/slow.report"
expect_eq "$(calls_of "$W/slow.report" leaf)" 1001 "report: leaf calls"
expect_eq "$(calls_of "$W/slow.report" mid)" 1000 "report: mid calls"

# Symbols are in the file: replay works after the program is deleted.
cp "$W/rcclang-O2" "$W/gone"
rec -o "$W/gone.data" "$W/gone" count 2 >/dev/null
rm "$W/gone"
"$FNTRACE" replay -i "$W/gone.data" | graph_norm >"$W/gone.txt"
diff -u "$EXP/rec_calls.graph" "$W/gone.txt" || fail "replay after the binary was deleted"

# The clock fallback (no invariant TSC): CLOCK_MONOTONIC timestamps.
FNTRACE_CLOCK=mono rec -o "$W/mono.data" "$W/rcclang-O2" count 2 >/dev/null
"$FNTRACE" info -i "$W/mono.data" | grep -q '^# clock *: monotonic' || fail "mono clock not used"
"$FNTRACE" replay -i "$W/mono.data" | graph_norm >"$W/mono.txt"
diff -u "$EXP/rec_calls.graph" "$W/mono.txt" || fail "replay with the monotonic clock"
"$FNTRACE" replay -i "$W/mono.data" | grep -q '^ *[0-9]*\.[0-9]* us .*report();' ||
	fail "monotonic clock: no duration"

# Replay filter: only what runs inside mid.
rec -o "$W/g.data" "$W/rcclang-O0" count 2 >/dev/null
"$FNTRACE" replay -F mid -i "$W/g.data" | graph_norm >"$W/rf.txt"
expect_eq "$(flat "$W/rf.txt")" "mid() { leaf(); } /* mid */ mid() { leaf(); } /* mid */ " "replay -F"
[ ${#failed[@]} -eq 0 ] || fail "${#failed[@]} forms failed: $(printf '[%s] ' "${failed[@]}")"
echo "rec_output: ok"
