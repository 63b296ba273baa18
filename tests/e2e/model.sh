#!/usr/bin/env bash
# Model check of the int3 protocol (issue 8): tests/model/int3.pml is
# verified with spin.  The real model must verify with no error; each
# mutation (a global "site being patched", the last sync dropped) must give
# a counterexample that violates the property it is meant to break, and
# the last sync dropped must break nothing but the "done" property.
. "$(dirname "$0")/lib.sh"
PML=$ROOT/tests/model/int3.pml
command -v spin >/dev/null 2>&1 ||
	fail "spin is not installed: the int3 protocol's model cannot be checked (apt-get install spin)"
CC=${CC:-cc}

# verify NAME EXPECT PATTERN DEFINES...: builds pan for the model with
# DEFINES in $W/NAME and runs it.  EXPECT is "pass" (errors: 0 over the
# whole state space) or "fail" (a trail whose violated assertion matches
# PATTERN).  Counterexamples are searched breadth-first so that the trail,
# replayed into $W/NAME/trail.txt, is the shortest one.
verify() {
	local name=$1 expect=$2 pattern=$3; shift 3
	local d=$W/$name pan=(-DSAFETY) run=(-m200000 -w23)
	mkdir -p "$d"
	# A copy beside pan, so that spin -t finds the trail next to it.
	cp "$PML" "$d/int3.pml"
	[ "$expect" = fail ] && pan+=(-DBFS) run=()
	(cd "$d" && spin "$@" -a int3.pml >spin.out 2>&1) || { cat "$d/spin.out"; fail "$name: spin -a failed"; }
	(cd "$d" && "$CC" -w -O2 "${pan[@]}" -o pan pan.c) || fail "$name: pan.c does not compile"
	(cd "$d" && ./pan "${run[@]}" >pan.out 2>&1) || true
	local errors states secs
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$d/pan.out")
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$d/pan.out")
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$d/pan.out")
	[ -n "$errors" ] || { cat "$d/pan.out"; fail "$name: pan gave no result"; }
	note "$name: spin${*:+ $*} -a; cc ${pan[*]} pan.c; ./pan${run[*]:+ ${run[*]}}: errors: $errors, $states states, ${secs}s"
	if [ "$expect" = pass ]; then
		[ "$errors" = 0 ] || {
			(cd "$d" && spin "$@" -t int3.pml >trail.txt 2>&1) || true
			cat "$d/pan.out" "$d/trail.txt"
			fail "$name: the model has a counterexample (trail above, $d/trail.txt)"
		}
		! grep -q 'max search depth too small' "$d/pan.out" ||
			fail "$name: the search was cut at the depth bound, so it proves nothing"
	else
		[ "$errors" -gt 0 ] && [ -f "$d/int3.pml.trail" ] || {
			cat "$d/pan.out"
			fail "$name: the mutation was not caught (no counterexample): the model checks too little"
		}
		(cd "$d" && spin "$@" -t int3.pml >trail.txt 2>&1) || true
		sed -n '/^ *[PT][0-9 ]/p; /Error/p' "$d/trail.txt" | sed 's/^ */    /'
		grep -E 'assertion violated' "$d/pan.out" | grep -qF -- "$pattern" || {
			cat "$d/pan.out"
			fail "$name: the counterexample violates another assertion than the one expected ($pattern)"
		}
	fi
}

verify real pass ''
verify global_site fail '(s==2)==(verdict==3)' -DMUT_GLOBAL_SITE
verify no_last_sync fail '(running==fb)' -DMUT_NO_LAST_SYNC
# Without the last sync, only "done" breaks: the handler copes with a
# stale int3 (seed 003, H. Peter Anvin's point).
verify no_last_sync_rest pass '' -DMUT_NO_LAST_SYNC -DNO_DONE_CHECK
echo OK
