/*
 * calltree.h - the aggregated call tree the tree-shaped outputs share
 * (dump --folded, flamegraph, graph): a node per call path, that is per
 * caller node and function, with the calls made along it and their total
 * and self time.
 *
 * The tree is bounded by the caller's max: when it is full, intern()
 * says so and the caller decides (folded writes the tree out and starts
 * again; flamegraph and graph count the calls they cannot place).  Nodes
 * are only ever added, and a node's parent is always older than it, so an
 * index order is a parents-first order.
 */
#ifndef FNT_CLI_CALLTREE_H
#define FNT_CLI_CALLTREE_H

#include <stddef.h>
#include <stdint.h>

#define FNT_CT_NONE UINT32_MAX		/* no node: the parent of a root */
#define FNT_CT_FULL (UINT32_MAX - 1)	/* the tree had no room for the path */

struct fnt_ctnode {
	uint32_t parent, fid;
	uint32_t obj;		/* the caller's: which object the function is in */
	uint32_t child, next;	/* first child, next sibling: fnt__ctree_link() */
	uint64_t calls, total, self;
};

struct fnt_ctree {
	struct fnt_ctnode *node;
	size_t n, cap, max;
	uint32_t *hash;		/* (parent, fid) -> node + 1, open addressing */
	size_t hmask;
};

/* An empty tree of at most max nodes.  Returns 0 or -ENOMEM. */
int fnt__ctree_init(struct fnt_ctree *t, size_t max);
/* The node of function fid under parent (FNT_CT_NONE: a root), added
 * (zeroed, obj to be set by the caller) if new; FNT_CT_FULL when the tree
 * has max nodes, or when parent is itself FNT_CT_FULL.  *added tells
 * whether it is new (added may be NULL). */
uint32_t fnt__ctree_intern(struct fnt_ctree *t, uint32_t parent, uint32_t fid, int *added);
/* Empties the tree, keeping its memory. */
void fnt__ctree_clear(struct fnt_ctree *t);
/* Links every node into its parent's list of children (child, next), in
 * the order of cmp if not NULL, else in the order the nodes were added.
 * Returns the first root (FNT_CT_NONE: the tree is empty); the roots are
 * linked through next as well. */
uint32_t fnt__ctree_link(struct fnt_ctree *t, int (*cmp)(const struct fnt_ctnode *a,
							   const struct fnt_ctnode *b, void *arg),
			 void *arg);
void fnt__ctree_free(struct fnt_ctree *t);

#endif
