# tests/e2e/rec_common.bash - helpers of the recording end-to-end tests
# (sourced; not a test itself: run.sh runs *.sh only).  Self-contained, so
# the recording tests depend on nothing but the build: O (the build
# directory) and the fntrace binary, libfntrace.so and unit tests in it.
set -euo pipefail
ROOT=${FNT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$ROOT/$O ;; esac
FNTRACE=$BUILD/fntrace
PROGS=$ROOT/tests/progs
W=$BUILD/e2e/$(basename "$0" .sh)
rm -rf "$W"
mkdir -p "$W"
# The program's cwd may be anywhere: gmon.out and core files land in $W.
cd "$W"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
# expect_grep PATTERN FILE WHAT
expect_grep() { grep -qE -- "$1" "$2" || { cat "$2" >&2; fail "$3: no line matching '$1' in $2"; }; }

# build_rec NAME FORM OPT: builds tests/progs/rec_calls.c as $W/NAME with
# one of the patch-site forms the recorder is tested with.
build_rec() {
	local out=$W/$1 form=$2 opt=$3 src=$PROGS/rec_calls.c
	case $form in
	clang)	clang $opt -g -fpatchable-function-entry=5 -o "$out" "$src" -lpthread ;;
	clang-cet) # endbr64 before the NOP
		clang $opt -g -fpatchable-function-entry=5 -fcf-protection=full -o "$out" "$src" -lpthread ;;
	gcc-pie) # call *__fentry__@GOTPCREL: libfntrace defines __fentry__
		gcc $opt -g -pg -mfentry -mrecord-mcount -fPIC -c -o "$out.o" "$src"
		gcc -pie -o "$out" "$out.o" -L"$BUILD" -lfntrace -Wl,-rpath,"$BUILD" -lpthread 2>/dev/null ;;
	gcc-nop) # -pg at compile time only: linking with it would write gmon.out
		gcc $opt -g -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie -c -o "$out.o" "$src"
		gcc -no-pie -o "$out" "$out.o" -lpthread ;;
	gcc-exit) # gcc-nop with exit sites: a NOP before every return and tail jump
		gcc $opt -g -pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 \
			-mrecord-return -fno-pie -c -o "$out.o" "$src"
		gcc -no-pie -o "$out" "$out.o" -lpthread ;;
	*) fail "unknown form $form" ;;
	esac
}

# calls_of REPORT FUNC: the Calls column of FUNC in a report (0 if absent).
calls_of() {
	awk -v f="$2" '
		/^  [=]/ || /Total time/ || /Calls  Function/ { next }
		$NF == f { n = (NF == 2) ? $1 : $5 } END { print n + 0 }' "$1"
}

# expect_counts PROGOUT REPORT: every "calls NAME N" line of the program's
# output (summed over processes) equals the report's count.
expect_counts() {
	local name want got
	while read -r name want; do
		got=$(calls_of "$2" "$name")
		expect_eq "$got" "$want" "calls of $name"
	done < <(grep -o 'calls [a-z_]* [0-9]*' "$1" | awk '{s[$2] += $3} END {for (k in s) print k, s[k]}')
}

# info_field FILE FIELD: a value of fntrace info.
info_field() {
	"$FNTRACE" info -i "$1" | sed -n "s/^# $2 *: \([0-9]*\).*/\1/p"
}

# rec ARGS...: fntrace record ARGS, failing the test if the program did not
# exit 0 (a crash under tracing shows as 128+signal).
rec() {
	local rc=0
	"$FNTRACE" record "$@" || rc=$?
	[ $rc -eq 0 ] || fail "fntrace record $*: status $rc"
}

# build_flame: tests/progs/flame_main.c as $W/flame, with its library
# flame_lib.c as $W/libflame.so, both traceable (clang -O2).
build_flame() {
	clang -O2 -g -fpatchable-function-entry=5 -fPIC -shared -o "$W/libflame.so" "$PROGS/flame_lib.c"
	clang -O2 -g -fpatchable-function-entry=5 -o "$W/flame" "$PROGS/flame_main.c" -L"$W" -lflame \
		-Wl,-rpath,"$W"
}

# expect_rc CMD EXPECTED WHAT ARGS...: runs fntrace CMD ARGS into $W/out
# and $W/err, checks the status, and that stderr is one "fntrace: " line
# (no crash: a signal would give 128+).
expect_rc() {
	local cmd=$1 want=$2 what=$3 rc=0; shift 3
	"$FNTRACE" "$cmd" "$@" >"$W/out" 2>"$W/err" || rc=$?
	expect_eq "$rc" "$want" "$what: status ($(cat "$W/err"))"
	expect_eq "$(wc -l <"$W/err")" 1 "$what: stderr lines"
	expect_grep '^fntrace: ' "$W/err" "$what: message"
}

# bad_traces DATA: $W/cut.data (DATA cut in half), $W/bad.data (four bytes
# changed in the middle: a record's CRC no longer matches) and
# $W/junk.data (no trace at all).
bad_traces() {
	local size
	size=$(stat -c %s "$1")
	head -c $((size / 2)) "$1" >"$W/cut.data"
	cp "$1" "$W/bad.data"
	printf '\xff\xfe\xfd\xfc' | dd of="$W/bad.data" bs=1 seek=$((size / 2)) conv=notrunc status=none
	head -c 4096 /dev/urandom >"$W/junk.data"
}
