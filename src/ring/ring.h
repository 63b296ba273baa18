/*
 * ring.h - per-thread single-producer rings in shared memory.
 *
 * The writer rule (as in the kernel's ring_buffer): a ring has exactly one
 * writing thread, but that thread may be interrupted by a signal handler
 * that writes too, and that nested writer always finishes before the
 * interrupted one resumes.  So:
 *
 *  - space is reserved with a cmpxchg on the writer's own head *without*
 *    the lock prefix: one instruction, atomic against a signal on the same
 *    thread, and a few cycles instead of a locked bus operation;
 *  - w->nest counts writers in progress on this thread; only the outermost
 *    one (nest == 1) publishes ->commit, and it publishes the head it saw,
 *    after its own words and every nested writer's words are written;
 *  - after dropping nest to 0 it checks whether a writer reserved in the
 *    meantime (the head moved) and if so publishes again, so a nested
 *    writer that slipped in between never stays unpublished:
 *
 *      outer: reserve p..p+1, write             outer: h = head; commit = h
 *        signal: nest=2, reserve p+1..p+2,        signal: nest=2, reserve,
 *                write, nest=1 (no commit)                write, nest=1
 *      outer: h = head (p+2); commit = h      outer: nest = 0; head != h
 *                                                    -> nest = 1, publish again
 *
 *  - time: words carry a delta to the last TIME_BASE written by an
 *    outermost writer.  Nested writers never move the base (an interrupted
 *    writer may have computed its delta against it already): they write a
 *    TIME_ONCE record before their event.  The same goes for the function
 *    tracer's caller cache (CALLER into a slot / CALLER_ONCE).
 *  - an outermost writer starts a new TIME_BASE at least every
 *    FNT_RING_PAGE words and forgets its caller cache there, so a reader
 *    that lost the start of a ring (overwrite mode) resynchronizes at the
 *    next TIME_BASE.
 *
 * When the ring is full (the reader's tail is ring_words behind):
 *  - lossless: the writer sleeps on hdr->drained until the reader copied
 *    words out (fnt__ring_wait); nothing is lost while the reader lives;
 *  - drop: the event is counted lost (slot->lost) and reported in-band by a
 *    LOST record before the writer's next event that fits: the oldest stay;
 *  - overwrite: there is no check; the reader takes the newest ring_words
 *    words once the writer is gone, and counts the older ones lost.
 *
 * The hot path takes no lock, allocates nothing and makes no syscall: a
 * syscall happens only to wake the reader when a ring passes half full (once
 * per drain) and, in lossless mode, while waiting for the reader.
 *
 * Ordering with the reader (another process):
 *   writer: words; commit = h (release)   reader: c = commit (acquire); copy;
 *   writer: t = tail (acquire) <------------------ tail = c (release)
 */
#ifndef FNT_RING_RING_H
#define FNT_RING_RING_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ring/event.h"
#include "ring/shm.h"

#define FNT_RING_PAGE 256	/* words between forced TIME_BASE records */

struct fnt_ring_writer {
	struct fnt_shm_hdr *hdr;
	struct fnt_shm_slot *slot;
	uint64_t *buf;
	uint64_t mask;		/* ring_words - 1 */
	uint64_t size;		/* ring_words */
	uint64_t head;		/* next position to reserve (local cmpxchg only) */
	uint32_t nest;		/* writers in progress on this thread */
	uint32_t mode;		/* enum fnt_mode */
	uint64_t base_ts;	/* outermost writers only */
	uint64_t base_pos;
	uint64_t callers[FNT_EV_CALLERS];	/* caller cache; outermost writers only */
	uint32_t victim;	/* next caller slot to replace */
	uint64_t pending_lost;	/* drop mode: lost, not yet reported in-band */
	uint64_t limit;		/* head may reach this without a look at ->tail:
				 * half a ring past the last tail read, or a whole
				 * ring once past half (tail only grows, so a
				 * stale limit is merely cautious) */
	/* The inline path writes only at positions below this, so it checks
	 * one bound instead of four: the smaller of limit (not in overwrite
	 * mode) and the next forced TIME_BASE, and 0 while the writer is dead
	 * or has drops to report.  Kept by fnt__ring_fast_end(). */
	uint64_t fast_end;
	/* The first position a nested writer reserved while the outermost one
	 * was in progress (valid only if at or past ->commit: an older one lies
	 * before what the outermost writers published since).  Only the words
	 * before it can be the outermost writer's, which is what
	 * fnt__ring_writer_recover() must void when that writer is abandoned:
	 * the nested ones are whole events. */
	uint64_t nested_lo;
	int dead;		/* the reader vanished: write nothing more */
	int32_t reader_pid;	/* from the private layout, not the shared header */
	uint32_t slot_index;
	uint32_t stall_ms;	/* lossless: wait at most this long (0: no limit) */
	/* Set by the owner after open (NULL: none).  *stop is the process's
	 * "recording is ending" word: a waiting writer gives up as soon as
	 * it reads non-zero.  on_stall is called once by a writer that gave
	 * up (stall limit, reader gone), to have the recording stopped; the
	 * first writer to give up sets *stop and says why on stderr. */
	int *stop;
	void (*on_stall)(void);
};

/* Adds v to *p in one instruction: atomic against a signal handler of the
 * same thread, not against other threads (the kernel's local_add). */
static inline void fnt_local_add(uint64_t *p, uint64_t v)
{
	__asm__ __volatile__("addq %1, %0" : "+m"(*p) : "er"(v) : "memory");
}

static inline int fnt_local_cmpxchg(uint64_t *p, uint64_t old, uint64_t new_)
{
	uint64_t prev;

	__asm__ __volatile__("cmpxchgq %2, %1"
			     : "=a"(prev), "+m"(*p)
			     : "r"(new_), "0"(old)
			     : "memory");
	return prev == old;
}

#define fnt_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Takes a free ring for the calling thread: one used before and freed, or
 * else the next one never used, whose memory it reserves first (see shm.h,
 * "Rings on demand").  Returns 0, -EBUSY when all nslots rings are taken,
 * or -ENOMEM when no ring is free and no memory for a new one can be had. */
int fnt__ring_writer_open(struct fnt_ring_writer *w, struct fnt_shm_hdr *hdr,
			  const struct fnt_shm_layout *lay, int pid, int tid, uint32_t image);
/* Slots handed out so far (the shared count, bounded by lay->nslots). */
uint32_t fnt__ring_slots_used(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay);
/* Hands the ring to the reader for a last drain; the thread writes no more. */
void fnt__ring_writer_close(struct fnt_ring_writer *w);
/* Makes a writer usable again after its thread abandoned a write midway
 * (a signal handler interrupted it and left with siglongjmp): the words
 * reserved since the last publication, written or not, become PAD, and
 * the next word starts a new time base.  Only on the writer's thread,
 * outside any write. */
void fnt__ring_writer_recover(struct fnt_ring_writer *w);
/* Slow path of reserve: ring full for n words at head h.  Lossless: waits
 * for the reader (or for a nested writer to move the head: a signal
 * handler's writes while this one sleeps) and returns 0 to retry; drop
 * (or reader gone): returns -ENOSPC. */
int fnt__ring_wait(struct fnt_ring_writer *w, uint64_t h, unsigned n);
/* Wakes the reader (futex on hdr->kick). */
void fnt__ring_kick(struct fnt_ring_writer *w);

/*
 * Recomputes w->fast_end after limit, base_pos, dead or pending_lost
 * changed.  A signal handler's writer may count a drop (and clear
 * fast_end) between our reads and our store: the second look catches it,
 * and one that comes after it clears fast_end itself.
 */
static inline void fnt__ring_fast_end(struct fnt_ring_writer *w)
{
	uint64_t e = w->base_pos + FNT_RING_PAGE;

	/* Positions are absolute word counts (they never wrap): plain
	 * comparisons. */
	if (w->mode != FNT_MODE_OVERWRITE && w->limit < e)
		e = w->limit;
	w->fast_end = e;
	fnt_barrier();
	if (*(volatile int *)&w->dead || *(volatile uint64_t *)&w->pending_lost)
		w->fast_end = 0;
}

static inline int fnt_ring_reserve(struct fnt_ring_writer *w, unsigned n, uint64_t *pos)
{
	for (;;) {
		uint64_t h = *(volatile uint64_t *)&w->head;

		/* Within the limit there is room for sure: the reader's line
		 * is read only when the limit is reached. */
		if (w->mode != FNT_MODE_OVERWRITE && h + n > w->limit) {
			/* Pairs with the reader's release store of ->tail. */
			uint64_t t = __atomic_load_n(&w->slot->tail, __ATOMIC_ACQUIRE);

			if (__builtin_expect(h + n - t > w->size, 0)) {
				if (fnt__ring_wait(w, h, n) < 0)
					return -ENOSPC;
				continue;
			}
			/*
			 * Below half a ring, the inline path may go on until
			 * half (where the reader is to be woken).  Past it, the
			 * reader is woken (or was), and the inline path may go
			 * on until the ring is full: stopping at half would send
			 * every event here, reading the reader's line, until
			 * the reader's next drain (a tenth of lossless mode's
			 * cost per call, when the program writes half a ring
			 * between two drains).
			 */
			if (__builtin_expect(h + n - t > w->size / 2, 0)) {
				if (!__atomic_load_n(&w->slot->kicked, __ATOMIC_RELAXED))
					fnt__ring_kick(w);
				w->limit = t + w->size;
			} else {
				w->limit = t + w->size / 2;
			}
			fnt__ring_fast_end(w);
		}
		if (fnt_local_cmpxchg(&w->head, h, h + n)) {
			*pos = h;
			return 0;
		}
	}
}

/* Publishes the words of every finished writer (see the file comment). */
static inline void fnt_ring_end(struct fnt_ring_writer *w)
{
	if (w->nest != 1) {
		w->nest--;
		return;
	}
	for (;;) {
		uint64_t h = *(volatile uint64_t *)&w->head;

		fnt_barrier();
		/* Pairs with the reader's acquire load of ->commit. */
		__atomic_store_n(&w->slot->commit, h, __ATOMIC_RELEASE);
		fnt_barrier();
		*(volatile uint32_t *)&w->nest = 0;
		fnt_barrier();
		if (*(volatile uint64_t *)&w->head == h || *(volatile uint32_t *)&w->nest != 0)
			return;
		*(volatile uint32_t *)&w->nest = 1;
		fnt_barrier();
	}
}

/* The general case of fnt_ring_emit(): nested writers, time bases, callers,
 * in-band loss reports, a ring past half full. */
int fnt__ring_emit_slow(struct fnt_ring_writer *w, unsigned type, uint32_t obj, uint32_t idx,
			uint64_t ts, uint64_t aux);

/*
 * The common case of writing one event of the given type at time ts: an
 * outermost writer, one word, the same time base and caller, room in the
 * ring.  nest is raised before the base and caller are read, so no nested
 * writer can move them under us.  Returns 0 once written, or 1 if the
 * event needs fnt__ring_emit_slow() (nothing written; nest is back to 0).
 * aux is the caller address for FNT_EV_FUNC.
 */
static inline __attribute__((always_inline)) int
fnt_ring_emit_fast(struct fnt_ring_writer *w, unsigned type, uint32_t obj, uint32_t idx,
		   uint64_t ts, uint64_t aux)
{
	uint64_t h, delta, word;

	if (__builtin_expect(w->nest != 0 || type == FNT_EV_EXIT_DUR, 0))
		return 1;
	w->nest = 1;
	fnt_barrier();
	delta = ts - w->base_ts;
	h = *(volatile uint64_t *)&w->head;
	/* Room, no time base due, nothing to report (see fast_end). */
	if (__builtin_expect(h >= w->fast_end, 0))
		goto slow;
	if (type == FNT_EV_FUNC) {
		unsigned slot;

		if (aux == w->callers[0])
			slot = 0;
		else if (aux == w->callers[1])
			slot = 1;
		else if (aux == w->callers[2])
			slot = 2;
		else if (aux == w->callers[3])
			slot = 3;
		else
			goto slow;
		if (__builtin_expect(delta > FNT_EV_FUNC_DELTA_MAX, 0))
			goto slow;
		word = fnt_ev_make_func(delta, slot, obj, idx);
	} else {
		if (__builtin_expect(delta > FNT_EV_DELTA_MAX, 0))
			goto slow;
		word = fnt_ev_make(type, delta, obj, idx);
	}
	if (__builtin_expect(!fnt_local_cmpxchg(&w->head, h, h + 1), 0))
		goto slow;	/* a signal handler wrote in between */
	w->buf[h & w->mask] = word;
	fnt_ring_end(w);
	return 0;
slow:
	/* Publishes what a nested writer may have written, drops nest. */
	fnt_ring_end(w);
	return 1;
}

/*
 * Writes one event of the given type at time ts.  aux is the caller address
 * for FNT_EV_FUNC and the DUR payload for FNT_EV_EXIT_DUR.
 * Returns 0, or -ENOSPC when the event was lost (counted).
 */
static inline __attribute__((always_inline)) int
fnt_ring_emit(struct fnt_ring_writer *w, unsigned type, uint32_t obj, uint32_t idx, uint64_t ts,
	      uint64_t aux)
{
	if (__builtin_expect(fnt_ring_emit_fast(w, type, obj, idx, ts, aux) == 0, 1))
		return 0;
	return fnt__ring_emit_slow(w, type, obj, idx, ts, aux);
}

/*
 * Reader side (the fntrace process, and tests).
 */

/* Committed words of a ring, as up to two spans (the ring wraps). */
struct fnt_ring_span {
	const uint64_t *a, *b;
	size_t na, nb;
	uint64_t pos;		/* ring position of a[0] */
	uint64_t end;		/* position after the last word */
};

/* The words committed and not consumed yet.  For lossless and drop rings
 * read while their writer may run. */
void fnt__ring_peek(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
		    struct fnt_ring_span *s);
/* The newest ring_words words at most (overwrite mode), for a ring whose
 * writer is gone. */
void fnt__ring_peek_last(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
			 struct fnt_ring_span *s);
/* Gives the words before end back to the writer. */
void fnt__ring_consume(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
		       uint64_t end);
/* Wakes lossless writers waiting for room, after a drain. */
void fnt__ring_drained(struct fnt_shm_hdr *hdr);
/* Makes a drained ring free for another thread. */
void fnt__ring_free(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i);

/* Decoding words back into events. */
struct fnt_ev {
	unsigned type;		/* FNT_EV_*, or FNT_EV_EXT for a LOST record */
	uint64_t ticks;
	uint32_t obj, idx;
	uint64_t caller;	/* FUNC */
	uint64_t dur;		/* EXIT_DUR, ticks */
	uint32_t depth;		/* EXIT_DUR */
	uint64_t lost;		/* LOST */
	int no_time;		/* no TIME_BASE seen yet: ticks is unknown */
};

struct fnt_ev_decoder {
	uint64_t epoch;		/* a full 64-bit time near the recording, to extend 56-bit times */
	uint64_t base;
	uint64_t callers[FNT_EV_CALLERS];
	uint64_t once_time, once_caller, dur;
	int have_base, have_once_time, have_once_caller, have_dur;
};

void fnt__ev_decoder_init(struct fnt_ev_decoder *d, uint64_t epoch);
/* Feeds one word.  Returns 1 when *ev holds an event (or a LOST record),
 * 0 when the word only updated the decoder's state. */
int fnt__ev_decode(struct fnt_ev_decoder *d, uint64_t w, struct fnt_ev *ev);

#endif
