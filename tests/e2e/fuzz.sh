#!/usr/bin/env bash
# fuzz.sh - the smoke run of the libFuzzer harnesses (issue 9, "fuzzing in
# CI"): each of tests/fuzz/fuzz_*.c (built by "make test" into $O/fuzz/)
# runs FUZZ_SMOKE seconds (default 25: the five stay under 2.5 minutes) from its
# seed corpus tests/fuzz/corpus/NAME.  Any crash, leak, sanitizer report or
# timeout fails the test; the input is kept in $O/e2e/fuzz/NAME/ (crash-*,
# leak-*, timeout-*) and named in the output, to add to the corpus as a
# regression seed once fixed.  "make fuzz" runs them longer.
source "$(dirname "$0")/lib.sh"
T=${FUZZ_SMOKE:-25}

for n in tracefile filter elf ctl demangle; do
	bin=$BUILD/fuzz/fuzz_$n seeds=$ROOT/tests/fuzz/corpus/$n
	[ -x "$bin" ] || fail "$bin is not built (make fuzzers)"
	[ -n "$(ls -A "$seeds")" ] || fail "no seed corpus in $seeds"
	mkdir -p "$W/$n/corpus"
	note "fuzz_$n: $T s"
	rc=0
	# The tree's corpus is read only: new inputs go to $W/$n/corpus.
	"$bin" -max_total_time="$T" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$W/$n/" "$W/$n/corpus" "$seeds" >"$W/$n/log" 2>&1 || rc=$?
	grep -E '^#[0-9]+[[:space:]]+DONE' "$W/$n/log" || true
	if [ $rc -ne 0 ] || ! grep -qE '^#[0-9]+[[:space:]]+DONE' "$W/$n/log"; then
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$W/$n/log" >&2 || tail -n 20 "$W/$n/log" >&2
		fail "fuzz_$n found a bug (exit $rc): input kept in $(ls "$W/$n"/{crash,leak,timeout,oom}-* 2>/dev/null | head -1)"
	fi
	# The seeds themselves ran: the run read at least as many inputs.
	nseeds=$(ls "$seeds" | wc -l)
	read_in=$(grep -oE 'INITED.*corp: [0-9]+' "$W/$n/log" | grep -oE '[0-9]+$' || echo 0)
	[ "$read_in" -ge 1 ] || fail "fuzz_$n kept none of its $nseeds seeds"
done
echo "fuzz: every harness ran ${T}s without a finding"
