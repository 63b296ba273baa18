/*
 * x86.h - internal interface of the x86-64 arch layer.
 */
#ifndef FNT_ARCH_X86_H
#define FNT_ARCH_X86_H

#include "arch/arch.h"

/* Site forms (fnt_site.form). */
enum {
	X86_NOP5 = 1,		/* 0f 1f 44 00 00 */
	X86_NOP5_CLANG,		/* 0f 1f 44 00 08 */
	X86_NOP1X5,		/* 90 90 90 90 90 */
	X86_CALL_FENTRY,	/* e8 rel32 to __fentry__ */
	X86_CALL_FENTRY_GOT,	/* ff 15 disp32 through __fentry__'s GOT slot */
	X86_EXIT_NOP5,		/* 0f 1f 44 00 00 before a ret: an exit site */
	X86_EXIT_TAIL,		/* 0f 1f 44 00 00 before a tail call's jmp */
};

#define X86_INT3 0xcc

extern const uint8_t fnt__nop5[5];

void fnt__x86_encode_call(uintptr_t at, uintptr_t target, uint8_t out[5]);
int fnt__x86_classify(struct fnt_object *o, const struct fnt_elf *e, struct fnt_site *s,
		      char *why, size_t whylen);
int fnt__x86_classify_exit(struct fnt_object *o, struct fnt_site *s, uintptr_t *to, char *why,
			   size_t whylen);
int fnt__x86_exit_is_tail(const struct fnt_site *s);
int fnt__x86_needs_convert(const struct fnt_site *s);
int fnt__x86_convert(struct fnt_object *o, struct fnt_site *s);
void fnt__x86_prepare(struct fnt_change *c);

/* patch.c */
int fnt__x86_apply_live(struct fnt_change *c, size_t n);
int fnt__x86_apply_quiescent(struct fnt_change *c, size_t n);
int fnt__x86_text_writable(struct fnt_object *o, int on);
int fnt__x86_trap(siginfo_t *si, void *uctx);
uintptr_t fnt__x86_context_sp(const void *uctx);
uintptr_t fnt__x86_hook_ret_slot(int kind, uintptr_t arg, uintptr_t ret[2]);
void fnt__x86_forget_object(struct fnt_object *o);

/* Test hook: nanoseconds the trap handler spins while it holds the batch's
 * reference (FNTRACE_TEST_TRAP_HOLD_NS), so that signals land there. */
extern long fnt__trap_hold_ns;

/* sync.c */
int fnt__x86_sync_init(void);
int fnt__x86_sync(void);
/* Names the sync in use, for messages. */
const char *fnt__x86_sync_name(void);
int fnt__x86_threads_trappable(int *tid);

/* tramp.c: the near trampoline of an object, and its entry address. */
int fnt__x86_object_init(struct fnt_object *o);
void fnt__x86_object_fini(struct fnt_object *o);
uintptr_t fnt__x86_near_entry(const struct fnt_object *o);
uintptr_t fnt__x86_near_exit(const struct fnt_object *o);
uintptr_t fnt__x86_near_tail(const struct fnt_object *o);
/* tramp.c: a writable page within rel32 reach of [lo, hi), or NULL; then
 * made read+exec (or unmapped on failure: -EPERM). */
void *fnt__x86_map_near(uintptr_t lo, uintptr_t hi);
int fnt__x86_seal_near(void *p);

/* rbrk.c */
int fnt__x86_rbrk_prepare(uintptr_t rbrk, const uint8_t *cur, size_t n, uint8_t old[5],
			  uint8_t new_[5], void **page);


void fnt__x86_needed_signals(sigset_t *set);

#endif
