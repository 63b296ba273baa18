#!/usr/bin/env bash
# rec_hostile.sh - every traced process maps the shared region read-write,
# so a traced program can write anything over it while fntrace (maybe
# root) reads it.  tests/progs/scribble.c does: random bytes over the
# header, slot table and rings for many seeds; the exact header values that
# crashed or hung the reader (nslots, slots_off, rings_off, ring_words, a
# slot's stream number); and truncating the region's file.  fntrace record
# must never crash or hang, must exit with the program's status, and must
# say that the data is damaged (as must fntrace info); replay and report
# of the file must not crash either.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

clang -O1 -g -fpatchable-function-entry=5 -I"$ROOT/src" -o "$W/scribble" "$PROGS/scribble.c" -lpthread

# hostile NAME ARGS...: records scribble ARGS; checks as above.
hostile() {
	local name=$1 rc=0; shift
	timeout -k 5 60 "$FNTRACE" record -o "$W/$name.data" "$W/scribble" "$@" \
		>"$W/$name.out" 2>"$W/$name.err" || rc=$?
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$name: fntrace record hung"
	if [ $rc -ne 0 ]; then cat "$W/$name.err"; fail "$name: exit status $rc, not the program's 0"; fi
	expect_eq "$(cat "$W/$name.out")" done "$name: program output"
	expect_grep "recording buffers were overwritten" "$W/$name.err" "$name: damage reported"
	rc=0
	"$FNTRACE" info -i "$W/$name.data" >"$W/$name.info" 2>&1 || rc=$?
	expect_eq "$rc" 0 "$name: fntrace info status"
	expect_grep "^# damaged +: [0-9]+ finding.*overwrote" "$W/$name.info" "$name: info says damaged"
	for cmd in replay report; do
		rc=0
		timeout 60 "$FNTRACE" $cmd -i "$W/$name.data" >/dev/null 2>"$W/$name.$cmd" || rc=$?
		[ $rc -lt 124 ] || { cat "$W/$name.$cmd"; fail "$name: fntrace $cmd: status $rc"; }
	done
}

note "the header values of issue 9"
hostile nslots hdr nslots 0x7fffffff
hostile slots_off hdr slots_off 0x100000000000
hostile rings_off hdr rings_off 0x100000000000
hostile ring_words hdr ring_words 0
hostile stream slot0 stream 0xffffffff
note "the region's file truncated"
hostile truncate truncate
expect_grep "truncated its file|changed the size" "$W/truncate.err" "truncate: said so"
for mode in lossless drop overwrite; do
	note "random scribbles, $mode"
	for seed in $(seq 1 10); do
		timeout -k 5 60 "$FNTRACE" record --mode $mode -o "$W/r.data" "$W/scribble" random $seed \
			>"$W/r.out" 2>"$W/r.err" || { rc=$?; cat "$W/r.err"; fail "seed $seed ($mode): status $rc"; }
		expect_eq "$(cat "$W/r.out")" done "seed $seed: program output"
		expect_grep "recording buffers were overwritten" "$W/r.err" "seed $seed: damage reported"
		"$FNTRACE" info -i "$W/r.data" >"$W/r.info" 2>&1 || fail "seed $seed: fntrace info failed"
		expect_grep "^# damaged" "$W/r.info" "seed $seed: info says damaged"
		for cmd in replay report; do
			rc=0
			timeout 60 "$FNTRACE" $cmd -i "$W/r.data" >/dev/null 2>"$W/r.$cmd" || rc=$?
			[ $rc -lt 124 ] || fail "seed $seed: fntrace $cmd: status $rc"
		done
	done
done
echo "rec_hostile: ok"
