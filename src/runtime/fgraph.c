/*
 * fgraph.c - function_graph's return stack: the exits of hooked calls.
 *
 * Returns are hooked with a per-thread shadow stack (the kernel's
 * ret_stack, kept in fgraph.c apart from the entry hooks as here): the
 * return address in the frame is replaced by fnt__tramp_return, and the
 * real one is kept in the shadow frame with the address of its slot.  A
 * frame whose slot lies below the current stack pointer is dead (longjmp,
 * exception, thread exit): it is reported as an FNT_CALL_UNWOUND exit the
 * next time the thread passes here.  A tail call reuses its caller's slot,
 * so two shadow frames may share one: the top one returns into
 * fnt__tramp_return again, which pops the next.
 *
 * Exceptions and the longjmp family are interposed here, because they
 * abandon frames whose slots still hold the trampoline.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "core/core.h"
#include "runtime/hooks.h"
#include "runtime/runtime.h"
#include "util/log.h"
#include "util/sys.h"

/* Runs the exit callbacks of a popped frame.  The caller holds the guard,
 * so a signal handler's traced calls on this thread push their frames in
 * a level above it and cannot reuse the frame while they run. */
static inline void report_exit(struct frame *f, uint32_t flags)
{
	uint32_t m = f->mask;

	f->call.flags = flags;
	while (m) {
		int slot = __builtin_ctz(m);
		struct fnt_ops *ops = atomic_load_explicit(&fnt__ops[slot], memory_order_acquire);

		m &= m - 1;
		if (ops && ops->exit)
			ops->exit(&f->call, ops->data);
	}
}

/*
 * Is the stack address a on the stack that the hook at slot runs on?
 * Asked only before a frame is taken for dead, never in the common path.
 * Stacks are told apart by what they are, not by how far apart they lie:
 * an alternate signal stack is often a local array or a __thread buffer
 * right next to the thread's own frames.  The kernel knows whether this
 * thread runs on its signal stack, and where that lies.  Off it, a frame
 * on the signal stack belongs to a handler that has left, so it is dead,
 * and any other frame is on the stack the hook runs on or on a coroutine's
 * whose slot still holds the trampoline (prune() keeps those).
 */
static __attribute__((noinline, cold)) int same_stack(uintptr_t a, uintptr_t slot)
{
	stack_t ss;
	uintptr_t lo, size;

	if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
		return 1;
	lo = (uintptr_t)ss.ss_sp;
	size = ss.ss_size;
	return (a - lo < size) == (slot - lo < size);
}

/*
 * Pops (and reports as unwound) the top frames that are certainly dead
 * when a new frame is about to use slot: frames of this stack below it
 * (a longjmp or an exception left them) whose slot no longer holds our
 * trampoline.  Stack memory below the current frame stays mapped, so
 * reading it is safe.  A live tail-calling frame sharing the slot still
 * holds the trampoline.  A frame of another stack is never taken for
 * dead: a handler on the signal stack may have interrupted its function
 * between the return and fnt__tramp_return's hook, where the trampoline's
 * own pushes have overwritten the slot.
 */
void fnt__fgraph_prune(struct fnt_thread *t, uint32_t base, uint32_t *depth, uintptr_t slot)
{
	while (*depth) {
		struct frame *f = &t->stack[base + *depth - 1];

		if (f->call.frame > slot)
			break;
		/* An unhijacked frame at this very slot is over (a new call
		 * pushed its return address there); a hooked one is a live
		 * caller that tail-called. */
		if (!(f->hooked == NOHIJACK && f->call.frame == slot) &&
		    (fnt__frame_may_live(f) || !same_stack(f->call.frame, slot)))
			break;
		if (f->hooked == TAILING && f->call.frame == slot)
			break;	/* the caller of a tail call about to start */
		(*depth)--;
		report_exit(f, FNT_CALL_UNWOUND);
	}
}

/*
 * The frame returning through slot: the topmost one with that slot, moved
 * to the top.  Frames above it whose slot no longer holds our trampoline
 * never returned (longjmp out of them, siglongjmp out of a handler) and are
 * reported as unwound.  Those whose slot still holds it may be alive on
 * another stack (a coroutine swapped out in the middle of a traced call:
 * its return comes later), so they stay; discarding one would leave its
 * return with nowhere to go.  Returns NULL if there is none.
 */
static struct frame *match(struct fnt_thread *t, uint32_t base, uint32_t *depth, uintptr_t slot)
{
	struct frame *st = &t->stack[base];
	uint32_t i = *depth, j;
	struct frame m;

	while (i && st[i - 1].call.frame != slot)
		i--;
	if (!i)
		return NULL;
	i--;
	/* Report the dead ones above it, topmost first, as returns would,
	 * and mark them (frame 0). */
	for (j = *depth; j-- > i + 1;) {
		struct frame *f = &st[j];

		if (!fnt__frame_may_live(f)) {
			report_exit(f, FNT_CALL_UNWOUND);
			f->call.frame = 0;
		}
	}
	/* Keep the live ones, in order, under the returning frame. */
	m = st[i];
	for (j = i + 1; j < *depth; j++)
		if (st[j].call.frame)
			st[i++] = st[j];
	st[i] = m;
	/* The frames moved down are whole before depth says so. */
	atomic_signal_fence(memory_order_seq_cst);
	*depth = i + 1;
	return &st[i];
}

/* A frame given up without its return: its slot gets the real address
 * back (unless its function has returned already), then its exit is
 * reported as unwound. */
static void pop_dead(struct frame *f)
{
	uintptr_t *slot = (uintptr_t *)f->call.frame;

	if (f->hooked != EXITING && *slot == (uintptr_t)fnt__tramp_return)
		*slot = f->call.parent_ip;
	report_exit(f, FNT_CALL_UNWOUND);
}

/*
 * Nested levels (see struct level in hooks.h).  Timeline of a handler
 * that interrupts a hook H which holds the guard (busy = 1):
 *
 *   H: guard (busy 1) ... pushing frame d ... [signal]
 *      handler: traced g(): hook finds busy 1, H alive -> guard (busy 2),
 *               level {busy 1, base d + 2} made, g's frame pushed there,
 *               unguard (busy 1: the level stays)
 *      handler: g returns: fnt__hook_exit finds the level of busy 1 on
 *               top and pops g's frame from it
 *   H: ... frame d done, depth d + 1; unguard -> levels_trim(0) ends the
 *      level (its handler has returned: signal handlers nest LIFO)
 *
 * The base lies one above the top frame below it, since the interrupted
 * holder may be about to push there.
 */
struct level *fnt__level_get(struct fnt_thread *t, int busy)
{
	struct level *top = t->nlev ? &t->lev[t->nlev - 1] : NULL, *l;
	uint32_t base;

	if (top && top->busy == (uint32_t)busy)
		return top;
	if (t->nlev >= NEST_LEVELS)
		return NULL;
	base = (top ? top->base + top->depth : t->depth) + 1;
	if (base >= SHADOW_MAX)
		return NULL;
	l = &t->lev[t->nlev];
	l->busy = (uint32_t)busy;
	l->base = base;
	l->depth = 0;
	/* The level is whole before nlev shows it to a handler that
	 * interrupts us (which would find busy + 1 and make its own). */
	atomic_signal_fence(memory_order_seq_cst);
	t->nlev++;
	return l;
}

void fnt__levels_trim(struct fnt_thread *t, int busy)
{
	while (t->nlev && (int)t->lev[t->nlev - 1].busy > busy) {
		struct level *l = &t->lev[t->nlev - 1];

		/* Frames a handler left without returning through them (it
		 * jumped away, or switched stacks): never used again. */
		while (l->depth) {
			l->depth--;
			pop_dead(&t->stack[l->base + l->depth]);
		}
		atomic_signal_fence(memory_order_seq_cst);
		t->nlev--;
	}
}

void fnt__fgraph_unwind_all(struct fnt_thread *t)
{
	fnt__levels_trim(t, -1);
	while (t->depth) {
		t->depth--;
		report_exit(&t->stack[t->depth], FNT_CALL_UNWOUND);
	}
}

/*
 * Runs the exit callbacks of f, the returning frame (on top of its level),
 * and pops it.  Returns the real return address.
 */
static inline uintptr_t finish(struct fnt_thread *t, struct frame *f, uint32_t *depth)
{
	uintptr_t ret = f->call.parent_ip;

	/*
	 * The frame stays on top while its exit callbacks run, each one's bit
	 * cleared once it has returned: if a signal handler cuts this short
	 * with siglongjmp, the jump still finds the frame and reports the
	 * exits not yet made as unwound.  Exits are reported even inside a
	 * callback (a callback's own traced call got no entry, so it cannot
	 * be here): the frame was pushed by an entry that ran outside one.
	 */
	f->hooked = EXITING;
	f->call.flags = 0;
	for (uint32_t m = f->mask; m;) {
		int bit = __builtin_ctz(m);
		struct fnt_ops *ops = atomic_load_explicit(&fnt__ops[bit], memory_order_acquire);

		if (ops && ops->exit)
			ops->exit(&f->call, ops->data);
		m &= m - 1;
		f->mask = m;
	}
	/* Popped only now, while handlers still nest above: once busy
	 * drops, a handler's traced call pushes its own frame here. */
	atomic_signal_fence(memory_order_seq_cst);
	(*depth)--;
	return ret;
}

/* Only a broken shadow stack gets here, and there is no right address to
 * return to: say so before the program dies. */
static __attribute__((noinline, cold)) uintptr_t no_frame(struct fnt_thread *t, uintptr_t slot,
							    struct held was)
{
	fnt__kill("function_graph: return through %#lx has no shadow frame", (unsigned long)slot);
	unguard(t, was);
	return 0;
}

/*
 * A return while the guard is held by a hook that still runs: a function
 * a signal handler called while it interrupted that hook.  Its frame is in
 * the handler's level.
 */
static __attribute__((noinline, cold)) uintptr_t exit_nested(struct fnt_thread *t, uintptr_t slot,
							       struct held was, int saved_errno)
{
	struct level *l = t->nlev ? &t->lev[t->nlev - 1] : NULL;
	uint32_t base = 0, *depth = &t->depth;
	struct frame *f;
	uintptr_t ret;

	if (l && (int)l->busy == was.was) {
		base = l->base;
		depth = &l->depth;
	}
	if (*depth && t->stack[base + *depth - 1].call.frame == slot)
		f = &t->stack[base + *depth - 1];
	else
		f = match(t, base, depth, slot);
	if (!f)
		return no_frame(t, slot, was);
	ret = finish(t, f, depth);
	fnt__fgraph_close_tailing(t, base, depth, slot);
	*t->errnop = saved_errno;
	unguard(t, was);
	return ret;
}

/* rsp = the hooked frame's return slot + 8.  Returns where to go. */
__attribute__((visibility("hidden"))) uintptr_t fnt__hook_exit(uintptr_t rsp)
{
	struct fnt_thread *t = fnt__self;
	uintptr_t slot = rsp - 8;
	struct frame *f;
	uintptr_t ret;
	struct held was_busy;
	int saved_errno;

	/* A frame hooked by this thread always has a record.  errno is the
	 * returning function's result as much as %rax is. */
	saved_errno = *t->errnop;
	if (__builtin_expect(t->busy, 0))
		fnt__guard_stale(t, rsp);
	/* A signal handler on this thread sees busy before we touch frames,
	 * and fnt_unregister_ops() waits for the exit callbacks too.  The
	 * guard's address lies below where a hook called from the caller's
	 * frame would start (rsp - 16), above tramp_return's own frame. */
	was_busy = guard(t, GSP_EXIT(rsp));
	if (__builtin_expect(was_busy.was, 0))
		return exit_nested(t, slot, was_busy, saved_errno);
	/* Commonly the top frame; match() handles frames left by longjmp. */
	if (__builtin_expect(t->depth && t->stack[t->depth - 1].call.frame == slot, 1))
		f = &t->stack[t->depth - 1];
	else
		f = match(t, 0, &t->depth, slot);
	if (__builtin_expect(!f, 0))
		return no_frame(t, slot, was_busy);
	ret = finish(t, f, &t->depth);
	fnt__fgraph_close_tailing(t, 0, &t->depth, slot);
	*t->errnop = saved_errno;
	unguard(t, was_busy);
	return ret;
}

/*
 * Exit sites.  An exit site before a return: the function whose return
 * address lies at &sp[1] is leaving.  A call entered while its exit sites
 * were live (NOHIJACK) is closed there, with frames left above it by jumps
 * reported unwound as at a return.  A frame hooked the old way (it was
 * entered before its exits went live, or an exception rehooked it) is left
 * to its hooked return, which comes next; no frame means the call was not
 * traced.
 *
 * An exit site before a tail jump: the call goes on in the function it
 * jumps to, which will return for both, and the callee nests inside it, as
 * in every other form.  If that function's own exit sites will close it
 * (fnt__tail_goes_on()), the frame waits for that exit (TAILING);
 * otherwise its return is hooked now, the old way, so that whatever it
 * jumps to (indirect, untraced) returns through the trampoline, which
 * closes it then.
 *
 * The frame of the call at slot, in the level the guard held says, or
 * NULL; *base and *depth are set to that level's.
 */
static struct frame *site_frame(struct fnt_thread *t, struct held held, uintptr_t slot,
				uint32_t *base, uint32_t **depth)
{
	struct level *l = t->nlev ? &t->lev[t->nlev - 1] : NULL;
	struct frame *f;

	*base = 0;
	*depth = &t->depth;
	if (held.was && l && (int)l->busy == held.was) {
		*base = l->base;
		*depth = &l->depth;
	}
	if (!**depth)
		return NULL;
	f = &t->stack[*base + **depth - 1];
	if (f->call.frame < slot)
		return match(t, *base, *depth, slot);
	return f->call.frame == slot ? f : NULL;
}

void fnt__fgraph_close_tailing(struct fnt_thread *t, uint32_t base, uint32_t *depth,
			       uintptr_t slot)
{
	while (*depth) {
		struct frame *f = &t->stack[base + *depth - 1];

		if (f->call.frame != slot || f->hooked != TAILING)
			break;
		finish(t, f, depth);
	}
}

/* The common part of both sites' hooks: tail says which site it is. */
static void exit_site(struct fnt_object *o, uintptr_t *sp, int tail)
{
	struct fnt_thread *t = fnt__self;
	uintptr_t slot = (uintptr_t)&sp[1];
	struct held held;
	struct frame *f;
	uint32_t base, *depth;
	int saved_errno;

	/* The runtime's own calls, a user's callback's and a foreign
	 * thread's (raw clone) have no frames. */
	if (__builtin_expect(!t || fnt__in_runtime, 0))
		return;
	if (__builtin_expect(t->shared, 0) && (int)fnt__sys(SYS_gettid) != t->tid)
		return;
	saved_errno = *t->errnop;
	if (__builtin_expect(t->busy, 0)) {
		fnt__guard_stale(t, (uintptr_t)sp);
		if (t->busy && t->in_user)
			goto out_errno;
	}
	held = guard(t, tail ? GSP_TAIL_SITE(sp) : GSP_EXIT_SITE(sp));
	f = site_frame(t, held, slot, &base, &depth);
	if (f && tail && f->hooked == NOHIJACK) {
		fnt__tail_leave(o, sp, f);
	} else if (f && !tail && (f->hooked == NOHIJACK || f->hooked == TAILING)) {
		finish(t, f, depth);
		fnt__fgraph_close_tailing(t, base, depth, slot);
	}
	unguard(t, held);
out_errno:
	*t->errnop = saved_errno;
}

__attribute__((visibility("hidden"))) void fnt__hook_exit_site(struct fnt_object *o, uintptr_t *sp)
{
	exit_site(o, sp, 0);
}

__attribute__((visibility("hidden"))) void fnt__hook_tail_site(struct fnt_object *o, uintptr_t *sp)
{
	exit_site(o, sp, 1);
}

/* --- exceptions -------------------------------------------------------- */

/*
 * The unwinder walks return addresses; fnt__tramp_return has no unwind
 * info that could tell it the real caller.  Before an exception (or a
 * forced unwind: pthread_exit, cancellation) starts, every hooked slot
 * gets its real return address back.  When a handler catches it
 * (__cxa_begin_catch), the frames below the catcher are dead and reported
 * as unwound; the live ones are hooked again.
 */
/* The frames of level r of t (-1: the thread's own, then each nested one):
 * stack[*base .. *base + *n). */
static void range_of(struct fnt_thread *t, int r, uint32_t *base, uint32_t **n)
{
	if (r < 0) {
		*base = 0;
		*n = &t->depth;
	} else {
		*base = t->lev[r].base;
		*n = &t->lev[r].depth;
	}
}

static void unhook_all(void)
{
	struct fnt_thread *t = fnt__self;

	if (!t)
		return;
	for (int r = -1; r < (int)t->nlev; r++) {
		uint32_t base, *n;

		range_of(t, r, &base, &n);
		for (uint32_t i = base; i < base + *n; i++) {
			struct frame *f = &t->stack[i];

			if (f->hooked == 1 &&
			    *(uintptr_t *)f->call.frame == (uintptr_t)fnt__tramp_return) {
				*(uintptr_t *)f->call.frame = f->call.parent_ip;
				f->hooked = 0;
			} else if (f->hooked == NOHIJACK || f->hooked == TAILING) {
				/* Its slot holds its own address already.  A frame
				 * the catch finds alive is hooked then, the old way:
				 * its exit site leaves it to the hooked return. */
				f->hooked = 0;
			}
		}
	}
}

static void rehook_live(uintptr_t sp)
{
	struct fnt_thread *t = fnt__self;
	struct held was;

	if (!t)
		return;
	was = guard(t, sp);
	/* Innermost level first: a handler's frames lie below the ones it
	 * interrupted, or on its own stack, which prune() never takes for
	 * dead. */
	for (int r = (int)t->nlev - 1; r >= -1; r--) {
		uint32_t base, *n;

		range_of(t, r, &base, &n);
		fnt__fgraph_prune(t, base, n, sp);
	}
	for (int r = -1; r < (int)t->nlev; r++) {
		uint32_t base, *n;

		range_of(t, r, &base, &n);
		for (uint32_t i = base; i < base + *n; i++) {
			struct frame *f = &t->stack[i];

			if (f->hooked == 0 && *(uintptr_t *)f->call.frame == f->call.parent_ip) {
				*(uintptr_t *)f->call.frame = (uintptr_t)fnt__tramp_return;
				f->hooked = 1;
			}
		}
	}
	unguard(t, was);
}

typedef int (*unwind_fn)(void *);

__attribute__((visibility("default"))) int _Unwind_RaiseException(void *exc)
{
	static unwind_fn real;

	if (!real)
		real = (unwind_fn)dlsym(RTLD_NEXT, "_Unwind_RaiseException");
	unhook_all();
	return real ? real(exc) : 5 /* _URC_END_OF_STACK */;
}

typedef int (*forced_fn)(void *, void *, void *);

__attribute__((visibility("default"))) int _Unwind_ForcedUnwind(void *exc, void *stop, void *arg)
{
	static forced_fn real;

	if (!real)
		real = (forced_fn)dlsym(RTLD_NEXT, "_Unwind_ForcedUnwind");
	unhook_all();
	return real ? real(exc, stop, arg) : 5;
}

typedef void *(*catch_fn)(void *);

__attribute__((visibility("default"))) void *__cxa_begin_catch(void *exc)
{
	static catch_fn real;

	if (!real)
		real = (catch_fn)dlsym(RTLD_NEXT, "__cxa_begin_catch");
	/* Our own frame is below the catcher's: every slot under it is dead. */
	rehook_live((uintptr_t)__builtin_frame_address(0));
	return real ? real(exc) : NULL;
}

/* --- longjmp ------------------------------------------------------------ */

/*
 * A longjmp abandons every frame between it and its target.  Those frames'
 * slots may keep holding fnt__tramp_return long after (deep ones are not
 * overwritten soon), so prune() cannot tell them from frames on another
 * stack, and later calls would appear nested inside dead ones.  The jumps
 * are interposed instead: before the real one runs, the shadow frames the
 * jump abandons are popped and reported unwound.
 *
 * The target stack pointer comes from the jmp_buf, where glibc keeps it
 * mangled (x86-64: slot 6, xor with the thread's pointer guard at
 * %fs:0x30, then rotated left by 17).  A target that does not look like
 * one (not above us on this stack, nor on the stack a signal handler on
 * the alternate stack interrupted) pops nothing.  A popped frame whose slot
 * still holds the trampoline gets its real return address back, so even a
 * frame wrongly taken for dead (a coroutine's, on another stack) returns
 * normally, only without its exit callback.
 */
#define JB_RSP 6

typedef void (*jump_fn)(void *, int) __attribute__((noreturn));

static jump_fn real_longjmp, real__longjmp, real_siglongjmp, real_longjmp_chk;

void fnt__fgraph_init(void)
{
	real_longjmp = (jump_fn)dlsym(RTLD_NEXT, "longjmp");
	real__longjmp = (jump_fn)dlsym(RTLD_NEXT, "_longjmp");
	real_siglongjmp = (jump_fn)dlsym(RTLD_NEXT, "siglongjmp");
	real_longjmp_chk = (jump_fn)dlsym(RTLD_NEXT, "__longjmp_chk");
}

static uintptr_t jb_sp(const void *env)
{
	uintptr_t v = ((const uintptr_t *)env)[JB_RSP], guard;

	__asm__("movq %%fs:0x30, %0" : "=r"(guard));
	v = (v >> 17) | (v << 47);
	return v ^ guard;
}

/*
 * Does a jump from cur to target abandon the stack address a?  On one
 * stack, the frames between the two.  From the signal stack to another
 * (a handler leaving for the stack it interrupted), the handler's frames
 * above cur and the interrupted stack's frames below the target.  A frame
 * of a third stack (a coroutine's) taken for abandoned here is merely
 * given its real return address back by pop_dead(): it returns
 * normally, without its exit.
 */
static int abandons(uintptr_t a, uintptr_t cur, uintptr_t target, int same, uintptr_t alt_lo,
		    uintptr_t alt_hi)
{
	if (same)
		return a >= cur && a < target;
	if (a >= alt_lo && a < alt_hi)
		return a >= cur;
	return a < target;
}

/* Pops the shadow frames a jump to env abandons.  cur is an address in
 * the caller's frame: every slot above it belongs to a caller. */
static void before_jump(const void *env, uintptr_t cur)
{
	struct fnt_thread *t = fnt__self;
	uintptr_t target, alt_lo = 0, alt_hi = 0;
	struct held was;
	stack_t ss;
	int same = 1;

	if (!t || !env || (!t->depth && !t->busy))
		return;
	target = jb_sp(env);
	/* Which stack the jump leaves and which it lands on is asked of the
	 * kernel (see same_stack()): a signal stack may lie anywhere, even
	 * right next to the frames it interrupted. */
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
		alt_lo = (uintptr_t)ss.ss_sp;
		alt_hi = alt_lo + ss.ss_size;
		same = target >= alt_lo && target <= alt_hi;
	}
	/* Hooks this handler interrupted are abandoned too, innermost
	 * first: drop their guards, so that the exits below go to a
	 * recovered ring. */
	while (t->busy && abandons(GSP_ADDR(t->gsp[(t->busy < GUARD_MAX ? t->busy : GUARD_MAX) - 1]), cur,
				   target, same, alt_lo, alt_hi))
		fnt__guard_drop(t);
	if (!t->depth && !t->nlev)
		return;
	was = guard(t, cur);
	/* Innermost level first; a level with a frame left that the jump
	 * keeps means the ones below it are kept too. */
	for (int r = (int)t->nlev - 1; r >= -1; r--) {
		uint32_t base, *n;

		range_of(t, r, &base, &n);
		while (*n) {
			struct frame *f = &t->stack[base + *n - 1];

			if (!abandons(f->call.frame, cur, target, same, alt_lo, alt_hi))
				break;
			(*n)--;
			pop_dead(f);
		}
		if (*n)
			break;
	}
	unguard(t, was);
}

/* The wrappers never return: the real jump does not. */
#define JUMP_WRAPPER(name, real)                                                        \
	__attribute__((visibility("default"), noreturn)) void name(void *env, int val)  \
	{                                                                               \
		fnt__sig_fix_jmpbuf(env);                                               \
		before_jump(env, (uintptr_t)__builtin_frame_address(0));               \
		real(env, val);                                                         \
	}

JUMP_WRAPPER(longjmp, real_longjmp)
JUMP_WRAPPER(_longjmp, real__longjmp)
JUMP_WRAPPER(siglongjmp, real_siglongjmp)
JUMP_WRAPPER(__longjmp_chk, real_longjmp_chk)
