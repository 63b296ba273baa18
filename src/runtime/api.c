/*
 * api.c - the public functions of include/fntrace.h.
 *
 * Every patching entry point takes fnt__lock through fnt__begin(), which
 * refuses with -ENODEV once an anomaly disabled patching (the kernel's
 * ftrace_disabled check).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "core/core.h"
#include "core/filter.h"
#include "runtime/hooks.h"
#include "runtime/runtime.h"
#include "util/errors.h"
#include "util/log.h"

/* The built-in tracer is slot 0; its set of sites is a history of
 * fnt_enable/fnt_disable filters, replayed on objects loaded later. */
struct hist {
	char *filter;		/* NULL: all */
	int set;
};

static struct hist *hist;
static int nhist;
static char *ops_filter[FNT_MAX_OPS];	/* strdup'ed, NULL: all */
static struct fnt_ops *registered[FNT_MAX_OPS];
static struct fnt_ops builtin;

/*
 * A callback the runtime did not build may use any vector register, and
 * the trampolines save only what the runtime's own (vector-free) hook code
 * needs.  So the hooks never see a user's ops: each slot publishes a
 * wrapper whose callbacks run the user's through fnt__call_saved(), which
 * saves the whole extended state around them.  The choice is made per
 * slot when it is published, so no hook can ever call a user's callback
 * unsaved, and the built-in recorder (vector-free, checked by
 * tests/e2e/novec.sh) pays nothing.
 */
static struct fnt_ops wrapped[FNT_MAX_OPS];
static struct fnt_ops builtin_user;	/* public fnt_set_builtin_tracer()'s callbacks */

/*
 * The wrappers also mark the thread as inside a user's callback: a traced
 * call made meanwhile may be the callback's own (never traced), which a
 * hook could not tell from a signal handler's (recorded at a nested level).
 * Callbacks run only in hooks, so the thread has a record.
 */
static int saved_entry(const struct fnt_call *call, void *data)
{
	struct fnt_ops *u = data;
	struct fnt_thread *t = fnt__self;
	int was = t->in_user, ret;

	t->in_user = 1;
	atomic_signal_fence(memory_order_seq_cst);
	ret = (int)fnt__call_saved((void *)u->entry, call, u->data);
	atomic_signal_fence(memory_order_seq_cst);
	t->in_user = was;
	return ret;
}

static void saved_exit(const struct fnt_call *call, void *data)
{
	struct fnt_ops *u = data;
	struct fnt_thread *t = fnt__self;
	int was = t->in_user;

	t->in_user = 1;
	atomic_signal_fence(memory_order_seq_cst);
	fnt__call_saved((void *)u->exit, call, u->data);
	atomic_signal_fence(memory_order_seq_cst);
	t->in_user = was;
}

/* The ops to publish for the user's u in slot. */
static struct fnt_ops *wrap(int slot, struct fnt_ops *u)
{
	struct fnt_ops *w = &wrapped[slot];

	fnt__xstate_init();
	w->filter = u->filter;
	w->entry = u->entry ? saved_entry : NULL;
	w->exit = u->exit ? saved_exit : NULL;
	w->data = u;
	w->slot = slot;
	return w;
}

static void hist_clear(void)
{
	for (int i = 0; i < nhist; i++)
		free(hist[i].filter);
	nhist = 0;
}

static int hist_add(const char *filter, int set)
{
	struct hist *h;

	/* A filter for everything makes the history before it moot. */
	if (!filter)
		hist_clear();
	if (!filter && !set)
		return 0;
	h = realloc(hist, (size_t)(nhist + 1) * sizeof(*hist));
	if (!h)
		return -ENOMEM;
	hist = h;
	hist[nhist].filter = filter ? strdup(filter) : NULL;
	if (filter && !hist[nhist].filter)
		return -ENOMEM;
	hist[nhist++].set = set;
	return 0;
}

int fnt__apply_wants(struct fnt_object *o)
{
	char err[160];
	int ret = 0;

	for (int i = 0; i < nhist && !ret; i++)
		ret = fnt__mark(o, hist[i].filter, 1u, hist[i].set, err, sizeof(err));
	for (int slot = 1; slot < FNT_MAX_OPS && !ret; slot++)
		if (registered[slot])
			ret = fnt__mark(o, ops_filter[slot], 1u << slot, 1, err, sizeof(err));
	return ret;
}

static int check_filter(const char *filter)
{
	struct fnt_filter f;
	char err[256];
	int ret = fnt_filter_parse(&f, filter, err, sizeof(err));

	if (ret)
		fnt__log("bad filter: %s", err);
	fnt_filter_free(&f);
	return ret;
}

static int toggle(const char *filter, int set)
{
	char err[256];
	int ret = check_filter(filter);

	if (ret)
		return ret;
	ret = fnt__begin();
	if (ret)
		return ret;
	ret = fnt__signals_check();
	if (!ret)
		ret = hist_add(filter, set);
	if (!ret)
		ret = fnt__mark(NULL, filter, 1u, set, err, sizeof(err));
	if (!ret)
		ret = fnt__update();
	/* No entry callback for the removed sites may start or still run
	 * once fnt_disable() returns. */
	if (!ret && !set)
		fnt__quiesce();
	fnt__end();
	return ret;
}

FNT_EXPORT int fnt_enable(const char *filter)
{
	return toggle(filter, 1);
}

FNT_EXPORT int fnt_disable(const char *filter)
{
	return toggle(filter, 0);
}

/* Detaches the ops in slot: no callback of it runs after this returns. */
static void detach(int slot)
{
	if (slot == 0)
		/* release: pairs with the direct path's acquire load. */
		atomic_store_explicit(&fnt__direct, FNT_DIRECT_NONE, memory_order_release);
	fnt__ops_publish(slot, NULL);
	fnt__quiesce();
	/* Exit sites kept for this ops' calls in flight (engine.c) go once no
	 * ops with an exit is left; the update finds nothing to do otherwise. */
	if (!atomic_load_explicit(&fnt__exit_ops, memory_order_relaxed))
		fnt__update();
}

int fnt__set_builtin(fnt_entry_fn entry, fnt_exit_fn exit, void *data, int vector_free,
		     int direct)
{
	int ret = fnt__begin();

	if (ret)
		return ret;
	detach(0);
	builtin.entry = entry;
	builtin.exit = exit;
	builtin.data = data;
	builtin_user = builtin;
	if (entry || exit)
		/* release: pairs with the acquire load in the hooks. */
		fnt__ops_publish(0, vector_free ? &builtin : wrap(0, &builtin_user));
	if ((entry || exit) && vector_free && direct)
		/* release: the callbacks' state is set up before this. */
		atomic_store_explicit(&fnt__direct, direct, memory_order_release);
	fnt__end();
	return 0;
}

void fnt__builtin_detach(void)
{
	fnt__lock_take();
	detach(0);
	memset(&builtin, 0, sizeof(builtin));
	builtin_user = builtin;
	fnt__lock_drop();
}

int fnt__builtin_refilter(const char *filter, const char *notrace)
{
	char err[256];
	int ret = check_filter(filter);

	if (!ret)
		ret = check_filter(notrace);
	if (ret)
		return ret;
	ret = fnt__begin();
	if (ret)
		return ret;
	ret = fnt__signals_check();
	if (!ret) {
		hist_clear();
		ret = hist_add(filter, 1);
	}
	if (!ret && notrace)
		ret = hist_add(notrace, 0);
	/* Marks are only wishes until fnt__update(): clearing every mark
	 * first and setting the new ones changes no site that stays. */
	if (!ret)
		ret = fnt__mark(NULL, NULL, 1u, 0, err, sizeof(err));
	if (!ret)
		ret = fnt__mark(NULL, filter, 1u, 1, err, sizeof(err));
	if (!ret && notrace)
		ret = fnt__mark(NULL, notrace, 1u, 0, err, sizeof(err));
	if (!ret)
		ret = fnt__update();
	if (!ret)
		fnt__quiesce();
	fnt__end();
	return ret;
}

/* The public one: the callbacks are the program's, not known vector-free. */
FNT_EXPORT int fnt_set_builtin_tracer(fnt_entry_fn entry, fnt_exit_fn exit, void *data)
{
	return fnt__set_builtin(entry, exit, data, 0, FNT_DIRECT_NONE);
}

FNT_EXPORT int fnt_register_ops(struct fnt_ops *ops)
{
	char err[256];
	int slot, ret;

	if (!ops)
		return -EINVAL;
	ret = check_filter(ops->filter);
	if (ret)
		return ret;
	ret = fnt__begin();
	if (ret)
		return ret;
	for (slot = 1; slot < FNT_MAX_OPS; slot++)
		if (registered[slot] == ops) {
			ret = -EBUSY;
			goto out;
		}
	for (slot = 1; slot < FNT_MAX_OPS && registered[slot]; slot++)
		;
	if (slot == FNT_MAX_OPS) {
		ret = -ENOSPC;
		goto out;
	}
	ret = fnt__signals_check();
	if (ret)
		goto out;
	ops_filter[slot] = ops->filter ? strdup(ops->filter) : NULL;
	if (ops->filter && !ops_filter[slot]) {
		ret = -ENOMEM;
		goto out;
	}
	registered[slot] = ops;
	ops->slot = slot;
	/* Callable before any site reaches it. */
	fnt__ops_publish(slot, wrap(slot, ops));
	ret = fnt__mark(NULL, ops->filter, 1u << slot, 1, err, sizeof(err));
	if (!ret)
		ret = fnt__update();
out:
	fnt__end();
	return ret;
}

FNT_EXPORT int fnt_unregister_ops(struct fnt_ops *ops)
{
	char err[256];
	int slot, ret;

	if (!ops || ops->slot <= 0 || ops->slot >= FNT_MAX_OPS)
		return -EINVAL;
	fnt__lock_take();
	slot = ops->slot;
	if (registered[slot] != ops) {
		fnt__lock_drop();
		return -ENOENT;
	}
	ret = fnt__mark(NULL, NULL, 1u << slot, 0, err, sizeof(err));
	if (!ret)
		ret = fnt__update();
	/* Even when patching is off for good, the callbacks go. */
	detach(slot);
	registered[slot] = NULL;
	free(ops_filter[slot]);
	ops_filter[slot] = NULL;
	ops->slot = 0;
	fnt__lock_drop();
	return ret;
}

FNT_EXPORT int fnt_status(struct fnt_status *st)
{
	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	fnt__lock_take();
	for (struct fnt_object *o = fnt__objects; o; o = o->next) {
		st->objects++;
		st->objects_refused += o->refused;
		st->sites += o->nsites;
		for (uint32_t i = 0; i < o->nsites; i++) {
			st->enabled += !!(o->sites[i].flags & FNT_SITE_ENABLED);
			st->failed += !!(o->sites[i].flags & FNT_SITE_FAILED);
		}
	}
	st->batches = fnt__stats.batches;
	st->traps = atomic_load(&fnt__stats.traps);
	st->recursion_skips = atomic_load(&fnt__stats.recursion_skips);
	st->depth_overflows = atomic_load(&fnt__stats.depth_overflows);
	st->disabled = atomic_load(&fnt__killed);
	memcpy(st->report, fnt__report, sizeof(st->report));
	fnt__lock_drop();
	return 0;
}

FNT_EXPORT int fnt_site_info(uint32_t object_id, uint32_t site_index, const char **name,
			     uintptr_t *addr)
{
	int ret = -ENOENT;

	fnt__lock_take();
	for (struct fnt_object *o = fnt__objects; o; o = o->next) {
		if (o->id != object_id)
			continue;
		if (site_index < o->nsites) {
			if (name)
				*name = fnt__site_name(o, &o->sites[site_index]);
			if (addr)
				*addr = o->sites[site_index].addr;
			ret = 0;
		}
		break;
	}
	fnt__lock_drop();
	return ret;
}

FNT_EXPORT const char *fnt_strerror(int err)
{
	return fnt__strerror(err);
}
