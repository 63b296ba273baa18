#!/usr/bin/env bash
# Every entry form the runtime accepts, with every supported compiler and
# flag combination (issue 3, part 3): gcc and clang, -O0 and -O2, PIE and
# non-PIE, with and without -fcf-protection (endbr64 before the site).
# For each build, tests/progs/forms_main.c checks that its result equals
# the untraced run and that every function's callbacks fire exactly as
# often as it is called, through fnt_register_ops and through fnt_enable,
# and that nothing fires after disabling.  Where the form fits a shared
# library, a plugin with the same form is dlopen'ed under LD_AUDIT.
#
# Then what must be refused: gcc's five 1-byte NOPs once a thread already
# runs (a DT_NEEDED library whose constructor starts one), garbage named
# by __mcount_loc (refused by name, the rest still traced), and a table
# entry outside the text (patching disabled for good, program unharmed).
. "$(dirname "$0")/lib.sh"

# The forms: name | compiler | compile flags | link flag | plugin flags
# (empty: the form does not fit a shared library: -mnop-mcount and e8
# calls to __fentry__ are non-PIC only).
FORMS=(
	"clang-pfe-pie|clang|-fpatchable-function-entry=5 -fPIE|-pie|-fpatchable-function-entry=5 -fPIC"
	"clang-pfe-nopie|clang|-fpatchable-function-entry=5 -fno-pie|-no-pie|"
	"gcc-nopmcount|gcc|-pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie|-no-pie|"
	"gcc-fentry-pie|gcc|-pg -mfentry -mrecord-mcount -fPIE|-pie|-pg -mfentry -mrecord-mcount -fPIC"
	"gcc-fentry-nopie|gcc|-pg -mfentry -mrecord-mcount -fno-pie|-no-pie|"
	"gcc-pfe-pie|gcc|-fpatchable-function-entry=5 -fPIE|-pie|-fpatchable-function-entry=5 -fPIC"
	"gcc-pfe-nopie|gcc|-fpatchable-function-entry=5 -fno-pie|-no-pie|"
	"gcc-exit-nopie|gcc|-pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 -mrecord-return -fno-pie|-no-pie|"
	"gcc-exit-pie|gcc|-pg -mfentry -mrecord-mcount -minstrument-return=nop5 -mrecord-return -fPIE|-pie|-pg -mfentry -mrecord-mcount -minstrument-return=nop5 -mrecord-return -fPIC"
)

# build OUT CC "CFLAGS" "LFLAGS" SOURCES...: compiles apart and links
# without -pg (no gprof), against libfntrace.so (it defines __fentry__).
build() {
	local out=$1 cc=$2 cflags=$3 lflags=$4; shift 4
	local objs=() i=0
	for s in "$@"; do
		# shellcheck disable=SC2086
		"$cc" -g $cflags -I"$ROOT/include" -c "$s" -o "$out.$i.o" 2>>"$W/build.log" ||
			fail "cannot compile $s with $cc $cflags (see $W/build.log)"
		objs+=("$out.$i.o"); i=$((i + 1))
	done
	# shellcheck disable=SC2086
	"$cc" -g $lflags -o "$out" "${objs[@]}" -L"$BUILD" -lfntrace -Wl,-rpath,"$BUILD" \
		-lpthread -ldl 2>>"$W/build.log" || fail "cannot link $out"
}

# plugin OUT CC "CFLAGS": the dlopen'ed library.
plugin() {
	# shellcheck disable=SC2086
	"$1" -g $3 -shared -o "$2" "$PROGS/forms_plugin.c" -L"$BUILD" -lfntrace \
		-Wl,-rpath,"$BUILD" 2>>"$W/build.log" || fail "cannot build plugin $2"
}

# run NAME MODE [ARG]: runs $W/NAME traced; its stdout must end in OK and
# its result be the untraced one ($ref); stderr kept in $W/NAME.MODE.err.
run() {
	local name=$1 mode=$2; shift 2
	local out=$W/$name.$mode.out err=$W/$name.$mode.err rc=0
	traced "$W/$name" "$mode" "$@" >"$out" 2>"$err" || rc=$?
	if [ $rc -ne 0 ] || ! grep -qx OK "$out"; then
		cat "$out" "$err" >&2
		fail "$name $mode: exit $rc"
	fi
	expect_eq "$(head -n1 "$out")" "result=$ref" "$name $mode: result"
	# Exit forms close calls at their exit sites (the return is not
	# hooked); the others, after the hooked return.
	local at
	at=$(sed -n 's/^exits at exit sites: \([0-9]*\) of \([0-9]*\)$/\1 \2/p' "$out")
	case $name in
	gcc-exit*) [ "${at% *}" -gt 0 ] && [ "${at% *}" -ge $(( ${at#* } * 9 / 10 )) ] ||
		fail "$name $mode: exits at exit sites: $at (expected nearly all)" ;;
	*) [ "${at% *}" -eq 0 ] || fail "$name $mode: $at exits at exit sites in a form without them" ;;
	esac
}

# check_form NAME FORM CET: f_leaf of $W/NAME starts with the bytes of
# FORM (after endbr64 when CET), so each build tests the form it names.
check_form() {
	local want bytes
	case $2 in
	clang-pfe*) want="0f 1f 44 00 08" ;;
	gcc-nopmcount|gcc-exit-nopie) want="0f 1f 44 00 00" ;;
	gcc-exit-pie) want="ff 15" ;;
	gcc-fentry-pie) want="ff 15" ;;
	gcc-fentry-nopie) want="e8" ;;
	gcc-pfe*) want="90 90 90 90 90" ;;
	esac
	[ -n "$3" ] && want="f3 0f 1e fa $want"
	bytes=$(objdump -d --disassemble=f_leaf "$W/$1" |
		awk -F'\t' '/^ +[0-9a-f]+:/ { print $2 }' | tr -s ' \n' ' ')
	case " $bytes" in
	" $want "*) ;;
	*) fail "$1: f_leaf starts with [$bytes], expected [$want]" ;;
	esac
}

# The reference: one untraced run, without the runtime at all.
gcc -g -O2 -I"$ROOT/include" -o "$W/ref" "$PROGS/forms_main.c" -L"$BUILD" -lfntrace \
	-Wl,-rpath,"$BUILD" -ldl
ref=$("$W/ref" plain | sed -n 's/^result=//p')
[ -n "$ref" ] || fail "no reference result"
note "untraced result $ref"

nforms=0
late=()		# failures reported at the end (see check_refused)
for f in "${FORMS[@]}"; do
	IFS='|' read -r form cc cflags lflags pflags <<<"$f"
	for opt in -O0 -O2; do
		for cet in "" -fcf-protection; do
			name=$form$opt$cet
			build "$W/$name" "$cc" "$opt $cet $cflags" "$lflags" "$PROGS/forms_main.c"
			# The form really is the one we claim: the sites' bytes.
			check_form "$name" "$form" "$cet"
			# Untraced, but with the runtime loaded: the same result.
			out=$("$W/$name" plain)
			expect_eq "$out" "result=$ref" "$name plain"
			run "$name" ops
			run "$name" enable
			if [ -n "$pflags" ]; then
				plugin "$cc" "$W/$name.so" "$opt $cet $pflags"
				run "$name" plugin "$W/$name.so"
			fi
			# Nothing refused, nothing reported.
			if grep -q 'fntrace:' "$W/$name".*.err; then
				cat "$W/$name".*.err >&2
				fail "$name: the runtime complained"
			fi
			nforms=$((nforms + 1))
		done
	done
	note "$form: -O0/-O2, with and without -fcf-protection: OK"
done
expect_eq "$nforms" 36 "builds tested"

# --- refused: five 1-byte NOPs with a thread already running -------------
# glibc runs the constructors of DT_NEEDED siblings in reverse order, and a
# preloaded library's last: libforms_thr.so linked after libfntrace.so (or
# libfntrace.so preloaded) starts its thread before the runtime registers
# the executable.  Checked with LD_DEBUG=libs ("calling init").
gcc -g -fPIC -shared -o "$W/libforms_thr.so" "$PROGS/forms_thr.c" -lpthread
gcc -g -O2 -fpatchable-function-entry=5 -fno-pie -I"$ROOT/include" -c "$PROGS/forms_main.c" \
	-o "$W/refuse.o"
# refuse_order LINK-ORDER...: links $W/refuse with the libraries in order.
refuse_link() {
	gcc -no-pie -o "$W/refuse" "$W/refuse.o" -Wl,--no-as-needed "$@" \
		-Wl,-rpath,"$BUILD:$W" -ldl -lpthread
}
check_refused() {
	local what=$1 err=$W/refuse.$1.err rc=0; shift
	"$@" "$W/refuse" refused >"$W/refuse.$what.out" 2>"$err" || rc=$?
	# A status that hides the refusal is a failure, reported at the end
	# so the checks after it still run.
	if grep -q '^FAILED: status:' "$W/refuse.$what.out" &&
	   [ "$(grep -c '^FAILED' "$W/refuse.$what.out")" -eq 1 ]; then
		late+=("refused ($what): $(grep '^FAILED' "$W/refuse.$what.out")")
		rc=0; echo OK >>"$W/refuse.$what.out"
	fi
	[ $rc -eq 0 ] && grep -qx OK "$W/refuse.$what.out" ||
		{ cat "$W/refuse.$what.out" "$err" >&2; fail "refused ($what): exit $rc"; }
	expect_eq "$(head -n1 "$W/refuse.$what.out")" "result=$ref" "refused ($what): result"
	# One line naming the object and the flags to use instead.
	expect_grep "^fntrace: refusing [0-9]+ of the [0-9]+ sites of $W/refuse: .*threads are running it.*clang -fpatchable-function-entry=5.*-mnop-mcount" \
		"$err" "refused ($what): message"
}
refuse_link -L"$BUILD" -lfntrace -L"$W" -lforms_thr
LD_DEBUG=libs "$W/refuse" plain 2>&1 >/dev/null | grep 'calling init' |
	grep -oE 'lib(fntrace|forms_thr)\.so' | tr '\n' ' ' >"$W/order"
expect_eq "$(cat "$W/order")" "libforms_thr.so libfntrace.so " "constructor order"
check_refused linked env
refuse_link -L"$W" -lforms_thr -L"$BUILD" -lfntrace
check_refused preloaded traced
# With that thread running, a plugin of the same form dlopen'ed under
# LD_AUDIT is still converted: la_objopen runs before any of its code can.
gcc -g -O2 -fpatchable-function-entry=5 -fPIC -shared -o "$W/refuse-plugin.so" \
	"$PROGS/forms_plugin.c"
rc=0
FORMS_EXE_REFUSED=1 traced "$W/refuse" plugin "$W/refuse-plugin.so" >"$W/refuse.plugin.out" \
	2>"$W/refuse.plugin.err" || rc=$?
[ $rc -eq 0 ] && grep -qx OK "$W/refuse.plugin.out" ||
	{ cat "$W/refuse.plugin.out" "$W/refuse.plugin.err" >&2; fail "refused exe, plugin: exit $rc"; }
expect_grep "^fntrace: refusing [0-9]+ of the [0-9]+ sites of $W/refuse:" "$W/refuse.plugin.err" \
	"refused exe, plugin: the executable refused"
if grep -q "refusing.*refuse-plugin" "$W/refuse.plugin.err"; then
	fail "the plugin's 1-byte NOPs were refused although la_objopen registered them"
fi
# The same program, single-threaded at start-up (no libforms_thr): converted.
refuse_link -L"$BUILD" -lfntrace
rc=0; "$W/refuse" ops >"$W/refuse.single.out" 2>&1 || rc=$?
expect_grep '^OK$' "$W/refuse.single.out" "five 1-byte NOPs, single-threaded start-up"
note "gcc -fpatchable-function-entry=5 with a thread at start-up: refused with the flags to use"

# --- garbage in a site table ---------------------------------------------
# junk_fn (forms_junk.S) starts with push %rbp; mov %rsp,%rbp, and
# __mcount_loc lists it.  Non-PIE (absolute entry) and PIE (relocated).
for f in "gcc-nopmcount|-pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie|-no-pie" \
	 "gcc-fentry-pie|-pg -mfentry -mrecord-mcount -fPIE|-pie"; do
	IFS='|' read -r form cflags lflags <<<"$f"
	name=junk-$form
	build "$W/$name" gcc "-O2 $cflags" "$lflags" "$PROGS/forms_main.c" "$PROGS/forms_junk.S"
	# junk_fn(i) = i + 1 is added to the sum: a different reference.
	jref=$("$W/$name" plain 2>/dev/null | sed -n 's/^result=//p')
	ref_save=$ref; ref=$jref
	for mode in ops enable; do
		FORMS_JUNK=1 run "$name" $mode
		expect_grep "^fntrace: refusing site junk_fn \(0x[0-9a-f]+\) in $W/$name: unknown entry bytes 55 48 89 e5 8d" \
			"$W/$name.$mode.err" "$name $mode: refusal"
		[ "$(grep -c 'fntrace:' "$W/$name.$mode.err")" -eq 1 ] ||
			{ cat "$W/$name.$mode.err" >&2; fail "$name $mode: more than the refusal"; }
	done
	ref=$ref_save
	note "$form: junk_fn refused by name, the rest traced exactly"
done

# --- a table entry outside the text --------------------------------------
# Non-PIE (absolute entry) and PIE (the entry is a relocation).
for f in "baddata|-pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie|-no-pie" \
	 "baddata-pie|-pg -mfentry -mrecord-mcount -fPIE|-pie"; do
	IFS='|' read -r name cflags lflags <<<"$f"
	build "$W/$name" gcc "-O2 $cflags" "$lflags" "$PROGS/forms_main.c" "$PROGS/forms_baddata.S"
	run "$name" dead
	expect_grep "^fntrace: site table of $W/$name names 0x[0-9a-f]+, outside its executable text" \
		"$W/$name.dead.err" "$name: report"
	expect_grep "^fntrace: patching is disabled for good" "$W/$name.dead.err" "$name: kill"
	expect_grep "^report: site table of $W/$name names" "$W/$name.dead.out" "$name: fnt_status report"
	note "$name: a site table naming data: patching disabled for good, program unharmed"
done
# The address reported is junk_data's (non-PIE: its link-time address).
addr=$(nm "$W/baddata" | awk '$3 == "junk_data" { print $1 }' | sed 's/^0*//')
expect_grep "names 0x$addr," "$W/baddata.dead.err" "the address reported is junk_data's"

for l in "${late[@]}"; do echo "FAIL: $l" >&2; done
[ ${#late[@]} -eq 0 ] || exit 1
