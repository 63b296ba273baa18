#!/usr/bin/env bash
# shm_layout.sh - the runtime checks every layout field of the region named
# in FNTRACE_SHM against the file's real size before it writes anything:
# a region whose header lies (offsets, counts or sizes that do not fit, or
# unknown settings) is refused with one line saying which field is wrong,
# and the program runs on, untraced, with its normal output and status.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O1
gcc -O1 -D_GNU_SOURCE -I"$ROOT/src" -o "$W/mkregion" "$PROGS/mkregion.c" "$ROOT/src/ring/shm.c" "$ROOT/src/util/env.c"
want=$(printf 'calls leaf 6\ncalls mid 3')

# run_with REGION WHAT: runs the program with the runtime attaching to
# REGION; it must run normally and say why the region is refused.
run_with() {
	local rc=0
	LD_PRELOAD=$BUILD/libfntrace.so FNTRACE_SHM=$1 "$W/rc" count 3 >"$W/out" 2>"$W/err" || rc=$?
	expect_eq "$rc" 0 "$2: exit status"
	expect_eq "$(cat "$W/out")" "$want" "$2: program output"
	expect_grep "cannot attach the recording buffers .*: (its|not a|unknown)" "$W/err" "$2: refusal"
}

# The control: a sound region is attached (the process image lands in it).
"$W/mkregion" "$W/good"
LD_PRELOAD=$BUILD/libfntrace.so FNTRACE_SHM=$W/good "$W/rc" count 3 >"$W/out" 2>"$W/err"
expect_eq "$(cat "$W/out")" "$want" "sound region: program output"
if grep -q "cannot attach" "$W/err"; then cat "$W/err"; fail "sound region refused"; fi

n=0
for f in nslots=0 nslots=0x7fffffff nslots=5 ring_words=0 ring_words=3 ring_words=256 \
	ring_words=0x8000000000 images_off=0x100000000000 objects_off=0x100000000000 \
	slots_off=0x100000000000 rings_off=0x100000000000 slots_off=8 rings_off=0 \
	size=0x100000000000 size=4096 mode=7 tracer=0 tracer=9 clock=0 clock=77; do
	n=$((n + 1))
	note "$f"
	"$W/mkregion" "$W/r$n" "$f"
	run_with "$W/r$n" "$f"
done

note "a region file cut short"
"$W/mkregion" "$W/cut"
truncate -s 1M "$W/cut"
run_with "$W/cut" "cut short"
note "garbage"
head -c 1M /dev/urandom >"$W/garbage"
run_with "$W/garbage" "garbage"
echo "shm_layout: ok"
