/*
 * hooks.h - what the entry hooks (hooks.c) and function_graph's return
 * stack (fgraph.c) share: the per-thread record, its shadow frames and the
 * guard that every path running callbacks holds.  Internal to the runtime.
 */
#ifndef FNT_RUNTIME_HOOKS_H
#define FNT_RUNTIME_HOOKS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/core.h"
#include "runtime/runtime.h"

#define SHADOW_MAX FNT_MAX_DEPTH

/*
 * A shadow frame holds the call its entry callbacks got, so the exit
 * callbacks get the very same struct without a copy: call.frame is the
 * slot where the return address lives, call.parent_ip the real return
 * address, call.depth the frame's index.
 */
#define EXITING 2

struct frame {
	struct fnt_call call;
	uint32_t mask;		/* ops slots that want the exit */
	uint32_t hooked;	/* 1 while *call.frame holds fnt__tramp_return
				 * (or the entry callbacks run), 0 while an
				 * exception unwinds, EXITING while the exit
				 * callbacks run */
};

struct fnt_thread {
	int busy;		/* recursion guard: inside a hook on this thread */
	/* 1 once another thread may run with this thread's TLS (a clone with
	 * CLONE_VM but no CLONE_SETTLS): then each hook first checks that it
	 * runs on the owner, tid, and the other thread's calls are lost. */
	int shared;
	int tid;
	uint32_t depth;		/* used shadow frames */
	/* Odd while inside a hook; fnt__quiesce() waits for it to move.
	 * Written only by the owner (release), read by the patcher (acquire). */
	_Atomic unsigned long seq;
	_Atomic int used;	/* record owned by a live thread */
	uintptr_t guard_sp;	/* stack address of the outermost guarded hook */
	int *errnop;		/* this thread's errno, found once (no libc call per hook) */
	struct fnt_thread *next;
	struct frame stack[SHADOW_MAX];
};

/* This thread's record, or NULL before its first hook. */
extern __thread struct fnt_thread *fnt__self;

/* The slots of fnt__ops whose ops has an exit callback. */
extern _Atomic uint32_t fnt__exit_ops;

extern char fnt__tramp_return[];

/*
 * Every path that runs callbacks holds the guard: busy (signal handlers on
 * this thread skip the hooks) and, on the outermost level, an odd seq
 * (fnt__quiesce() waits for it to move) and guard_sp, an address in the
 * hook's own frame, below the traced function's and above any callback's
 * (stale() compares it with the stack).
 *
 * guard_sp is written before busy is raised and put back after busy drops:
 * a signal handler that runs a hook in between finds busy clear, uses
 * guard_sp itself and restores it, and one that runs while busy is set
 * always finds the holder's address there.
 */
struct held {
	int was;		/* busy before */
	uintptr_t sp;		/* guard_sp before */
};

static inline struct held guard(struct fnt_thread *t, uintptr_t sp)
{
	struct held h = { t->busy, t->guard_sp };

	if (!h.was) {
		t->guard_sp = sp;
		atomic_signal_fence(memory_order_seq_cst);
	}
	t->busy = h.was + 1;
	if (!h.was)
		/* release: pairs with the acquire load in fnt__quiesce(). */
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	return h;
}

/* guard() for a thread known not to be busy. */
static inline struct held guard_outer(struct fnt_thread *t, uintptr_t sp)
{
	struct held h = { 0, t->guard_sp };

	t->guard_sp = sp;
	atomic_signal_fence(memory_order_seq_cst);
	t->busy = 1;
	/* release: pairs with the acquire load in fnt__quiesce(). */
	atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	return h;
}

static inline void unguard(struct fnt_thread *t, struct held h)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (!h.was)
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	t->busy = h.was;
	if (!h.was) {
		atomic_signal_fence(memory_order_seq_cst);
		t->guard_sp = h.sp;
	}
}

/* hooks.c: drops a guard whose hook no longer runs (see stale()). */
void fnt__guard_drop(struct fnt_thread *t);
/* hooks.c: is the guard held by a hook that no longer runs?  If so it is
 * dropped and 1 is returned.  sp: an address in the caller's frame. */
int fnt__guard_stale(struct fnt_thread *t, uintptr_t sp);

/* fgraph.c: interposes the longjmp family (once, at start-up). */
void fnt__fgraph_init(void);
/* fgraph.c: pops the top frames that are dead when slot is about to be used. */
void fnt__fgraph_prune(struct fnt_thread *t, uintptr_t slot);
/* fgraph.c: reports every frame left as unwound (the thread is ending). */
void fnt__fgraph_unwind_all(struct fnt_thread *t);

#endif
