/*
 * xstate.c - what fnt__call_saved() (trampoline.S) saves around a user's
 * callback: the whole user-visible extended state (x87, SSE, AVX,
 * AVX-512, ...), as a signal frame holds it.
 *
 * The trampolines keep only the integer argument and return registers,
 * because the runtime's own hook code never touches a vector register
 * (built with -mgeneral-regs-only; tests/e2e/novec.sh checks the binary).
 * A user's callback is ordinary code: the compiler and libc may use any
 * ymm or zmm register in it, and the traced function's vector arguments
 * (or, at exit, its vector return value) live there.
 */
#include <cpuid.h>
#include <stdint.h>

#include "arch/arch.h"

/* Read by fnt__call_saved(); set once by fnt__xstate_init(), before the
 * first wrapped callback is published (a release store orders them). */
uint32_t fnt__xs_kind;		/* FNT_XS_* */
uint32_t fnt__xs_size;		/* bytes of the save area, a multiple of 64 */
uint64_t fnt__xs_mask;		/* components saved (XCR0, less AMX) */

/* AMX tile state (XCR0 bits 17-18): 8 KB, and restoring it in a process
 * that did not ask the kernel for it faults.  A callback using AMX is not
 * supported. */
#define XFEATURE_AMX ((1ull << 17) | (1ull << 18))

void fnt__xstate_init(void)
{
	unsigned a, b, c, d;
	uint64_t xcr0, size = 512 + 64;

	if (fnt__xs_size)
		return;
	fnt__xs_kind = FNT_XS_FXSAVE;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && __get_cpuid_max(0, NULL) >= 0xd) {
		uint32_t lo, hi;
		uint64_t compact = 576;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32 | lo) & ~XFEATURE_AMX;
		fnt__xs_mask = xcr0;
		fnt__xs_kind = FNT_XS_XSAVE;
		/* The standard layout: every component at its fixed offset. */
		__cpuid_count(0xd, 0, a, b, c, d);
		if (b > size)
			size = b;
		/* XSAVEC skips components in their initial state (most of
		 * AVX-512 in most programs), so it writes less. */
		__cpuid_count(0xd, 1, a, b, c, d);
		if (a & (1u << 1)) {
			fnt__xs_kind = FNT_XS_XSAVEC;
			/* The compacted layout: components in order, some
			 * 64-byte aligned; never larger than needed. */
			for (int i = 2; i < 63; i++) {
				if (!(xcr0 & (1ull << i)))
					continue;
				__cpuid_count(0xd, i, a, b, c, d);
				if (c & 2)
					compact = (compact + 63) & ~63ull;
				compact += a;
			}
			if (compact > size)
				size = compact;
		}
	}
	/* Published last: fnt__call_saved() reads the kind and mask after
	 * the callback pointer that led it there (acquire in the hooks). */
	fnt__xs_size = (uint32_t)((size + 63) & ~63ull);
}
