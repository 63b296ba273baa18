#!/usr/bin/env bash
# novec.sh - nothing a hook runs may change a vector register, because the
# traced function's vector arguments (and at exit its vector result) live
# there and the trampolines save no vector register.
#
#  1. No function of libfntrace.so but the trampolines and
#     fnt__call_saved uses an x87, MMX, SSE, AVX or AVX-512 register or
#     instruction: the runtime is built with -mgeneral-regs-only.
#  2. The functions a hook can reach by direct calls (from the hooks and
#     the recorder's callbacks, which the hooks call indirectly) call no
#     libc function outside an allowlist of ones known to use no vector
#     register.  glibc's string and stdio routines (memcpy, memset,
#     strlen, vsnprintf, ...) use AVX2 or AVX-512 copies picked at load
#     time; one of them in a hook corrupted __m256 arguments.
#  3. Functional: __m256 (and __m512 where the CPU has AVX-512F) arguments
#     and results stay exact with more threads than rings (the "no free
#     ring" path logs from inside the hook), under both tracers, and with
#     user callbacks (fnt_register_ops, fnt_set_builtin_tracer) that
#     clobber every vector register.
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

# --- 1 and 2: the binary ------------------------------------------------
objdump -d --no-show-raw-insn "$LIB" >"$W/lib.dis"
# The functions allowed to touch vector state: they save it.
saving='^(fnt__tramp_entry|fnt__tramp_return|fnt__call_saved)$'
awk -v saving="$saving" '
	/^[0-9a-f]+ <[^>]+>:$/ { fn = substr($2, 2, length($2) - 3); next }
	fn ~ saving { next }
	/%([xyz]mm[0-9]|mm[0-7]|k[0-7]|st)/ ||
	/\t(f[a-z0-9]+|vzero[a-z]*|emms|[ls]tmxcsr|v?ldmxcsr|xsave[a-z0-9]*|xrstor[a-z0-9]*)( |$)/ {
		print fn ": " $0
	}' "$W/lib.dis" >"$W/vector-use"
[ -s "$W/vector-use" ] && { head -20 "$W/vector-use"; fail "vector registers used outside the trampolines (is the runtime still built with -mgeneral-regs-only?)"; }
note "no vector register outside the trampolines and fnt__call_saved"

# The roots: the hooks, and the built-in tracer's callbacks (reached
# through a pointer, which the walk cannot follow).  A root that is gone
# (renamed) fails the test rather than shrink the walk.
roots="fnt__hook_entry fnt__hook_exit func_entry graph_entry graph_exit thresh_entry thresh_exit"
awk -v ROOTS="$roots" -f "$ROOT/tests/e2e/novec.awk" "$W/lib.dis" >"$W/walk"
grep '^missing' "$W/walk" && fail "hook path root not found in $LIB"
[ "$(grep -c '^reach' "$W/walk")" -gt 10 ] || fail "the walk found too little: $(cat "$W/walk")"
# libc functions a hook may call, and why each leaves vector registers
# alone:
#   syscall, mmap, madvise, sigaltstack, kill: thin system call wrappers
#     (not cancellation points, unlike open/write/close: raw syscall() is
#     used for those);
#   clock_gettime: a wrapper around the vDSO, which is kernel code built
#     without SSE;
#   __errno_location: returns a thread-local address;
#   pthread_setspecific: integer code (it allocates, with calloc, only for
#     keys past the first 32; the runtime creates its keys at start-up).
allowed=' syscall mmap madvise sigaltstack kill clock_gettime __errno_location pthread_setspecific '
bad=0
while read -r _ sym from; do
	case "$allowed" in *" $sym "*) ;; *) echo "hook path: $from calls $sym"; bad=1 ;; esac
done < <(grep '^plt ' "$W/walk")
[ $bad = 0 ] || fail "the hook path calls libc functions that may use vector registers"
note "hook path: $(grep -c '^reach' "$W/walk") functions, libc calls: $(grep '^plt ' "$W/walk" | awk '{print $2}' | sort -u | tr '\n' ' ')"

# --- 3: the values ------------------------------------------------------
grep -qw avx2 /proc/cpuinfo || { echo "SKIP: this CPU has no AVX2, the value checks cannot run"; echo "novec: ok (binary checks only)"; exit 0; }
variants=(-mavx2)
if grep -qw avx512f /proc/cpuinfo; then
	variants+=(-mavx512f)
else
	echo "SKIP: this CPU has no AVX-512F: the __m512 part does not run"
fi
for v in "${variants[@]}"; do
	exe=$W/vec$v
	cbuild "$exe" clang -O2 "$v" -fpatchable-function-entry=5 -- "$PROGS/vec_args.c"
	# glibc's AVX2 routines end with vzeroupper (zeroing every upper
	# half); on AVX-512 machines it prefers EVEX ones, which use ymm16-31
	# instead: run both.
	for tun in "" glibc.cpu.hwcaps=-AVX512VL; do
		for tracer in function function_graph; do
			tag="$v $tracer ${tun:-default string routines}"
			rc=0
			GLIBC_TUNABLES=$tun FNTRACE_RINGS=2 "$BUILD/fntrace" record --tracer $tracer -F 'vmix*' \
				-o "$W/vec.data" "$exe" threads 8 3000 >"$W/out" 2>"$W/err" || rc=$?
			cat "$W/out"
			expect_grep 'no free ring for thread' "$W/err" "$tag: the no-ring path ran"
			expect_grep '^bad256 0$' "$W/out" "$tag: __m256 values"
			expect_grep '^bad512 0$' "$W/out" "$tag: __m512 values"
			expect_eq "$rc" 0 "$tag: status"
		done
	done
	for mode in ops builtin; do
		rc=0
		traced "$exe" $mode 2000 >"$W/out" 2>&1 || rc=$?
		cat "$W/out"
		# 2000 calls of vmix256, and as many of vmix512 with AVX-512.
		n=2000; grep -q '^avx512 yes$' "$W/out" && n=4000
		expect_grep "^callbacks $n $n\$" "$W/out" "$v $mode: callbacks ran"
		expect_grep '^bad256 0$' "$W/out" "$v $mode: __m256 values with clobbering callbacks"
		expect_grep '^bad512 0$' "$W/out" "$v $mode: __m512 values with clobbering callbacks"
		expect_eq "$rc" 0 "$v $mode: status"
	done
done
echo "novec: ok"
