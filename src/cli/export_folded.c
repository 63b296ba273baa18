/*
 * export_folded.c - 'fntrace dump --folded': Brendan Gregg's folded
 * stacks, one "main;work;leaf VALUE" line per call path, which
 * flamegraph.pl, speedscope and inferno read.
 *
 * The paths are the nodes of a call tree (a node per caller node and
 * function), each with the value of the calls made along it: their self
 * time (the default: a flame graph then shows every frame as wide as its
 * total time), total time, or count.  The tree is bounded: when it holds
 * MAX_NODES paths they are written out and it starts again, so a path may
 * appear on several lines, which every reader of the format adds up.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"

#define MAX_NODES (1u << 18)
#define NO_NODE UINT32_MAX

struct node {
	uint32_t parent, fid;
	uint64_t value;
};

struct folded {
	struct node *node;
	size_t n;
	uint32_t *hash;		/* (parent, fid) -> node + 1; 2 * MAX_NODES slots */
	uint32_t *path;		/* scratch for writing a path out */
	size_t path_cap;
};

static size_t slot(uint32_t parent, uint32_t fid)
{
	uint64_t h = ((uint64_t)parent << 32 | fid) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 45) & (2 * MAX_NODES - 1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	return p;
}

/* Writes a function's name as a frame: ';' separates frames and a newline
 * ends the line, so neither may stand in a name. */
static void frame(struct fnt_out *o, const char *name)
{
	for (const char *p = name; *p; p++)
		fnt_out_ch(o, *p == ';' ? ':' : *p == '\n' ? ' ' : *p);
}

static void write_out(struct fnt_export *x)
{
	struct folded *f = x->priv;

	for (size_t i = 0; i < f->n; i++) {
		size_t depth = 0;

		if (!f->node[i].value)
			continue;
		for (uint32_t k = (uint32_t)i; k != NO_NODE; k = f->node[k].parent) {
			if (depth == f->path_cap) {
				f->path_cap = f->path_cap ? f->path_cap * 2 : 256;
				f->path = realloc(f->path, f->path_cap * sizeof(*f->path));
				if (!f->path) {
					fprintf(stderr, "fntrace: out of memory\n");
					exit(1);
				}
			}
			f->path[depth++] = f->node[k].fid;
		}
		while (depth-- > 0) {
			frame(&x->out, fnt_x_name(x, f->path[depth]));
			fnt_out_ch(&x->out, depth ? ';' : ' ');
		}
		fnt__out_u64(&x->out, f->node[i].value, 0);
		fnt_out_ch(&x->out, '\n');
	}
}

static uint32_t intern(struct folded *f, uint32_t parent, uint32_t fid)
{
	size_t i = slot(parent, fid);

	for (; f->hash[i]; i = (i + 1) & (2 * MAX_NODES - 1)) {
		struct node *n = &f->node[f->hash[i] - 1];

		if (n->parent == parent && n->fid == fid)
			return f->hash[i] - 1;
	}
	f->node[f->n] = (struct node){ parent, fid, 0 };
	f->hash[i] = (uint32_t)++f->n;
	return (uint32_t)(f->n - 1);
}

static uint32_t parent_of(const struct fnt_xthread *t, size_t depth)
{
	return depth > 0 && (long)depth - 1 >= t->lo ? t->stk.c[depth - 1].aux : NO_NODE;
}

/* The tree is full: writes it out and starts a new one, in which the
 * calls open on every thread get their nodes again. */
static void restart(struct fnt_export *x)
{
	struct folded *f = x->priv;

	write_out(x);
	f->n = 0;
	memset(f->hash, 0, 2 * MAX_NODES * sizeof(*f->hash));
	for (size_t i = 0; i < x->nthreads; i++) {
		struct fnt_xthread *t = &x->threads[i];

		if (t->lo < 0)
			continue;
		for (size_t d = (size_t)t->lo; d < t->stk.depth && (t->hide < 0 || (long)d < t->hide); d++)
			t->stk.c[d].aux = intern(f, parent_of(t, d), t->stk.c[d].fid);
	}
}

/* Makes room for one more node before a parent is looked at: a restart
 * gives the open calls new nodes. */
static void make_room(struct fnt_export *x)
{
	struct folded *f = x->priv;

	if (f->n + 1 >= MAX_NODES)
		restart(x);
}

static int folded_open(struct fnt_export *x)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->node = xmalloc(MAX_NODES * sizeof(*f->node));
	f->hash = calloc(2 * MAX_NODES, sizeof(*f->hash));
	if (!f->hash) {
		free(f->node);
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
	struct folded *f = x->priv;
	struct fnt_call *c = &t->stk.c[depth];

	make_room(x);
	c->aux = intern(f, parent_of(t, depth), c->fid);
	if (x->weight == FNT_WEIGHT_CALLS)
		f->node[c->aux].value++;
}

static void folded_end(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
		       enum fnt_xend how)
{
	struct folded *f = x->priv;
	const struct fnt_call *c = &t->stk.c[depth];
	uint64_t total = ns > c->ns ? ns - c->ns : 0;

	if (x->weight == FNT_WEIGHT_TOTAL)
		f->node[c->aux].value += total;
	else if (x->weight == FNT_WEIGHT_SELF)
		f->node[c->aux].value += total > c->child ? total - c->child : 0;
}

static void folded_complete(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid,
			    uint64_t start, uint64_t dur, int untimed)
{
	struct folded *f = x->priv;
	uint32_t n;

	make_room(x);
	/* Its caller is the innermost open call, if that one is shown. */
	n = intern(f, parent_of(t, t->stk.depth), fid);
	f->node[n].value += x->weight == FNT_WEIGHT_CALLS ? 1 : dur;
}

static void folded_lost(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n)
{
}

static int folded_close(struct fnt_export *x, const char *partial)
{
	struct folded *f = x->priv;

	write_out(x);
	free(f->node);
	free(f->hash);
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
