# tests/e2e/lib.sh - shared helpers of the end-to-end tests (sourced).
#
# Programs under test are real processes built from tests/progs/ with the
# compiler and flags each test names, linked with libfntrace.so and run
# with it as LD_AUDIT too (so dlopen'ed objects are covered).
set -euo pipefail
ROOT=${FNT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$ROOT/$O ;; esac
LIB=$BUILD/libfntrace.so
FNTRACE=$BUILD/fntrace
PROGS=$ROOT/tests/progs
W=$BUILD/e2e/$(basename "$0" .sh)
rm -rf "$W"
mkdir -p "$W"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }

# expect_grep PATTERN FILE WHAT
expect_grep() { grep -qE -- "$1" "$2" || { cat "$2" >&2; fail "$3: no line matching '$1' in $2"; }; }

# cbuild OUT CC FLAGS... -- SOURCES...: a test program using fntrace.h.
cbuild() {
	local out=$1 cc=$2; shift 2
	local flags=() srcs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
	shift
	srcs=("$@")
	# Compile and link apart: -pg at link time would add gprof's gmon.
	local objs=() i=0 lflags=()
	for f in "${flags[@]}"; do
		case "$f" in -no-pie|-pie|-rdynamic) lflags+=("$f") ;; esac
	done
	for s in "${srcs[@]}"; do
		"$cc" -g "${flags[@]}" -I"$ROOT/include" -c "$s" -o "$out.$i.o"
		objs+=("$out.$i.o"); i=$((i + 1))
	done
	"$cc" -g "${lflags[@]}" -o "$out" "${objs[@]}" \
		-L"$BUILD" -lfntrace -Wl,-rpath,"$BUILD" -lpthread -ldl
}

# traced CMD...: runs with the runtime as LD_AUDIT (and preloaded).
traced() { LD_PRELOAD=$LIB LD_AUDIT=$LIB "$@"; }
