/*
 * direct.c - the built-in recorder's own path: a site that only the
 * recorder wants goes straight to its ring.
 *
 * The general path (hooks.c, fgraph.c) serves any set of ops: it builds
 * a struct fnt_call, walks the ops that want the site and calls each one
 * through a pointer, and the recorder's callbacks then check again what
 * the hooks already knew.  The kernel gives a single ftrace_ops a
 * trampoline of its own instead of the list walker; here the trampolines
 * come to fnt__direct_entry() and fnt__direct_exit() while fnt__direct
 * names the recorder's tracer, and those do what the hooks and the
 * recorder's callbacks (graph_entry, graph_exit, func_entry) would do,
 * inline, with the same shadow frames, guard and ring writer.
 *
 * Anything out of the common case goes to the general path, which is the
 * reference: a thread's first call (no record, no ring yet), a busy or
 * shared guard (a signal handler, a user's callback, a raw clone), a site
 * that other ops want too, a tracer changing, a threshold, a depth past
 * --depth (or past the recorder's 1000), an object or site the event word
 * cannot name, a return that is not the top frame's.  Each is decided before anything is written, so
 * the general path starts from the state it would have found.
 *
 * Why it is safe to read the recorder's state here: fnt__direct is loaded
 * inside the guard, and the recorder's end clears it and quiesces before
 * its region goes (recorder.c's timeline): a hook that saw it set finishes
 * its write before the region is unmapped.
 */
#include <stdint.h>

#include "core/core.h"
#include "ring/clock.h"
#include "ring/ring.h"
#include "runtime/hooks.h"
#include "runtime/rec_hot.h"
#include "runtime/runtime.h"

_Atomic int fnt__direct;

/*
 * What is rare is kept out of line: a ring's slow path (a time base every
 * 256 words, a caller not cached, a ring past half full or full), a prune
 * (frames left by longjmp), the clock without an invariant TSC.  Those
 * helpers also keep errno, which only they can change (a ring opened or
 * waited for, a report that reaches a syscall): the traced function may
 * be about to read it, and the common path need not save it.
 */
#define RARE __attribute__((noinline, cold))

static RARE void emit_slow(struct fnt_thread *t, struct fnt_ring_writer *w, unsigned type,
			   uint32_t obj, uint32_t idx, uint64_t ts, uint64_t aux)
{
	int saved_errno = *t->errnop;

	fnt__ring_emit_slow(w, type, obj, idx, ts, aux);
	*t->errnop = saved_errno;
}

static RARE void prune(struct fnt_thread *t, uintptr_t slot)
{
	int saved_errno = *t->errnop;

	fnt__fgraph_prune(t, 0, &t->depth, slot);
	*t->errnop = saved_errno;
}

/* Frames that tail-jumped into the call just closed at slot. */
static RARE void tailing(struct fnt_thread *t, uintptr_t slot)
{
	int saved_errno = *t->errnop;

	fnt__fgraph_close_tailing(t, 0, &t->depth, slot);
	*t->errnop = saved_errno;
}

/* The clock where the TSC is not invariant (a vDSO call). */
static RARE uint64_t mono_ns(void)
{
	return fnt_clock_mono_ns();
}

static inline __attribute__((always_inline)) void emit(struct fnt_thread *t,
							struct fnt_ring_writer *w, unsigned type,
							uint32_t obj, uint32_t idx, uint64_t aux)
{
	uint64_t ts = __builtin_expect(fnt__rec.clock == FNT_CLOCK_TSC, 1)
			      ? fnt_clock_read(FNT_CLOCK_TSC) : mono_ns();

	if (__builtin_expect(fnt_ring_emit_fast(w, type, obj, idx, ts, aux) != 0, 0))
		emit_slow(t, w, type, obj, idx, ts, aux);
}

/*
 * Closes f, the top frame of the thread's depth frames, as fgraph.c's
 * finish(): the frame stays on top, EXITING, while the exit is written,
 * and its bit is cleared after, so that a siglongjmp out of a handler in
 * between reports it unwound once.
 */
static inline __attribute__((always_inline)) void close_top(struct fnt_thread *t,
							     struct fnt_rec_thread *r,
							     struct frame *f, uint32_t depth)
{
	f->hooked = EXITING;
	f->call.flags = 0;
	atomic_signal_fence(memory_order_seq_cst);
	emit(t, &r->w, FNT_EV_EXIT, f->call.object_id, f->call.site_index, 0);
	f->mask = 0;
	atomic_signal_fence(memory_order_seq_cst);
	t->depth = depth - 1;
}

/*
 * A call of a patched function: sp[0] = site + 5 (the trampoline's return
 * address), sp[1] = the return address into the caller.
 */
__attribute__((visibility("hidden"))) void fnt__direct_entry(struct fnt_object *o, uintptr_t *sp)
{
	struct fnt_thread *t = fnt__self;
	struct fnt_rec_thread *r = &fnt__rec_self;
	uintptr_t slot = (uintptr_t)&sp[1];
	struct held held;
	struct fnt_site *s;
	uint32_t depth, md;
	int32_t idx;
	int kind;

	if (__builtin_expect(!t || fnt__in_runtime || (t->busy | t->shared), 0))
		goto general;
	held = guard_outer(t, GSP_ENTRY(sp));
	/* acquire: pairs with the release store in fnt__set_builtin(). */
	kind = atomic_load_explicit(&fnt__direct, memory_order_acquire);
	idx = fnt__site_index(o, sp[0] - 5);
	if (__builtin_expect(idx < 0, 0)) {
		/* Not ours (the general path would find nothing either). */
		unguard(t, held);
		return;
	}
	s = &o->sites[idx];
	if (__builtin_expect(atomic_load_explicit(&s->want, memory_order_relaxed) != 1 ||
			     kind == FNT_DIRECT_NONE || !fnt__rec_ready(r) ||
			     o->id > FNT_EV_OBJ_MAX || (uint32_t)idx > FNT_EV_IDX_MAX, 0))
		goto unguard_general;
	depth = t->depth;
	md = __atomic_load_n(&fnt__rec.max_depth, __ATOMIC_RELAXED);
	if (kind == FNT_DIRECT_GRAPH &&
	    __builtin_expect(depth >= FNT_REC_GRAPH_MAX_DEPTH || (md && depth >= md), 0))
		/* A prune below can only lower the depth: in range now means in
		 * range then.  Out of range, the general path decides with the
		 * depth it finds after its own prune. */
		goto unguard_general;
	if (__builtin_expect(fnt__fgraph_may_prune(t, 0, depth, slot), 0)) {
		prune(t, slot);
		depth = t->depth;
	}
	if (kind == FNT_DIRECT_FUNC) {
		emit(t, &r->w, FNT_EV_FUNC, o->id, (uint32_t)idx, sp[1]);
	} else {
		struct frame *f = &t->stack[depth];

		/* The frame is whole before depth shows it, and the return is
		 * hooked only once the event that opens it is written: a
		 * signal handler on this thread sees one or the other, as in
		 * hooks.c's enter(). */
		f->call.ip = s->addr;
		f->call.parent_ip = sp[1];
		f->call.frame = slot;
		f->call.object_id = o->id;
		f->call.site_index = (uint32_t)idx;
		f->call.depth = depth;
		f->call.flags = 0;
		f->mask = 1;
		/* Where every exit of the function is a live exit site, the
		 * return is its own: fnt__direct_exit_site() closes the call. */
		f->hooked = atomic_load_explicit(&s->exits_live, memory_order_relaxed) ? NOHIJACK : 1;
		atomic_signal_fence(memory_order_seq_cst);
		t->depth = depth + 1;
		emit(t, &r->w, FNT_EV_ENTRY, o->id, (uint32_t)idx, 0);
		atomic_signal_fence(memory_order_seq_cst);
		if (f->hooked != NOHIJACK)
			sp[1] = (uintptr_t)fnt__tramp_return;
	}
	unguard(t, held);
	return;

unguard_general:
	unguard(t, held);
general:
	fnt__hook_entry(o, sp);
}

/* rsp = the hooked frame's return slot + 8.  Returns where to go. */
__attribute__((visibility("hidden"))) uintptr_t fnt__direct_exit(uintptr_t rsp)
{
	struct fnt_thread *t = fnt__self;
	struct fnt_rec_thread *r = &fnt__rec_self;
	uintptr_t slot = rsp - 8, ret;
	struct held held;
	struct frame *f;
	uint32_t depth;

	if (__builtin_expect(t->busy, 0))
		return fnt__hook_exit(rsp);
	/* The same guard address as fnt__hook_exit()'s. */
	held = guard_outer(t, GSP_EXIT(rsp));
	depth = t->depth;
	if (__builtin_expect(!depth, 0))
		goto general;
	f = &t->stack[depth - 1];
	/* acquire: pairs with the release store in fnt__set_builtin(). */
	if (__builtin_expect(f->call.frame != slot || f->mask != 1 ||
			     atomic_load_explicit(&fnt__direct, memory_order_acquire) !=
				     FNT_DIRECT_GRAPH ||
			     !fnt__rec_ready(r), 0))
		goto general;
	ret = f->call.parent_ip;
	close_top(t, r, f, depth);
	if (__builtin_expect(depth > 1 && f[-1].call.frame == slot && f[-1].hooked == TAILING, 0))
		tailing(t, slot);
	unguard(t, held);
	return ret;

general:
	unguard(t, held);
	return fnt__hook_exit(rsp);
}

/*
 * An exit site (sp as at an entry: sp[1] = the leaving function's return
 * address).  The common case is the top frame's own, unhijacked call; a
 * frame hooked the old way is left to its hooked return, a call with no
 * frame was not traced, and anything else (frames left above by a jump,
 * another ops, a busy guard) goes to the general path.
 */
__attribute__((visibility("hidden"))) void fnt__direct_exit_site(struct fnt_object *o,
								 uintptr_t *sp)
{
	struct fnt_thread *t = fnt__self;
	struct fnt_rec_thread *r = &fnt__rec_self;
	uintptr_t slot = (uintptr_t)&sp[1];
	struct held held;
	struct frame *f;
	uint32_t depth;

	if (__builtin_expect(!t || fnt__in_runtime || (t->busy | t->shared), 0))
		goto general;
	held = guard_outer(t, GSP_EXIT_SITE(sp));
	depth = t->depth;
	if (__builtin_expect(!depth, 0))
		goto done;
	f = &t->stack[depth - 1];
	if (__builtin_expect(f->call.frame != slot, 0)) {
		if (f->call.frame > slot)
			goto done;
		goto unguard_general;
	}
	if (__builtin_expect(f->hooked != NOHIJACK, 0)) {
		if (f->hooked == TAILING)
			goto unguard_general;	/* its callee pushed no frame */
		goto done;
	}
	/* acquire: pairs with the release store in fnt__set_builtin(). */
	if (__builtin_expect(f->mask != 1 ||
			     atomic_load_explicit(&fnt__direct, memory_order_acquire) !=
				     FNT_DIRECT_GRAPH ||
			     !fnt__rec_ready(r), 0))
		goto unguard_general;
	/* The frame, then those that tail-jumped into this call, which ends
	 * theirs too: if a jumped to b and b to c, c's return closes all
	 * three, innermost first. */
	for (;;) {
		close_top(t, r, f, depth--);
		if (!depth || f[-1].call.frame != slot || f[-1].hooked != TAILING)
			break;
		f--;
		if (__builtin_expect(f->mask != 1, 0)) {
			tailing(t, slot);
			break;
		}
	}
done:
	unguard(t, held);
	return;

unguard_general:
	unguard(t, held);
general:
	fnt__hook_exit_site(o, sp);
}

/* An exit site before a tail jump: the frame waits for its callee's exit
 * or is hooked, as in fgraph.c's exit_site(); anything out of the common
 * case goes there. */
__attribute__((visibility("hidden"))) void fnt__direct_tail_site(struct fnt_object *o,
								 uintptr_t *sp)
{
	struct fnt_thread *t = fnt__self;
	uintptr_t slot = (uintptr_t)&sp[1];
	struct held held;
	struct frame *f;

	if (__builtin_expect(!t || fnt__in_runtime || (t->busy | t->shared), 0))
		goto general;
	held = guard_outer(t, GSP_TAIL_SITE(sp));
	if (__builtin_expect(!t->depth, 0))
		goto done;
	f = &t->stack[t->depth - 1];
	if (__builtin_expect(f->call.frame != slot, 0)) {
		if (f->call.frame > slot)
			goto done;
		unguard(t, held);
		goto general;
	}
	if (f->hooked == NOHIJACK)
		fnt__tail_leave(o, sp, f);
done:
	unguard(t, held);
	return;

general:
	fnt__hook_tail_site(o, sp);
}
