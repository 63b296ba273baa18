/*
 * engine.c - the update engine (kernel ftrace_replace_code style).
 *
 * Each site's wanted state is derived from its want mask (which fnt_ops
 * slots want it).  The engine walks every object, skips the sites that
 * already are what they should be, and hands the rest to the arch layer
 * in address-sorted batches.  It never knows a byte of code.
 *
 * A batch is the unit of the int3 protocol: three syncs per batch, however
 * many sites it holds, and no syscall per site.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "core/core.h"
#include "core/filter.h"
#include "util/errors.h"
#include "util/log.h"

#define BATCH 16384

_Atomic uint32_t fnt__exit_ops;

static int site_wants_call(const struct fnt_object *o, const struct fnt_site *s)
{
	return !o->refused && !(s->flags & FNT_SITE_FAILED) &&
	       atomic_load_explicit(&s->want, memory_order_relaxed) != 0;
}

/*
 * An exit site is a call while an ops with an exit callback wants its
 * function, and stays one while any such ops exists: a call entered while
 * its exits were live has no hooked return, and only its exit site can
 * close it.  So turning a function off leaves its exit sites calling a
 * hook that finds no frame of theirs, until the last exit ops is gone.
 */
static int exit_wants_call(const struct fnt_object *o, uint32_t i)
{
	const struct fnt_site *x = &o->exits[i], *s = &o->sites[o->exit_of[i]];
	uint32_t xops = atomic_load_explicit(&fnt__exit_ops, memory_order_relaxed);

	if (o->refused || (x->flags & FNT_SITE_FAILED) || (s->flags & FNT_SITE_FAILED) || !xops)
		return 0;
	return (atomic_load_explicit(&s->want, memory_order_relaxed) & xops) ||
	       (x->flags & FNT_SITE_ENABLED);
}

/*
 * Sets each entry's exits_live from its exit sites: 1 only when it has
 * some and every one is enabled.  Run with the code as it now is, after
 * the batches: a hook that reads 1 leaves the return unhooked, and an
 * exit site will close the call.  Going back to 0 happens only once no
 * exit ops is left (exit_wants_call()), when no such frame matters.
 */
static int exits_recount(struct fnt_object *o)
{
	uint8_t *ok;

	if (!o->nexits)
		return 0;
	ok = malloc(o->nsites);
	if (!ok)
		return -ENOMEM;
	/* 2: no exit seen yet; 1: all enabled so far; 0: one is not. */
	memset(ok, 2, o->nsites);
	for (uint32_t i = 0; i < o->nexits; i++) {
		uint32_t e = o->exit_of[i];

		if (!(o->exits[i].flags & FNT_SITE_ENABLED))
			ok[e] = 0;
		else if (ok[e] == 2)
			ok[e] = 1;
	}
	for (uint32_t e = 0; e < o->nsites; e++)
		/* relaxed: the hooks read it after the code that sends them
		 * there was written, under the same sync. */
		atomic_store_explicit(&o->sites[e].exits_live, ok[e] == 1, memory_order_relaxed);
	free(ok);
	return 0;
}

/* Applies n changes and records the outcome in the sites' flags. */
static int flush(struct fnt_change *c, size_t n, int quiescent)
{
	int ret;

	if (!n)
		return 0;
	ret = quiescent ? fnt__arch.apply_quiescent(c, n) : fnt__arch.apply_live(c, n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (c[i].enable)
			c[i].site->flags |= FNT_SITE_ENABLED;
		else
			c[i].site->flags &= (uint16_t)~FNT_SITE_ENABLED;
	}
	if (!quiescent)
		fnt__stats.batches++;
	return 0;
}

/* Does s need a change to be what want says? */
static int needs_change(const struct fnt_site *s, int want)
{
	return !(s->flags & FNT_SITE_FAILED) && want != !!(s->flags & FNT_SITE_ENABLED);
}

/* Adds s's change, if it needs one, to the batch c[0 .. *n), which is
 * applied once full.  Returns 0 or the batch's error. */
static int queue(struct fnt_object *o, struct fnt_site *s, int want, struct fnt_change *c,
		 size_t *n, int quiescent)
{
	if (!needs_change(s, want))
		return 0;
	c[*n] = (struct fnt_change){ .addr = s->addr, .enable = (uint8_t)want, .obj = o, .site = s };
	fnt__arch.prepare(&c[*n]);
	if (++*n < BATCH)
		return 0;
	*n = 0;
	return flush(c, BATCH, quiescent);
}

/* Brings one object's sites to their wanted state. */
static int update_object(struct fnt_object *o, struct fnt_change *c, int quiescent)
{
	size_t n = 0, todo = 0;
	int ret = 0, ret2;

	for (uint32_t i = 0; i < o->nsites; i++)
		todo += needs_change(&o->sites[i], site_wants_call(o, &o->sites[i]));
	for (uint32_t i = 0; i < o->nexits; i++)
		todo += needs_change(&o->exits[i], exit_wants_call(o, i));
	if (!todo)
		return 0;
	/* Exits about to go: no new call may leave its return to them. */
	for (uint32_t i = 0; i < o->nexits; i++)
		if ((o->exits[i].flags & FNT_SITE_ENABLED) && !exit_wants_call(o, i))
			atomic_store_explicit(&o->sites[o->exit_of[i]].exits_live, 0,
					      memory_order_relaxed);
	ret = fnt__arch.text_writable(o, 1);
	if (ret) {
		fnt__kill(ret == -EFAULT ? "site bug: the text of %s is not mapped any more: %s" :
					   "site bug: cannot make the text of %s writable: %s",
			  o->path, fnt__strerror(ret));
		return ret;
	}
	for (uint32_t i = 0; i < o->nsites && !ret; i++)
		ret = queue(o, &o->sites[i], site_wants_call(o, &o->sites[i]), c, &n, quiescent);
	/* The exits in batches of their own: a batch is sorted by address
	 * (the trap handler searches it), and each array is. */
	if (!ret) {
		ret = flush(c, n, quiescent);
		n = 0;
	}
	for (uint32_t i = 0; i < o->nexits && !ret; i++)
		ret = queue(o, &o->exits[i], exit_wants_call(o, i), c, &n, quiescent);
	if (!ret)
		ret = flush(c, n, quiescent);
	if (!ret)
		ret = exits_recount(o);
	ret2 = fnt__arch.text_writable(o, 0);
	if (ret2 && !ret) {
		fnt__kill("cannot restore the protection of %s's text", o->path);
		ret = ret2;
	}
	return ret;
}

static int update(struct fnt_object *only, int quiescent)
{
	struct fnt_change *c;
	int ret = 0;

	if (atomic_load_explicit(&fnt__killed, memory_order_relaxed))
		return -ENODEV;
	c = malloc(BATCH * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (struct fnt_object *o = fnt__objects; o && !ret; o = o->next)
		if (!only || o == only)
			ret = update_object(o, c, quiescent);
	free(c);
	/* Lost the race against an anomaly: the caller must see it. */
	if (!ret && atomic_load_explicit(&fnt__killed, memory_order_relaxed))
		ret = -ENODEV;
	return ret;
}

int fnt__update(void)
{
	return update(NULL, 0);
}

int fnt__update_quiescent(struct fnt_object *o)
{
	return update(o, 1);
}

/*
 * Sets or clears bit in the want mask of the sites of o matching f.  The
 * demangled names go to one static scratch, not the stack: marking runs
 * under fnt__lock, on whatever thread holds it, perhaps one of the
 * program's with a small stack in the middle of a dlopen.
 */
static void mark(struct fnt_object *o, const struct fnt_filter *f, uint32_t bit, int set)
{
	static struct fnt_filter_names names;	/* under fnt__lock */

	for (uint32_t i = 0; i < o->nsites; i++) {
		struct fnt_site *s = &o->sites[i];

		if (f && !fnt_filter_match_in(f, fnt__site_name(o, s), o->path, &names))
			continue;
		if (set)
			atomic_fetch_or_explicit(&s->want, bit, memory_order_relaxed);
		else
			atomic_fetch_and_explicit(&s->want, ~bit, memory_order_relaxed);
	}
}

int fnt__mark(struct fnt_object *only, const char *filter, uint32_t bit, int set, char *err,
	      size_t errlen)
{
	struct fnt_filter f;
	int ret = fnt_filter_parse(&f, filter, err, errlen);

	if (ret)
		return ret;
	for (struct fnt_object *o = fnt__objects; o; o = o->next)
		if (!only || o == only)
			mark(o, filter ? &f : NULL, bit, set);
	fnt_filter_free(&f);
	return 0;
}
