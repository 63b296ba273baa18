/*
 * export.h - the writers of 'fntrace dump' (export_chrome.c,
 * export_folded.c, export_perfetto.c) and what cmd_dump.c gives them.
 *
 * cmd_dump.c walks the trace, every selected thread merged by time, and
 * hands each writer calls that are already well formed: every begun call
 * ends, on its thread, before its caller does and at a time no earlier
 * than its start, whatever the trace lost or unwound.  A writer only
 * formats; it keeps no more than its own bounded state, so the output is
 * streamed.
 */
#ifndef FNT_CLI_EXPORT_H
#define FNT_CLI_EXPORT_H

#include <stdint.h>

#include "cli/cli.h"
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
	 * thread's visible open calls. */
	void (*complete)(struct fnt_export *x, struct fnt_xthread *t, uint32_t fid,
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
	void *priv;
};

static inline const char *fnt_x_name(const struct fnt_export *x, uint32_t fid)
{
	return x->names->name[fid];
}

extern const struct fnt_export_ops fnt__export_chrome;
extern const struct fnt_export_ops fnt__export_folded;
extern const struct fnt_export_ops fnt__export_perfetto;

/* Writes s as the inside of a JSON string: quotes, backslashes and
 * control characters escaped, and bytes that are not UTF-8 written as the
 * Latin-1 characters they would be, so the output is always valid JSON. */
void fnt__json_str(struct fnt_out *o, const char *s);

#endif
