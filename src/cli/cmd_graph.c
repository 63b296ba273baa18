/*
 * cmd_graph.c - 'fntrace graph [FUNC]': the aggregated call tree in the
 * terminal, in the manner of uftrace's graph.  Each line is a call path:
 * its total time (and self time with -f), then "(calls) function", drawn
 * as a tree; a function that is the only callee of its caller stays in
 * its caller's column, as uftrace draws it.
 *
 * Without FUNC the tree is the whole selection's, under the program.
 * With FUNC (a glob, as -F takes) it first lists the backtraces of the
 * outermost matching calls, the distinct paths that led to them, then the
 * tree below them, merged over those paths.
 *
 * The tree is export_tree.c's, over dump's walk and selection
 * (export_walk.c).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"
#include "core/filter.h"

#define MAX_NODES (1u << 20)

enum { FIELD_TOTAL = 1, FIELD_SELF = 2 };

struct graph_opts {
	const char *func;	/* NULL: the whole tree */
	struct fnt_filter match;
	int fields;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fntrace graph [FUNC] [-f FIELDS] [-i PATH] [--tid N] [-F GLOB] [-N GLOB]\n"
		"                     [--time-range START~END] [--demangle STYLE]\n"
		"Prints the aggregated call tree: every call path with its total time and, in\n"
		"parentheses, its calls.  Without FUNC, the whole trace's under the program; with\n"
		"FUNC (a glob, matched as -F matches), the backtraces of its outermost calls,\n"
		"then the tree below them merged over those paths.\n"
		"  -f, --output-fields F  total (default), self, total,self, or none\n"
		FNT_XSEL_HELP);
}

/* The fields before the ':' of a line: blank for a separator line. */
static void fields(struct fnt_out *o, int which, const struct fnt_ctnode *n, uint64_t total,
		   uint64_t self)
{
	char buf[32];

	if (which & FIELD_TOTAL) {
		fnt_out_str(o, "  ");
		if (n) {
			fnt__fmt_dur(buf, total);
			fnt_out_str(o, buf);
		} else {
			fnt_out_spaces(o, 10);
		}
	}
	if (which & FIELD_SELF) {
		fnt_out_str(o, "  ");
		if (n) {
			fnt__fmt_dur(buf, self);
			fnt_out_str(o, buf);
		} else {
			fnt_out_spaces(o, 10);
		}
	}
	fnt_out_str(o, which ? " : " : "");
}

struct item {
	uint32_t node;		/* FNT_CT_NONE: a separator line */
	size_t plen;		/* the prefix it is drawn after */
	int branch, last;
};

struct printer {
	struct fnt_out *o;
	int which;
	char *prefix;
	size_t cap;
	struct item *stack;
	size_t depth, scap;
	uint32_t *kids;
	size_t kcap;
};

static void push(struct printer *p, uint32_t node, size_t plen, int branch, int last)
{
	if (p->depth == p->scap) {
		p->scap = p->scap ? p->scap * 2 : 64;
		p->stack = fnt__xrealloc(p->stack, p->scap * sizeof(*p->stack));
	}
	p->stack[p->depth++] = (struct item){ node, plen, branch, last };
}

static void put_prefix(struct printer *p, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (at + n + 1 > p->cap) {
		p->cap = (at + n + 1) * 2;
		p->prefix = fnt__xrealloc(p->prefix, p->cap);
	}
	memcpy(p->prefix + at, s, n);
}

/* Pushes the children of a line drawn after the prefix of length plen:
 * one child stays in the column, several branch off with '+-' and a '|'
 * line between them.  The stack gives them back in order. */
static void push_children(struct printer *p, const struct fnt_ctree *t, uint32_t first,
			  size_t plen)
{
	size_t n = 0;

	for (uint32_t c = first; c != FNT_CT_NONE; c = t->node[c].next) {
		if (n == p->kcap) {
			p->kcap = p->kcap ? p->kcap * 2 : 16;
			p->kids = fnt__xrealloc(p->kids, p->kcap * sizeof(*p->kids));
		}
		p->kids[n++] = c;
	}
	if (n == 1) {
		push(p, p->kids[0], plen, 0, 0);
		return;
	}
	put_prefix(p, plen, " ");
	for (size_t i = n; i-- > 0;) {
		push(p, p->kids[i], plen + 1, 1, i == n - 1);
		if (i)
			push(p, FNT_CT_NONE, plen + 1, 0, 0);
	}
}

/* Draws the top line (calls, total, self, name) and the tree of first's
 * list below it, without recursion: paths may be very deep. */
static void print_tree(struct fnt_export *x, const struct fnt_ctree *t, int which, const char *name,
		       const struct fnt_ctnode *top, uint32_t first)
{
	struct printer p = { .o = &x->out, .which = which };
	struct fnt_out *o = &x->out;

	/* Room from the start: the prefix is written out even when empty. */
	put_prefix(&p, 0, " ");

	fields(o, which, top, top->total, top->self);
	fnt_out_str(o, "(");
	fnt__out_u64(o, top->calls, 0);
	fnt_out_str(o, ") ");
	fnt_out_str(o, name);
	fnt_out_ch(o, '\n');
	push_children(&p, t, first, 0);
	while (p.depth > 0 && !o->err) {
		struct item it = p.stack[--p.depth];
		const struct fnt_ctnode *n;
		size_t plen = it.plen;

		if (it.node == FNT_CT_NONE) {
			fields(o, which, NULL, 0, 0);
			fnt_out_mem(o, p.prefix, plen);
			fnt_out_str(o, "|\n");
			continue;
		}
		n = &t->node[it.node];
		fields(o, which, n, n->total, n->self);
		fnt_out_mem(o, p.prefix, plen);
		fnt_out_str(o, it.branch ? "+-(" : "(");
		fnt__out_u64(o, n->calls, 0);
		fnt_out_str(o, ") ");
		fnt_out_str(o, fnt_x_name(x, n->fid));
		fnt_out_ch(o, '\n');
		if (it.branch) {
			put_prefix(&p, plen, it.last ? "  " : "| ");
			plen += 2;
		}
		push_children(&p, t, n->child, plen);
	}
	free(p.prefix);
	free(p.stack);
	free(p.kids);
}

static void header(struct fnt_out *o, int which, const char *what)
{
	fnt_out_str(o, "========== ");
	fnt_out_str(o, what);
	fnt_out_str(o, " ==========\n#");
	if (which & FIELD_TOTAL)
		fnt_out_str(o, " TOTAL TIME ");
	if (which & FIELD_SELF)
		fnt_out_str(o, "  SELF TIME ");
	fnt_out_str(o, which ? "  FUNCTION\n" : " FUNCTION\n");
}

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static int matches(const struct graph_opts *g, struct fnt_export *x, struct fnt_xtree *xt,
		   const struct fnt_ctnode *n)
{
	return fnt_filter_match(&g->match, fnt_x_raw(x, n->fid), xt->objs.name[n->obj]);
}

/* graph FUNC: the backtraces of the outermost matching calls, then their
 * subtrees merged into one tree per function. */
static void func_graph(struct fnt_export *x, struct fnt_xtree *xt, const struct graph_opts *g)
{
	struct fnt_ctree *t = &xt->tree, merged;
	struct fnt_out *o = &x->out;
	uint32_t *map = fnt__xrealloc(NULL, (t->n + 1) * sizeof(*map));
	uint32_t *path = NULL;
	size_t ncap = 0, nb = 0;
	char buf[64];

	if (fnt__ctree_init(&merged, t->n + 1) < 0) {
		/* As everywhere in the reading commands, out of memory ends it. */
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	fnt_out_str(o, "=============== BACKTRACE ===============\n");
	/* Index order is parents first: map[] of a parent is known. */
	for (size_t i = 0; i < t->n; i++) {
		const struct fnt_ctnode *n = &t->node[i];
		uint32_t parent = n->parent == FNT_CT_NONE ? FNT_CT_NONE : map[n->parent];
		size_t depth = 0;

		map[i] = FNT_CT_NONE;
		if (parent == FNT_CT_NONE && !matches(g, x, xt, n))
			continue;
		map[i] = fnt__ctree_intern(&merged, parent, n->fid, NULL);
		merged.node[map[i]].calls += n->calls;
		merged.node[map[i]].total += n->total;
		merged.node[map[i]].self += n->self;
		if (parent != FNT_CT_NONE)
			continue;
		/* An outermost match: its backtrace, from the first caller. */
		for (uint32_t k = (uint32_t)i; k != FNT_CT_NONE; k = t->node[k].parent) {
			if (depth == ncap) {
				ncap = ncap ? ncap * 2 : 64;
				path = fnt__xrealloc(path, ncap * sizeof(*path));
			}
			path[depth++] = k;
		}
		snprintf(buf, sizeof(buf), " backtrace #%zu: hit %llu, time ", nb++,
			 (unsigned long long)n->calls);
		fnt_out_str(o, buf);
		fnt__fmt_dur(buf, n->total);
		fnt_out_str(o, buf);
		fnt_out_ch(o, '\n');
		for (size_t d = depth; d-- > 0;) {
			const struct fnt_ctnode *f = &t->node[path[d]];

			snprintf(buf, sizeof(buf), "   [%zu] ", depth - 1 - d);
			fnt_out_str(o, buf);
			fnt_out_str(o, fnt_x_name(x, f->fid));
			fnt_out_str(o, " (");
			fnt_out_str(o, base(xt->objs.name[f->obj]));
			fnt_out_str(o, ")\n");
		}
		fnt_out_ch(o, '\n');
	}
	if (!nb)
		fnt_out_str(o, " (no call of a matching function)\n\n");
	header(o, g->fields, "FUNCTION CALL GRAPH");
	for (uint32_t r = fnt__ctree_link(&merged, NULL, NULL); r != FNT_CT_NONE;
	     r = merged.node[r].next) {
		print_tree(x, &merged, g->fields, fnt_x_name(x, merged.node[r].fid), &merged.node[r],
			   merged.node[r].child);
		if (merged.node[r].next != FNT_CT_NONE)
			fnt_out_ch(o, '\n');
	}
	fnt__ctree_free(&merged);
	free(path);
	free(map);
}

static int graph_write(struct fnt_export *x, struct fnt_xtree *xt, const char *partial)
{
	const struct graph_opts *g = xt->cfg->arg;
	struct fnt_out *o = &x->out;
	char buf[160];

	snprintf(buf, sizeof(buf), "# Function Call Graph for '%s' (%s)\n",
		 g->func ? g->func : base(x->nthreads ? x->threads[0].exe : "?"), x->tf->path);
	fnt_out_str(o, buf);
	if (g->func) {
		func_graph(x, xt, g);
	} else {
		struct fnt_ctnode top = { 0 };
		uint32_t first = fnt__ctree_link(&xt->tree, NULL, NULL);

		/* The top is the program: its time is its top calls'. */
		for (uint32_t r = first; r != FNT_CT_NONE; r = xt->tree.node[r].next)
			top.total += xt->tree.node[r].total;
		top.self = 0;
		for (size_t i = 0; i < x->nthreads; i++) {
			size_t k = 0;

			while (k < i && x->threads[k].s->pid != x->threads[i].s->pid)
				k++;
			top.calls += k == i;	/* a process */
		}
		header(o, g->fields, "FUNCTION CALL GRAPH");
		print_tree(x, &xt->tree, g->fields, base(x->nthreads ? x->threads[0].exe : "?"), &top,
			   first);
	}
	if (xt->dropped) {
		snprintf(buf, sizeof(buf), "# %llu calls past %zu paths are left in their callers\n",
			 (unsigned long long)xt->dropped, xt->cfg->max_nodes);
		fnt_out_str(o, buf);
	}
	if (xt->lost) {
		snprintf(buf, sizeof(buf), "# %llu events were lost\n", (unsigned long long)xt->lost);
		fnt_out_str(o, buf);
	}
	if (partial) {
		fnt_out_str(o, "# partial: ");
		fnt_out_str(o, partial);
		fnt_out_ch(o, '\n');
	}
	return 0;
}

static int parse_fields(const char *s, int *which)
{
	char buf[64], *tok, *save;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*which = 0;
	if (!strcmp(s, "none"))
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "total"))
			*which |= FIELD_TOTAL;
		else if (!strcmp(tok, "self"))
			*which |= FIELD_SELF;
		else
			return -1;
	}
	return *which ? 0 : -1;
}

int fnt__cmd_graph(int argc, char **argv)
{
	static const struct option lopts[] = {
		FNT_XSEL_LONG,
		{ "output-fields", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct graph_opts g = { .fields = FIELD_TOTAL };
	struct fnt_xtree_cfg cfg = { 0, MAX_NODES, graph_write, &g };
	struct fnt_xsel sel;
	char err[256];
	int c, r;

	memset(&sel, 0, sizeof(sel));
	optind = 1;
	opterr = 0;
	/* Options may follow FUNC, as in uftrace: no '+'. */
	while ((c = getopt_long(argc, argv, FNT_XSEL_SHORT "f:h", lopts, NULL)) != -1) {
		r = fnt__xsel_opt("graph", &sel, c, optarg);
		if (r >= 0) {
			if (r)
				return r;
			continue;
		}
		switch (c) {
		case 'f':
			if (parse_fields(optarg, &g.fields) < 0)
				return fnt__usage_error("graph", "-f takes total, self, total,self or none, "
								 "not '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fnt__bad_option("graph", argv, optind, optopt);
		}
	}
	if (optind < argc)
		g.func = argv[optind++];
	if (optind < argc)
		return fnt__usage_error("graph", "unexpected argument '%s'", argv[optind]);
	if (g.func && fnt_filter_parse(&g.match, g.func, err, sizeof(err)) < 0)
		return fnt__usage_error("graph", "%s", err);
	r = fnt__export_run("graph", &sel, &fnt__export_tree, FNT_WEIGHT_TOTAL, &cfg, NULL);
	if (g.func)
		fnt_filter_free(&g.match);
	return r;
}
