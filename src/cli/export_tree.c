/*
 * export_tree.c - the writer behind 'fntrace flamegraph' and 'fntrace
 * graph': it keeps the aggregated call tree of the whole selection
 * (calltree.h) and, at the end, hands it to the command's own output.
 *
 * Unlike dump --folded, this tree cannot be written out and started again
 * when it is full: a picture needs all of it at once.  So it stops growing
 * at cfg->max_nodes, and a call whose path finds no room is counted
 * (dropped) and left inside its caller, whose total time still holds it.
 *
 * The callers' view (inverted) has a node per reversed path: each call
 * adds its calls and time to the path from its own function up through its
 * callers, so the roots are the functions themselves, as wide as their own
 * calls, and above each are the paths that called it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"

/* The object a node's function is in, as a dense id of its path. */
static uint32_t obj_id(struct fnt_export *x, const struct fnt_xthread *t, uint32_t obj)
{
	struct fnt_xtree *xt = x->priv;
	const struct fnt_tf_robj *o = fnt__tf_obj(x->tf, t->s->image, obj);

	return fnt__names_id(&xt->objs, o && o->path ? o->path : "?");
}

static uint32_t intern(struct fnt_export *x, const struct fnt_xthread *t, uint32_t parent,
		       uint32_t fid, uint32_t obj)
{
	struct fnt_xtree *xt = x->priv;
	int added;
	uint32_t id = fnt__ctree_intern(&xt->tree, parent, fid, &added);

	if (added)
		xt->tree.node[id].obj = obj_id(x, t, obj);
	return id;
}

static void add(struct fnt_ctnode *n, uint64_t total, uint64_t self)
{
	n->calls++;
	n->total += total;
	n->self += self;
}

/* Inverted: the call of fid (in obj) adds to its reversed path, up
 * through the visible open calls below depth. */
static void add_reversed(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint32_t fid,
			 uint32_t obj, uint64_t total, uint64_t self)
{
	struct fnt_xtree *xt = x->priv;
	uint32_t id = intern(x, t, FNT_CT_NONE, fid, obj);

	for (size_t k = depth;; k--) {
		if (id == FNT_CT_FULL) {
			xt->dropped++;
			return;
		}
		add(&xt->tree.node[id], total, self);
		if (k == 0 || (long)k - 1 < t->lo)
			return;
		id = intern(x, t, id, t->stk.c[k - 1].fid, t->stk.c[k - 1].obj);
	}
}

static int tree_open(struct fnt_export *x)
{
	const struct fnt_xtree_cfg *cfg = x->arg;
	struct fnt_xtree *xt = calloc(1, sizeof(*xt));

	if (!xt)
		goto fail;
	if (fnt__ctree_init(&xt->tree, cfg->max_nodes) < 0)
		goto fail_xt;
	xt->cfg = cfg;
	x->priv = xt;
	return 0;
fail_xt:
	free(xt);
fail:
	return -1;
}

static void tree_thread(struct fnt_export *x, const struct fnt_xthread *t)
{
}

static void tree_begin(struct fnt_export *x, struct fnt_xthread *t, size_t depth)
{
	struct fnt_xtree *xt = x->priv;
	struct fnt_call *c = &t->stk.c[depth];

	if (!xt->cfg->inverted)
		c->aux = intern(x, t, fnt__xparent(t, depth), c->fid, c->obj);
}

static void tree_end(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
		     enum fnt_xend how)
{
	struct fnt_xtree *xt = x->priv;
	const struct fnt_call *c = &t->stk.c[depth];
	uint64_t total = ns > c->ns ? ns - c->ns : 0;
	uint64_t self = total > c->child ? total - c->child : 0;

	if (xt->cfg->inverted)
		add_reversed(x, t, depth, c->fid, c->obj, total, self);
	else if (c->aux == FNT_CT_FULL)
		xt->dropped++;
	else
		add(&xt->tree.node[c->aux], total, self);
}

static void tree_complete(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid, uint32_t obj,
			  uint64_t start, uint64_t dur, int untimed)
{
	struct fnt_xtree *xt = x->priv;
	uint32_t id;

	/* Its callers are the visible open calls: depth is where it would
	 * stand on the stack. */
	if (xt->cfg->inverted) {
		add_reversed(x, t, t->stk.depth, fid, obj, dur, dur);
		return;
	}
	id = intern(x, t, fnt__xparent(t, t->stk.depth), fid, obj);
	if (id == FNT_CT_FULL)
		xt->dropped++;
	else
		add(&xt->tree.node[id], dur, dur);
}

static void tree_lost(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n)
{
	struct fnt_xtree *xt = x->priv;

	xt->lost += n;
}

static int tree_close(struct fnt_export *x, const char *partial)
{
	struct fnt_xtree *xt = x->priv;
	int ret = xt->cfg->write(x, xt, partial);

	fnt__ctree_free(&xt->tree);
	fnt__names_free(&xt->objs);
	free(xt);
	x->priv = NULL;
	return ret;
}

const struct fnt_export_ops fnt__export_tree = {
	.open = tree_open,
	.thread = tree_thread,
	.begin = tree_begin,
	.end = tree_end,
	.complete = tree_complete,
	.lost = tree_lost,
	.close = tree_close,
};
