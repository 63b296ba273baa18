/*
 * ops.c - the x86-64 arch operations table (see src/arch/arch.h).
 */
#include <stdlib.h>

#include "arch/x86_64/x86.h"
#include "util/env.h"

static int x86_init(void)
{
	const char *hold = fnt__env("FNTRACE_TEST_TRAP_HOLD_NS");

	if (hold)
		fnt__trap_hold_ns = atol(hold);
	return fnt__x86_sync_init();
}

const struct fnt_arch_ops fnt__arch = {
	.init = x86_init,
	.classify = fnt__x86_classify,
	.classify_exit = fnt__x86_classify_exit,
	.exit_is_tail = fnt__x86_exit_is_tail,
	.needs_convert = fnt__x86_needs_convert,
	.convert = fnt__x86_convert,
	.object_init = fnt__x86_object_init,
	.object_fini = fnt__x86_object_fini,
	.prepare = fnt__x86_prepare,
	.apply_live = fnt__x86_apply_live,
	.apply_quiescent = fnt__x86_apply_quiescent,
	.text_writable = fnt__x86_text_writable,
	.trap = fnt__x86_trap,
	.context_sp = fnt__x86_context_sp,
	.hook_ret_slot = fnt__x86_hook_ret_slot,
	.threads_trappable = fnt__x86_threads_trappable,
	.sync_threads = fnt__x86_sync,
	.forget_object = fnt__x86_forget_object,
	.needed_signals = fnt__x86_needed_signals,
	.rbrk_prepare = fnt__x86_rbrk_prepare,
};
