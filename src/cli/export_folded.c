/*
 * export_folded.c - 'fntrace dump --folded': Brendan Gregg's folded
 * stacks, one "main;work;leaf VALUE" line per call path, which
 * flamegraph.pl, speedscope and inferno read.
 *
 * The paths are the nodes of a call tree (calltree.h), each with the value
 * of the calls made along it: their self time (the default: a flame graph
 * then shows every frame as wide as its total time), total time, or count.
 * The tree is bounded: when it holds MAX_NODES paths they are written out
 * and it starts again, so a path may appear on several lines, which every
 * reader of the format adds up.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/calltree.h"
#include "cli/export.h"

#define MAX_NODES (1u << 18)

struct folded {
	struct fnt_ctree tree;
	uint32_t *path;		/* scratch for writing a path out */
	size_t path_cap;
};

/* Writes a function's name as a frame: ';' separates frames and a newline
 * ends the line, so neither may stand in a name. */
static void frame(struct fnt_out *o, const char *name)
{
	for (const char *p = name; *p; p++)
		fnt_out_ch(o, *p == ';' ? ':' : *p == '\n' ? ' ' : *p);
}

static uint64_t value(const struct fnt_export *x, const struct fnt_ctnode *n)
{
	return x->weight == FNT_WEIGHT_CALLS ? n->calls
	       : x->weight == FNT_WEIGHT_TOTAL ? n->total : n->self;
}

static void write_out(struct fnt_export *x)
{
	struct folded *f = x->priv;
	const struct fnt_ctree *t = &f->tree;

	for (size_t i = 0; i < t->n; i++) {
		size_t depth = 0;

		if (!value(x, &t->node[i]))
			continue;
		for (uint32_t k = (uint32_t)i; k != FNT_CT_NONE; k = t->node[k].parent) {
			if (depth == f->path_cap) {
				f->path_cap = f->path_cap ? f->path_cap * 2 : 256;
				f->path = fnt__xrealloc(f->path, f->path_cap * sizeof(*f->path));
			}
			f->path[depth++] = t->node[k].fid;
		}
		while (depth-- > 0) {
			frame(&x->out, fnt_x_name(x, f->path[depth]));
			fnt_out_ch(&x->out, depth ? ';' : ' ');
		}
		fnt__out_u64(&x->out, value(x, &t->node[i]), 0);
		fnt_out_ch(&x->out, '\n');
	}
}

/* The tree is full: writes it out and starts a new one, in which the
 * calls open on every thread get their nodes again. */
static void restart(struct fnt_export *x)
{
	struct folded *f = x->priv;

	write_out(x);
	fnt__ctree_clear(&f->tree);
	for (size_t i = 0; i < x->nthreads; i++) {
		struct fnt_xthread *t = &x->threads[i];

		if (t->lo < 0)
			continue;
		for (size_t d = (size_t)t->lo; d < t->stk.depth && (t->hide < 0 || (long)d < t->hide); d++)
			t->stk.c[d].aux = fnt__ctree_intern(&f->tree, fnt__xparent(t, d), t->stk.c[d].fid,
							    NULL);
	}
}

/* The node of fid called at depth, after making room for it: a restart
 * gives the open calls new nodes, so the parent is looked at after it. */
static struct fnt_ctnode *node(struct fnt_export *x, struct fnt_xthread *t, size_t depth,
			       uint32_t fid, uint32_t *id)
{
	struct folded *f = x->priv;

	if (f->tree.n + 1 >= MAX_NODES)
		restart(x);
	*id = fnt__ctree_intern(&f->tree, fnt__xparent(t, depth), fid, NULL);
	return &f->tree.node[*id];
}

static int folded_open(struct fnt_export *x)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fnt__ctree_init(&f->tree, MAX_NODES) < 0) {
		free(f);
		return -1;
	}
	x->priv = f;
	return 0;
}

static void folded_thread(struct fnt_export *x, const struct fnt_xthread *t)
{
}

static void folded_begin(struct fnt_export *x, struct fnt_xthread *t, size_t depth)
{
	struct fnt_call *c = &t->stk.c[depth];

	node(x, t, depth, c->fid, &c->aux)->calls++;
}

static void folded_end(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
		       enum fnt_xend how)
{
	struct folded *f = x->priv;
	const struct fnt_call *c = &t->stk.c[depth];
	uint64_t total = ns > c->ns ? ns - c->ns : 0;
	struct fnt_ctnode *n = &f->tree.node[c->aux];

	n->total += total;
	n->self += total > c->child ? total - c->child : 0;
}

static void folded_complete(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid,
			    uint32_t obj, uint64_t start, uint64_t dur, int untimed)
{
	uint32_t id;
	/* Its caller is the innermost open call, if that one is shown. */
	struct fnt_ctnode *n = node(x, t, t->stk.depth, fid, &id);

	n->calls++;
	n->total += dur;
	n->self += dur;
}

static void folded_lost(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n)
{
}

static int folded_close(struct fnt_export *x, const char *partial)
{
	struct folded *f = x->priv;

	write_out(x);
	fnt__ctree_free(&f->tree);
	free(f->path);
	free(f);
	x->priv = NULL;
	return 0;
}

const struct fnt_export_ops fnt__export_folded = {
	.open = folded_open,
	.thread = folded_thread,
	.begin = folded_begin,
	.end = folded_end,
	.complete = folded_complete,
	.lost = folded_lost,
	.close = folded_close,
};
