/*
 * hooks.h - what the entry hooks (hooks.c) and function_graph's return
 * stack (fgraph.c) share: the per-thread record, its shadow frames and the
 * guard that every path running callbacks holds.  Internal to the runtime.
 */
#ifndef FNT_RUNTIME_HOOKS_H
#define FNT_RUNTIME_HOOKS_H

#include <stdatomic.h>
#include <stdint.h>

#include "arch/arch.h"
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
#define NOHIJACK 3
#define TAILING 4

struct frame {
	struct fnt_call call;
	uint32_t mask;		/* ops slots that want the exit */
	uint32_t hooked;	/* 1 while *call.frame holds fnt__tramp_return
				 * (or the entry callbacks run), 0 while an
				 * exception unwinds, EXITING while the exit
				 * callbacks run, NOHIJACK for a call whose
				 * exit sites close it (its return is its own),
				 * TAILING for one that tail-jumped to a function
				 * whose exit closes both */
};

extern char fnt__tramp_return[];

/*
 * May f, whose slot is not the one about to be used, still be alive on
 * another stack (a coroutine's)?  A hooked frame is while its slot holds
 * our trampoline; an unhijacked one while its slot holds its own return
 * address.  Either way, a frame on this stack below the current one is
 * dead; this only keeps frames whose stack we cannot tell.
 */
static inline int fnt__frame_may_live(const struct frame *f)
{
	uintptr_t v = *(const uintptr_t *)f->call.frame;

	return f->hooked == NOHIJACK || f->hooked == TAILING ? v == f->call.parent_ip
							     : v == (uintptr_t)fnt__tramp_return;
}

/*
 * Will the function that the tail jump at exit site addr of o goes to
 * push a frame of its own that its exit sites close?  Then the jumping
 * call waits for that exit (TAILING) instead of being hooked.  A change of
 * that function's state in between (turned off right then) leaves the
 * waiting frame to a later prune: its end is then reported late, unwound.
 */
static inline int fnt__tail_goes_on(const struct fnt_object *o, uintptr_t addr)
{
	int32_t k = fnt__exit_index(o, addr);
	const struct fnt_site *s;

	if (k < 0 || !o->tail_to[k])
		return 0;
	s = &o->sites[o->tail_to[k] - 1];
	return atomic_load_explicit(&s->exits_live, memory_order_relaxed) &&
	       (atomic_load_explicit(&s->want, memory_order_relaxed) &
		atomic_load_explicit(&fnt__exit_ops, memory_order_relaxed));
}

/*
 * f, an unhooked frame, leaves by the tail jump of the exit site whose
 * trampoline got sp: it waits for its callee's exit, or its return is
 * hooked now.  The slot is written before the state: a handler that sees
 * the frame hooked finds it as hooked frames are.
 */
static inline void fnt__tail_leave(const struct fnt_object *o, uintptr_t *sp, struct frame *f)
{
	if (fnt__tail_goes_on(o, sp[0] - 5)) {
		f->hooked = TAILING;
		return;
	}
	sp[1] = (uintptr_t)fnt__tramp_return;
	atomic_signal_fence(memory_order_seq_cst);
	f->hooked = 1;
}

/*
 * A signal handler that interrupts a hook on this thread (the guard is held
 * by a hook that still runs) has its traced calls recorded at a level of
 * their own: their shadow frames lie above every frame the interrupted hook
 * may be touching, with a depth of their own, so the interrupted hook finds
 * the stack as it left it.  The kernel's function_graph takes nested
 * entries from interrupts the same way.  A level lives while the hook it
 * interrupted is suspended: it ends when that hook drops its guard.
 */
#define NEST_LEVELS 4
#define GUARD_MAX 16		/* guards held at once on one thread */

struct level {
	uint32_t busy;		/* the guard count its handler found (t->busy) */
	uint32_t base;		/* its first frame in stack[] */
	uint32_t depth;		/* its frames: stack[base .. base + depth) */
};

struct fnt_thread {
	int busy;		/* guards held: inside a hook on this thread */
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
	/* In a user's callback (api.c's wrappers): a traced call made now may
	 * be the callback's own, never traced, so a hook that finds the guard
	 * held does not take it for a signal handler's. */
	int in_user;
	uint32_t nlev;		/* nested levels (see struct level) */
	struct level lev[NEST_LEVELS];
	/* Stack addresses of the guards' holders, outermost first: gsp[i] in
	 * the frame of the one that raised busy to i + 1 (see guard()). */
	uintptr_t gsp[GUARD_MAX];
	int *errnop;		/* this thread's errno, found once (no libc call per hook) */
	struct fnt_thread *next;
	struct frame stack[SHADOW_MAX];
};

/* This thread's record, or NULL before its first hook. */
extern __thread struct fnt_thread *fnt__self;


/*
 * Every path that runs callbacks holds the guard: busy counts the holders
 * (a signal handler's hooks nest, see struct level), the outermost one
 * keeps seq odd (fnt__quiesce() waits for it to move), and each holder's
 * gsp is an address in its own frame, below the traced function's and above
 * any callback's (fnt__guard_stale() compares it with the stack).
 *
 * gsp[busy] is written before busy is raised: a signal handler that runs a
 * hook in between finds busy as it was and uses that slot itself, and one
 * that runs once busy is raised finds the holder's address there.
 */
struct held {
	int was;		/* busy before */
};

/*
 * A guard's address also says, in its low bits (stack addresses are
 * 8-aligned here), which trampoline called its holder, if one did:
 * GSP_ENTRY for a hook called by the entry trampoline with sp, GSP_EXIT for
 * one called by the hooked return's with rsp.  fnt__guard_stale() can then
 * check that the holder still runs by the trampoline's return address into
 * it.  GSP_ADDR is the address alone.
 */
#define GSP_ENTRY(sp) ((uintptr_t)(sp) - 8 + FNT_TRAMP_ENTRY)
#define GSP_EXIT(rsp) ((uintptr_t)(rsp) - 24 + FNT_TRAMP_RETURN)
#define GSP_EXIT_SITE(sp) ((uintptr_t)(sp) - 8 + FNT_TRAMP_EXIT)
#define GSP_TAIL_SITE(sp) ((uintptr_t)(sp) - 8 + FNT_TRAMP_TAIL)
#define GSP_ADDR(g) ((g) & ~(uintptr_t)7)

/* fgraph.c: ends the nested levels of handlers that interrupted a holder
 * which is about to leave busy at busy (their frames left are unwound). */
void fnt__levels_trim(struct fnt_thread *t, int busy);

static inline struct held guard(struct fnt_thread *t, uintptr_t sp)
{
	struct held h = { t->busy };

	if (h.was < GUARD_MAX)
		t->gsp[h.was] = sp;
	atomic_signal_fence(memory_order_seq_cst);
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
	struct held h = { 0 };

	t->gsp[0] = sp;
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
	/* A level of a handler that interrupted this holder has ended (the
	 * handler returned, LIFO): frames it left are reported first, while
	 * the guard still keeps other handlers out of them. */
	if (__builtin_expect(t->nlev != 0, 0))
		fnt__levels_trim(t, h.was);
	if (!h.was)
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	t->busy = h.was;
}

/* hooks.c: drops a guard whose hook no longer runs (see stale()). */
void fnt__guard_drop(struct fnt_thread *t);
/* hooks.c: is the guard held by a hook that no longer runs?  If so it is
 * dropped and 1 is returned.  sp: an address in the caller's frame. */
int fnt__guard_stale(struct fnt_thread *t, uintptr_t sp);

/* The general path, where the trampolines come (or the direct path, when
 * it declines): hooks.c's entry, fgraph.c's return.  sp[0] = site + 5,
 * sp[1] = the return address; rsp = the hooked frame's slot + 8. */
void fnt__hook_entry(struct fnt_object *o, uintptr_t *sp);
uintptr_t fnt__hook_exit(uintptr_t rsp);
/* fgraph.c: an exit site, reached through the exit trampoline: sp as at
 * an entry (sp[1] = the leaving function's return address). */
void fnt__hook_exit_site(struct fnt_object *o, uintptr_t *sp);
/* fgraph.c: an exit site before a tail jump; sp as above. */
void fnt__hook_tail_site(struct fnt_object *o, uintptr_t *sp);

/* fgraph.c: interposes the longjmp family (once, at start-up). */
void fnt__fgraph_init(void);
/*
 * Can fnt__fgraph_prune() pop anything from stack[base .. base + depth)
 * when slot is about to be used?  Only a top frame at or below this slot can
 * be dead (the caller's live frame lies above it), and only if its slot no
 * longer holds our trampoline: a tail call reuses its caller's slot, which
 * still does.  The common cases need no call.
 */
static inline int fnt__fgraph_may_prune(const struct fnt_thread *t, uint32_t base, uint32_t depth,
					uintptr_t slot)
{
	const struct frame *f;

	if (!depth)
		return 0;
	f = &t->stack[base + depth - 1];
	if (f->call.frame > slot)
		return 0;
	if (f->call.frame == slot && f->hooked == TAILING)
		return 0;	/* it jumped here: the call about to start is its */
	return f->hooked == NOHIJACK || f->hooked == TAILING ||
	       *(const uintptr_t *)f->call.frame != (uintptr_t)fnt__tramp_return;
}

/* fgraph.c: closes the frames left on top of stack[base .. base + *depth)
 * at slot that tail-jumped into the call just closed there. */
void fnt__fgraph_close_tailing(struct fnt_thread *t, uint32_t base, uint32_t *depth,
			       uintptr_t slot);
/* fgraph.c: pops the top frames of stack[base .. base + *depth) that are
 * dead when slot is about to be used. */
void fnt__fgraph_prune(struct fnt_thread *t, uint32_t base, uint32_t *depth, uintptr_t slot);
/* fgraph.c: the nested level of a hook that found busy set by a holder that
 * still runs (a signal handler interrupted it), made if needed; NULL if
 * none can be had.  Called with the guard held (busy + 1). */
struct level *fnt__level_get(struct fnt_thread *t, int busy);
/* fgraph.c: reports every frame left as unwound (the thread is ending). */
void fnt__fgraph_unwind_all(struct fnt_thread *t);

#endif
