/*
 * walk.h - the event walk the reading commands share (replay, report,
 * dump): the streams of a trace merged by time, the stack of open calls of
 * a stream, and a table that names each site's function by a small id.
 *
 * Everything here is bounded by the trace's streams, sites and call depth,
 * never by its length, so a command built on it reads a trace of any size
 * in constant memory.
 */
#ifndef FNT_CLI_WALK_H
#define FNT_CLI_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "cli/tracefile.h"

/* One open call.  fid and aux are the command's own (a function id, a
 * node of a call tree); child sums the totals of the calls it made. */
struct fnt_call {
	uint32_t obj, idx;
	uint32_t fid, aux;
	uint64_t ns, child;
};

struct fnt_stack {
	struct fnt_call *c;
	size_t depth, cap;
};

/* Pushes a call and returns it (exits on out of memory, as the reading
 * commands do everywhere).  Inline: every entry event pushes; growing is
 * fnt__stack_grow()'s. */
void fnt__stack_grow(struct fnt_stack *s);
static inline struct fnt_call *fnt__stack_push(struct fnt_stack *s, uint32_t obj, uint32_t idx,
					       uint64_t ns)
{
	if (s->depth == s->cap)
		fnt__stack_grow(s);
	s->c[s->depth] = (struct fnt_call){ obj, idx, 0, 0, ns, 0 };
	return &s->c[s->depth++];
}
/* The depth of the open call an exit of site (obj, idx) closes, or -1.
 * Only the 16 innermost calls are searched: an exit whose entry was lost
 * (overwritten, dropped) must not close half the stack. */
long fnt__stack_find(const struct fnt_stack *s, uint32_t obj, uint32_t idx);
void fnt__stack_free(struct fnt_stack *s);

/* One stream of the merged walk.  Embedded in the command's own
 * per-stream state: ev and ns are the stream's next event while have. */
struct fnt_wstream {
	struct fnt_tf_cursor cur;
	const struct fnt_tf_rstream *s;
	struct fnt_ev ev;
	uint64_t ns;		/* its time (the last known one if it has none) */
	uint64_t last_ns;
	int have;
};

struct fnt_walk {
	const struct fnt_tf *tf;
	struct fnt_wstream **heap;	/* earliest next event first */
	size_t nheap;
	struct fnt_wstream *popped;	/* returned last: put back at the next call */
};

/* Allocates room for every stream of tf.  Returns 0 or -ENOMEM. */
int fnt__walk_init(struct fnt_walk *w, const struct fnt_tf *tf);
/* Adds stream rs, whose state is *ws, to the walk. */
void fnt__walk_add(struct fnt_walk *w, struct fnt_wstream *ws, const struct fnt_tf_rstream *rs);
/* The earliest event of all streams into *ev and *ns, and its stream; NULL
 * at the end.  Until the next call, the stream's ev is its next event, and
 * fnt__walk_skip() may consume it (replay folds a call's exit into the
 * line of its entry so). */
struct fnt_wstream *fnt__walk_next(struct fnt_walk *w, struct fnt_ev *ev, uint64_t *ns);
void fnt__walk_skip(struct fnt_walk *w, struct fnt_wstream *ws);
/* Takes a stream out of the walk (its remaining events are not wanted). */
void fnt__walk_drop(struct fnt_walk *w, struct fnt_wstream *ws);
void fnt__walk_free(struct fnt_walk *w);

/* --tid and -F of the reading commands: adds a thread id to tids[64], or
 * a glob list to list[4096] (comma-separated).  Returns 0, or prints the
 * usage error of cmd and returns its status (2). */
int fnt__opt_tid(const char *cmd, long *tids, int *ntids, const char *arg);
int fnt__opt_glob(const char *cmd, char *list, const char *arg);
/* realloc, or the end of the command on out of memory. */
void *fnt__xrealloc(void *p, size_t n);

/* Is thread tid among tids[ntids] (every thread when ntids is 0)? */
int fnt__tid_selected(const long *tids, int ntids, int32_t tid);

/* Function names by id: sites of every image and object that name the
 * same function share its id, so a library's function used by several
 * processes adds up. */
struct fnt_names_cache;
struct fnt_names {
	char **name;
	const char **raw;	/* per id: the first site's symbol (filters match it), or NULL */
	size_t n, cap;
	uint32_t *hash;		/* open addressing: id + 1, 0 = empty */
	size_t hcap;
	/* Last-site cache (1024 entries) shared by every stream: one per
	 * stream cost 20 KB of zeroing per thread, more than a short-lived
	 * thread's events. */
	struct fnt_names_cache *cache;
};

/* The id of name (added if new).  Ids are dense from 0. */
uint32_t fnt__names_id(struct fnt_names *t, const char *name);
/*
 * The same, remembering raw (the symbol as in the trace file, which
 * outlives the table) for an id made now.  With --demangle=simple the
 * overloads of a function share an id, and a filter's full-form pattern
 * ("f(int)") is matched against the first of them seen.
 */
uint32_t fnt__names_id_raw(struct fnt_names *t, const char *name, const char *raw);
/* What filters match for id: its symbol, else its name. */
static inline const char *fnt__names_raw(const struct fnt_names *t, uint32_t id)
{
	return t->raw && t->raw[id] ? t->raw[id] : t->name[id];
}
/* The id of the function of a site. */
uint32_t fnt__names_site(struct fnt_names *t, const struct fnt_tf *tf, uint32_t image,
			 uint32_t obj, uint32_t idx);
void fnt__names_free(struct fnt_names *t);

#endif
