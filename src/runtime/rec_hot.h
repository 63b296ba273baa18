/*
 * rec_hot.h - the recorder's state that its direct path (direct.c) reads
 * on every call: the thread's ring writer and the session's settings.
 * recorder.c owns all of it and is the only writer; direct.c reads it
 * inside the hooks' guard, where a session cannot end under it.
 */
#ifndef FNT_RUNTIME_REC_HOT_H
#define FNT_RUNTIME_REC_HOT_H

#include <stdint.h>

#include "ring/ring.h"

/* The runtime hooks returns with a shadow stack of its own (1024 frames,
 * not in the public API); deeper calls get an entry but no exit.  Past
 * this depth function_graph records a call as a function-tracer hit (an
 * entry that expects no exit), so call counts stay exact and the reader
 * never waits for an exit that cannot come. */
#define FNT_REC_GRAPH_MAX_DEPTH 1000

struct fnt_rec_thread {
	struct fnt_ring_writer w;
	uint64_t *stack;	/* entry times for a threshold, mmap'ed on first use */
	uint32_t retry;		/* events since the last failed attempt at a ring */
	int nomem;		/* the last attempt found no memory (else no free ring) */
	int keyed;		/* the pthread key points at us */
	int opening;		/* in open_thread(): a signal handler's calls
				 * nested in a hook find the writer half made */
	int gen;		/* the session w belongs to (recorder.c) */
};

/* The calling thread's writer (initial-exec TLS: no call to reach it). */
extern __thread struct fnt_rec_thread fnt__rec_self;

struct fnt_rec_session {
	/* The running session's number, 0 between sessions and in a child
	 * made without our fork handlers (see recorder.c). */
	volatile int *owner;
	int clock;		/* enum fnt_clock_kind */
	uint32_t max_depth;	/* --max-depth (0: none); changed live, relaxed */
};

extern struct fnt_rec_session fnt__rec;

/* Has t a ring of the running session?  (recorder.c's ready() opens one
 * when not; the direct path leaves that to the general one.) */
static inline int fnt__rec_ready(const struct fnt_rec_thread *t)
{
	return t->w.slot != NULL && t->gen == *fnt__rec.owner;
}

#endif
