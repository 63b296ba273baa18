/*
 * export.h - the writers of the converting commands ('fntrace dump':
 * export_chrome.c, export_folded.c, export_perfetto.c; 'fntrace
 * flamegraph' and 'graph': export_tree.c) and the walk that feeds them
 * (export_walk.c).
 *
 * export_walk.c walks the trace, every selected thread merged by time, and
 * hands each writer calls that are already well formed: every begun call
 * ends, on its thread, before its caller does and at a time no earlier
 * than its start, whatever the trace lost or unwound.  A writer only
 * formats; it keeps no more than its own bounded state, so the output is
 * streamed.
 */
#ifndef FNT_CLI_EXPORT_H
#define FNT_CLI_EXPORT_H

#include <stdint.h>

#include "cli/calltree.h"
#include "cli/cli.h"
#include "cli/srcline.h"
#include "cli/tracefile.h"
#include "cli/walk.h"

/* Why a call ended. */
enum fnt_xend {
	FNT_XEND_RETURN,	/* it returned */
	FNT_XEND_UNWOUND,	/* longjmp, an exception or the thread's exit left it */
	FNT_XEND_LOST,		/* its exit was lost: a caller's exit closed it */
	FNT_XEND_CUT,		/* the time range ends while it runs */
	FNT_XEND_OPEN,		/* still running where the thread's events end */
};

/* One thread (a stream of the trace). */
struct fnt_xthread {
	const struct fnt_tf_rstream *s;
	uint32_t id;		/* dense from 0, in the trace's stream order */
	const char *exe;	/* its process's executable ("?" if unknown) */
	/* Every open call, visible or not: the visible ones are those from
	 * depth lo (-1: none) up to hide (-1: the top), contiguous. */
	struct fnt_stack stk;
	long lo, hide;
};

enum fnt_weight { FNT_WEIGHT_SELF, FNT_WEIGHT_TOTAL, FNT_WEIGHT_CALLS };

struct fnt_export;

struct fnt_export_ops {
	/* Writes the header and sets up priv.  Returns 0 or -errno. */
	int (*open)(struct fnt_export *x);
	/* Once per selected thread, before any call. */
	void (*thread)(struct fnt_export *x, const struct fnt_xthread *t);
	/* A visible call, t->stk.c[depth], began at its ns. */
	void (*begin)(struct fnt_export *x, struct fnt_xthread *t, size_t depth);
	/* The visible call t->stk.c[depth] ends at ns (still on the stack,
	 * with child the total time of the calls it made). */
	void (*end)(struct fnt_export *x, struct fnt_xthread *t, size_t depth, uint64_t ns,
		    enum fnt_xend how);
	/* A call given as one event: a call of the function tracer or one
	 * past the runtime's timed depth (untimed, dur 0), or a call of at
	 * least the recording's time threshold.  Its callers are the
	 * thread's visible open calls; obj is the object it is in. */
	void (*complete)(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid, uint32_t obj,
			 uint64_t start, uint64_t dur, int untimed);
	/* n events were lost at ns. */
	void (*lost)(struct fnt_export *x, struct fnt_xthread *t, uint64_t ns, uint64_t n);
	/* Writes the footer and frees priv; partial says why the trace is
	 * incomplete (NULL: it is whole).  Returns 0 or -errno. */
	int (*close)(struct fnt_export *x, const char *partial);
};

struct fnt_export {
	const struct fnt_tf *tf;
	struct fnt_names *names;	/* fid -> name */
	struct fnt_out out;
	enum fnt_weight weight;
	struct fnt_xthread *threads;	/* the selected ones */
	size_t nthreads;
	const void *arg;	/* the command's own settings for its writer */
	void *priv;
	/* --srcline (NULL: not asked): the DWARF of the objects, and per
	 * function id the first site seen of it and its answer, asked once
	 * (fnt__xsrcline). */
	struct fnt_srcline *srcline;
	struct fnt_xsite *sites;
	size_t nsites;
};

struct fnt_xsite {
	uint32_t image, obj, idx;
	uint8_t seen, asked;
	const char *line;	/* "file:line" or NULL, the srcline cache's */
};

/* "file:line" of function fid (NULL: unknown, or no --srcline), from the
 * DWARF of its first site's object; looked up once per function. */
const char *fnt__xsrcline(struct fnt_export *x, uint32_t fid);

static inline const char *fnt_x_name(const struct fnt_export *x, uint32_t fid)
{
	return x->names->name[fid];
}

/* What -F and -N match for fid: the symbol (see fnt__names_raw). */
static inline const char *fnt_x_raw(const struct fnt_export *x, uint32_t fid)
{
	return fnt__names_raw(x->names, fid);
}

/* The call-tree node of the caller of a call at depth (aux of the call
 * below it, when that one is shown), or FNT_CT_NONE: the call is a root. */
static inline uint32_t fnt__xparent(const struct fnt_xthread *t, size_t depth)
{
	return depth > 0 && (long)depth - 1 >= t->lo ? t->stk.c[depth - 1].aux : UINT32_MAX;
}

/* export_tree.c: the call tree of the whole selection, for the commands
 * that draw it (flamegraph, graph).  x.arg is their fnt_xtree_cfg. */
struct fnt_xtree;
struct fnt_xtree_cfg {
	int inverted;		/* the callers' view: paths from each function up */
	size_t max_nodes;	/* calls beyond stay in their callers, counted */
	/* Writes the output from the finished tree.  Returns 0 or -1. */
	int (*write)(struct fnt_export *x, struct fnt_xtree *xt, const char *partial);
	const void *arg;	/* the command's own settings */
};
struct fnt_xtree {
	struct fnt_ctree tree;
	struct fnt_names objs;	/* a node's obj: the object's path by id */
	uint64_t dropped;	/* calls the tree had no room for */
	uint64_t lost;		/* events the trace lost */
	const struct fnt_xtree_cfg *cfg;
};

extern const struct fnt_export_ops fnt__export_chrome;
extern const struct fnt_export_ops fnt__export_folded;
extern const struct fnt_export_ops fnt__export_perfetto;
extern const struct fnt_export_ops fnt__export_tree;

/* The selection the converting commands share: -i, --tid, -F, -N and
 * --time-range (uftrace's START~END), as getopt_long options. */
struct fnt_xsel {
	const char *path;	/* NULL: fntrace.data */
	long tids[64];
	int ntids;
	char only[4096], skip[4096];	/* -F, -N: comma-separated globs */
	uint64_t t0, t1;	/* calls that begin in [t0, t1) */
	int have_t1;
	int srcline;		/* not a selection: dump's --srcline, for the walk */
};

#define FNT_XSEL_SHORT "i:F:N:"
#define FNT_XSEL_LONG                                                                       \
	{ "input", required_argument, NULL, 'i' }, { "tid", required_argument, NULL, 'T' },  \
	{ "filter", required_argument, NULL, 'F' }, { "notrace", required_argument, NULL, 'N' }, \
	{ "time-range", required_argument, NULL, 'R' }, { "demangle", required_argument, NULL, 'M' }
#define FNT_XSEL_HELP                                                                      \
	"  -i, --input PATH   trace file (default fntrace.data)\n"                             \
	"  --tid N            only thread N (repeatable)\n"                                    \
	"  -F, --filter GLOB  only matching functions, and what they call\n"                   \
	"  -N, --notrace GLOB not matching functions, nor what they call\n"                    \
	"  --time-range R     only calls that begin in R, START~END (either may be left\n"     \
	"                     out): seconds since the recording started as replay prints\n"    \
	"                     them (1.5), or a time with a unit (ns, us, ms, s); END may\n"    \
	"                     be +DURATION, relative to START; calls still running at END\n"   \
	"                     end there\n"                                                   \
	FNT_DEMANGLE_HELP

/* Takes option c (from FNT_XSEL_LONG or FNT_XSEL_SHORT) into s.  Returns
 * 0, -1 if c is none of them, or 2 (the usage error is printed). */
int fnt__xsel_opt(const char *cmd, struct fnt_xsel *s, int c, const char *arg);
/* --weight self|total|calls.  Returns 0 or 2 (the usage error printed). */
int fnt__xweight(const char *cmd, const char *arg, enum fnt_weight *w);
/* Opens the trace, walks the selection into ops, written to out (NULL or
 * "-": the standard output), with x.weight and x.arg set.  Errors are one
 * line prefixed by cmd.  Returns the exit status. */
int fnt__export_run(const char *cmd, const struct fnt_xsel *sel, const struct fnt_export_ops *ops,
		    enum fnt_weight weight, const void *arg, const char *out);

/* Writes s as the inside of a JSON string: quotes, backslashes and
 * control characters escaped, and bytes that are not UTF-8 written as the
 * Latin-1 characters they would be, so the output is always valid JSON. */
void fnt__json_str(struct fnt_out *o, const char *s);
/* The length of the well-formed UTF-8 sequence (no overlong forms, no
 * surrogates) of two bytes or more at p, or 0. */
size_t fnt__utf8_seq(const unsigned char *p);

#endif
