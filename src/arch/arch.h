/*
 * arch.h - the one seam between generic code and an architecture.
 *
 * Generic code (src/core, src/runtime) never touches an opcode; it calls
 * these operations.  Each has a one-line contract.  x86-64 fills the table
 * in src/arch/x86_64/ops.c.
 */
#ifndef FNT_ARCH_ARCH_H
#define FNT_ARCH_ARCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define FNT_MAX_INSN 8

/* One site's change within a batch. */
struct fnt_change {
	uintptr_t addr;
	uint8_t old[FNT_MAX_INSN];	/* the bytes expected before */
	uint8_t new[FNT_MAX_INSN];	/* the bytes wanted after */
	uint8_t len;
	uint8_t enable;			/* 1: new is the call */
	uintptr_t target;		/* the call's target when enable */
	struct fnt_object *obj;
	struct fnt_site *site;
};

/* The trampolines that call hooks: the entry's (arg: the address of the
 * site's return address), the hooked return's (arg: the hooked frame's
 * slot + 8), and the exit sites' before a return and before a tail jump
 * (arg: as the entry's). */
enum { FNT_TRAMP_ENTRY = 1, FNT_TRAMP_RETURN = 2, FNT_TRAMP_EXIT = 3, FNT_TRAMP_TAIL = 4 };

struct fnt_arch_ops {
	/* Prepares the process (sync mechanism).  Returns 0 or -errno. */
	int (*init)(void);
	/* Classifies the bytes at a site, which may be moved past a prefix;
	 * returns 0, or -EINVAL with the reason in why. */
	int (*classify)(struct fnt_object *o, const struct fnt_elf *e, struct fnt_site *s,
			char *why, size_t whylen);
	/* Classifies an exit site (a NOP the compiler put before a return or
	 * a tail jump), with in *to the target of a direct tail jump (else 0);
	 * returns 0, or -EINVAL with the reason in why. */
	int (*classify_exit)(struct fnt_object *o, struct fnt_site *s, uintptr_t *to, char *why,
			     size_t whylen);
	/* Is the exit site s before a tail jump (not a return)? */
	int (*exit_is_tail)(const struct fnt_site *s);
	/* Returns 1 if the site's form must be rewritten before use; such a
	 * rewrite is safe only while no thread runs the object. */
	int (*needs_convert)(const struct fnt_site *s);
	/* Rewrites a site into its canonical NOP; call only with the object's
	 * text writable and no thread inside the site.  Returns 0 or -errno. */
	int (*convert)(struct fnt_object *o, struct fnt_site *s);
	/* Sets up per-object state (the near trampoline).  Returns 0 or -errno. */
	int (*object_init)(struct fnt_object *o);
	/* Frees per-object state; the object's code can no longer run. */
	void (*object_fini)(struct fnt_object *o);
	/* Fills the change's old/new bytes for enabling or disabling a site. */
	void (*prepare)(struct fnt_change *c);
	/* Applies n changes sorted by address with the live int3 protocol,
	 * verifying every write.  Returns 0 or -errno (-EFAULT, -EINVAL, -EPERM). */
	int (*apply_live)(struct fnt_change *c, size_t n);
	/* Applies n changes by plain verified writes; only while no thread can
	 * run the code.  Returns 0 or -errno. */
	int (*apply_quiescent)(struct fnt_change *c, size_t n);
	/* Makes o's text writable (on=1) or restores it (on=0).  Returns 0 or -errno. */
	int (*text_writable)(struct fnt_object *o, int on);
	/* Handles a SIGTRAP if one of ours caused it.  Returns 1 if handled. */
	int (*trap)(siginfo_t *si, void *uctx);
	/* The stack pointer of the context a signal handler interrupted. */
	uintptr_t (*context_sp)(const void *uctx);
	/* Where the trampoline of kind (FNT_TRAMP_*) that passed arg to its
	 * hook keeps the hook's return address, with in ret the two values
	 * it holds while that hook runs. */
	uintptr_t (*hook_ret_slot)(int kind, uintptr_t arg, uintptr_t ret[2]);
	/* Returns 0 if every thread can take a SIGTRAP, or -EDEADLK with the
	 * offending thread's id in *tid. */
	int (*threads_trappable)(int *tid);
	/* Makes every thread of the process execute a full memory barrier
	 * before it returns (an asymmetric fence).  Returns 0 or -errno. */
	int (*sync_threads)(void);
	/* Removes o's sites from any batch kept alive after a kill. */
	void (*forget_object)(struct fnt_object *o);
	/* Adds to set the signals every thread must take, the runtime's own
	 * included (SIGTRAP, a sync's signal): its agent blocks the rest. */
	void (*needed_signals)(sigset_t *set);
	/* The bytes that make the dynamic linker's debugger hook at rbrk (cur:
	 * n >= 16 bytes read there) call fnt__rbrk_hit() and return to its
	 * caller; -EINVAL if the hook is not the empty function expected. */
	int (*rbrk_prepare)(uintptr_t rbrk, const uint8_t *cur, size_t n, uint8_t old[5],
			    uint8_t new_[5], void **page);
};

extern const struct fnt_arch_ops fnt__arch;

/* Test hook: nanoseconds the trap handler waits before it looks, so that
 * traps outlive their batch (seed 003).  Set from FNTRACE_TEST_TRAP_DELAY_NS. */
extern _Atomic long fnt__trap_delay_ns;

/*
 * Calling a callback that may use vector registers from inside a hook
 * (x86_64/xstate.c, trampoline.S).  fnt__xstate_init() (once, before the
 * first use; not from a hook) finds how to save the extended state;
 * fnt__call_saved() calls fn(call, data) with every register a callback
 * may clobber saved and restored around it, and returns what fn returned
 * (garbage for a void fn).
 */
enum { FNT_XS_FXSAVE = 0, FNT_XS_XSAVE = 1, FNT_XS_XSAVEC = 2 };
void fnt__xstate_init(void);
int fnt__call_saved(void *fn, const void *call, void *data);

#endif
