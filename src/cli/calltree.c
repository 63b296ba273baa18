/*
 * calltree.c - the bounded call tree of the tree-shaped outputs (see
 * calltree.h): nodes in one growing array, found by (parent, function) in
 * an open-addressing hash that is kept at most half full.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/calltree.h"
#include "cli/walk.h"

static size_t slot(const struct fnt_ctree *t, uint32_t parent, uint32_t fid)
{
	uint64_t h = ((uint64_t)parent << 32 | fid) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & t->hmask;
}

int fnt__ctree_init(struct fnt_ctree *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	t->hmask = 1023;
	t->hash = calloc(t->hmask + 1, sizeof(*t->hash));
	return t->hash ? 0 : -ENOMEM;
}

/* Doubles the hash and places every node again. */
static void rehash(struct fnt_ctree *t)
{
	free(t->hash);
	t->hmask = t->hmask * 2 + 1;
	t->hash = calloc(t->hmask + 1, sizeof(*t->hash));
	if (!t->hash) {
		/* As everywhere in the reading commands, out of memory ends it. */
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t k = slot(t, t->node[i].parent, t->node[i].fid);

		while (t->hash[k])
			k = (k + 1) & t->hmask;
		t->hash[k] = (uint32_t)i + 1;
	}
}

uint32_t fnt__ctree_intern(struct fnt_ctree *t, uint32_t parent, uint32_t fid, int *added)
{
	size_t k;

	if (added)
		*added = 0;
	if (parent == FNT_CT_FULL)
		return FNT_CT_FULL;
	for (k = slot(t, parent, fid); t->hash[k]; k = (k + 1) & t->hmask) {
		const struct fnt_ctnode *n = &t->node[t->hash[k] - 1];

		if (n->parent == parent && n->fid == fid)
			return t->hash[k] - 1;
	}
	if (t->n >= t->max)
		return FNT_CT_FULL;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->node = fnt__xrealloc(t->node, t->cap * sizeof(*t->node));
	}
	t->node[t->n] = (struct fnt_ctnode){ .parent = parent, .fid = fid };
	t->hash[k] = (uint32_t)++t->n;
	if (2 * t->n > t->hmask)
		rehash(t);
	if (added)
		*added = 1;
	return (uint32_t)(t->n - 1);
}

void fnt__ctree_clear(struct fnt_ctree *t)
{
	t->n = 0;
	memset(t->hash, 0, (t->hmask + 1) * sizeof(*t->hash));
}

static int (*g_cmp)(const struct fnt_ctnode *, const struct fnt_ctnode *, void *);
static const struct fnt_ctree *g_tree;
static void *g_arg;

/* qsort() has no argument: the order is by parent, then cmp, then age. */
static int by_parent(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct fnt_ctnode *nx = &g_tree->node[x], *ny = &g_tree->node[y];
	int c;

	if (nx->parent != ny->parent)
		return nx->parent < ny->parent ? -1 : 1;
	c = g_cmp ? g_cmp(nx, ny, g_arg) : 0;
	return c ? c : x < y ? -1 : x > y;
}

uint32_t fnt__ctree_link(struct fnt_ctree *t,
			 int (*cmp)(const struct fnt_ctnode *, const struct fnt_ctnode *, void *),
			 void *arg)
{
	uint32_t *order, first = FNT_CT_NONE, *tail;

	for (size_t i = 0; i < t->n; i++)
		t->node[i].child = t->node[i].next = FNT_CT_NONE;
	if (!t->n)
		return FNT_CT_NONE;
	order = fnt__xrealloc(NULL, t->n * sizeof(*order));
	for (size_t i = 0; i < t->n; i++)
		order[i] = (uint32_t)i;
	if (cmp) {
		g_cmp = cmp;
		g_tree = t;
		g_arg = arg;
		qsort(order, t->n, sizeof(*order), by_parent);
	}
	/* Appending in reverse order makes each list come out in order. */
	for (size_t i = t->n; i-- > 0;) {
		struct fnt_ctnode *n = &t->node[order[i]];

		tail = n->parent == FNT_CT_NONE ? &first : &t->node[n->parent].child;
		n->next = *tail;
		*tail = order[i];
	}
	free(order);
	return first;
}

void fnt__ctree_free(struct fnt_ctree *t)
{
	free(t->node);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}
