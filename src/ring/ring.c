/*
 * ring.c - the slow paths of the ring writer (taking a ring, waiting for
 * the reader), the reader's side, and the word decoder.
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring/ring.h"
#include "util/log.h"
#include "util/sys.h"

/* Zeroes an object (a whole number of words) with plain stores.  Not memset(): this runs inside a
 * hook, where libc's vector string routines would clobber the traced
 * function's arguments (see docs/design.md, "Vector registers").  The
 * volatile stores keep the compiler from turning the loop into a memset
 * call. */
static inline void zero_words(void *p, size_t bytes)
{
	volatile uint64_t *q = p;

	for (size_t i = 0; i < bytes / 8; i++)
		q[i] = 0;
}

/* Sets up the writer of slot i, just taken (OWNED, backed). */
static void take(struct fnt_ring_writer *w, struct fnt_shm_hdr *hdr,
		 const struct fnt_shm_layout *lay, uint32_t i, int pid, int tid, uint32_t image)
{
	struct fnt_shm_slot *s = fnt_shm_slot(hdr, lay, i);

	s->image = image;
	s->tid = tid;
	s->ext_words = 0;
	s->lost = 0;
	s->kicked = 0;
	s->stream = __atomic_fetch_add(&hdr->nstreams, 1, __ATOMIC_RELAXED);
	/* The reader takes pid > 0 as "set up"; release pairs with its
	 * acquire load of ->pid. */
	__atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);

	zero_words(w, sizeof(*w));
	w->hdr = hdr;
	w->slot = s;
	w->slot_index = i;
	w->buf = fnt_shm_ring(hdr, lay, i);
	w->size = lay->ring_words;
	w->mask = lay->ring_words - 1;
	w->mode = lay->mode;
	w->reader_pid = lay->reader_pid;
	w->stall_ms = lay->stall_ms;
	w->head = s->commit;
	w->nested_lo = ~0ull;
	w->limit = s->tail + w->size / 2;
	/* Forces a TIME_BASE (and a CALLER) as the first words. */
	w->base_pos = w->head - FNT_RING_PAGE;
	fnt__ring_fast_end(w);
}

uint32_t fnt__ring_slots_used(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay)
{
	uint32_t n = __atomic_load_n(&hdr->nslots_used, __ATOMIC_ACQUIRE);

	return n < lay->nslots ? n : lay->nslots;
}

int fnt__ring_writer_open(struct fnt_ring_writer *w, struct fnt_shm_hdr *hdr,
			  const struct fnt_shm_layout *lay, int pid, int tid, uint32_t image)
{
	uint32_t used = fnt__ring_slots_used(hdr, lay), i;

	/* A ring used before, drained and freed by the reader. */
	for (i = 0; i < used; i++) {
		struct fnt_shm_slot *s = fnt_shm_slot(hdr, lay, i);
		uint32_t expect = FNT_SLOT_FREE;

		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != FNT_SLOT_FREE ||
		    !__atomic_load_n(&s->backed, __ATOMIC_ACQUIRE))
			continue;	/* taken, or its first owner is setting it up */
		/* Acquire pairs with the reader's release store of FREE in
		 * fnt__ring_free(): its reset of commit/tail is visible. */
		if (!__atomic_compare_exchange_n(&s->state, &expect, FNT_SLOT_OWNED, 0,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		take(w, hdr, lay, i, pid, tid, image);
		return 0;
	}
	/*
	 * None: the next slot never used.  Its entry and its ring are sparse:
	 * reserve their memory before the first store, which would otherwise
	 * raise SIGBUS in this thread when /dev/shm is full, and only then
	 * take its index, so that every slot below the count is backed.
	 */
	for (i = __atomic_load_n(&hdr->nslots_used, __ATOMIC_RELAXED);;) {
		struct fnt_shm_slot *s;
		uint32_t expect = FNT_SLOT_FREE;

		if (i >= lay->nslots)
			return -EBUSY;
		s = fnt_shm_slot(hdr, lay, i);
		if (fnt__shm_reserve(hdr, (uint64_t)((char *)s - (char *)hdr), sizeof(*s)) < 0 ||
		    fnt__shm_reserve(hdr, (uint64_t)((char *)fnt_shm_ring(hdr, lay, i) - (char *)hdr),
				     lay->ring_words * 8) < 0)
			return -ENOMEM;
		if (!__atomic_compare_exchange_n(&hdr->nslots_used, &i, i + 1, 0, __ATOMIC_RELEASE,
						 __ATOMIC_RELAXED))
			continue;	/* i is the count now */
		/* Ours alone: no one takes a slot before ->backed is set.
		 * (The cmpxchg only guards against a scribbled count.) */
		if (!__atomic_compare_exchange_n(&s->state, &expect, FNT_SLOT_OWNED, 0,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			i = __atomic_load_n(&hdr->nslots_used, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_store_n(&s->backed, 1, __ATOMIC_RELEASE);
		take(w, hdr, lay, i, pid, tid, image);
		return 0;
	}
}

void fnt__ring_writer_recover(struct fnt_ring_writer *w)
{
	uint64_t c, h;

	if (!w->slot || !w->nest)
		return;
	/* The abandoned writer's words lie between the last publication and
	 * the first nested writer's (signal handlers that wrote while it was
	 * interrupted, whose events are whole), or head if none wrote; any of
	 * them may be unwritten (stale words of an earlier lap).  Its event is
	 * counted lost by the runtime, as the whole call is. */
	c = __atomic_load_n(&w->slot->commit, __ATOMIC_RELAXED);
	h = w->head;
	if (h - c > w->size)
		c = h - w->size;
	if (w->nested_lo - c < h - c)
		h = w->nested_lo;
	for (uint64_t p = c; p < h; p++)
		w->buf[p & w->mask] = fnt_ev_ext(FNT_EXT_PAD, 0);
	h = w->head;
	/* The base it may have moved was never published: start a new one,
	 * and forget the caller cache with it. */
	w->base_pos = h - FNT_RING_PAGE;
	fnt__ring_fast_end(w);
	zero_words(w->callers, sizeof(w->callers));
	/* Publish as the outermost writer would. */
	w->nest = 1;
	fnt_ring_end(w);
}

void fnt__ring_writer_close(struct fnt_ring_writer *w)
{
	struct fnt_shm_slot *s = w->slot;

	if (!s)
		return;
	/* Detach first: a signal handler writing from here on takes a new
	 * ring, rather than write into one the reader may be freeing. */
	w->slot = NULL;
	fnt_barrier();
	/* Release: every commit before is visible to a reader that sees
	 * RETIRED (its acquire load of ->state). */
	__atomic_store_n(&s->state, FNT_SLOT_RETIRED, __ATOMIC_RELEASE);
	/* The reader sleeps on hdr->kick: a retired ring is worth a drain. */
	__atomic_fetch_add(&w->hdr->kick, 1, __ATOMIC_RELEASE);
	fnt__sys(SYS_futex, &w->hdr->kick, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void fnt__ring_kick(struct fnt_ring_writer *w)
{
	if (w->slot)
		__atomic_store_n(&w->slot->kicked, 1, __ATOMIC_RELAXED);
	/* The reader sleeps on hdr->kick; a changed value wakes it even if it
	 * had not gone to sleep yet. */
	__atomic_fetch_add(&w->hdr->kick, 1, __ATOMIC_RELEASE);
	fnt__sys(SYS_futex, &w->hdr->kick, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Whether this writer is the first to give up on the recording, and so
 * the one to say why: the first to set the owner's stop word (once per
 * recording: the owner clears it at each begin), or without an owner, the
 * first of the process (*said). */
static int first_to_stop(struct fnt_ring_writer *w, int *said)
{
	if (w->stop)
		return !__atomic_exchange_n(w->stop, 1, __ATOMIC_RELAXED);
	return !__atomic_exchange_n(said, 1, __ATOMIC_RELAXED);
}

/* A lossless writer gives up waiting: it writes nothing more, and asks
 * its owner to stop the recording (on_stall). */
static int give_up(struct fnt_ring_writer *w)
{
	w->dead = 1;
	w->fast_end = 0;
	__atomic_fetch_add(&w->hdr->lost_noreader, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&w->hdr->waiters, 1, __ATOMIC_SEQ_CST);
	if (w->on_stall)
		w->on_stall();
	return -ENOSPC;
}

int fnt__ring_wait(struct fnt_ring_writer *w, uint64_t h, unsigned n)
{
	uint64_t need = h + n;
	struct timespec to = { 0, 2000000 };
	unsigned rounds = 0;
	long since = 0, since_ms = 0;

	if (w->mode == FNT_MODE_DROP)
		return -ENOSPC;
	/* Sleep, not spin: on a small machine the reader needs the CPU. */
	__atomic_fetch_add(&w->hdr->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		/* Read before the check, so a drain in between changes it and
		 * the futex wait returns at once (no lost wake-up). */
		uint32_t seq = __atomic_load_n(&w->hdr->drained, __ATOMIC_ACQUIRE);
		/* Pairs with the reader's release store of ->tail. */
		uint64_t t = __atomic_load_n(&w->slot->tail, __ATOMIC_ACQUIRE);

		if (need - t <= w->size)
			break;
		/* A signal handler's writes moved the head while we slept: the
		 * caller's reservation is stale (need may even lie behind the
		 * tail now, and would never fit): retry it from the new head. */
		if (*(volatile uint64_t *)&w->head != h)
			break;
		/* The reader never consumes past what was committed: a tail
		 * ahead of our head was written by someone else (any traced
		 * process can write the region).  Waiting could last forever:
		 * this thread records no more. */
		if (t - w->head < (1ull << 63) && t != w->head) {
			w->dead = 1;
			w->fast_end = 0;
			__atomic_fetch_sub(&w->hdr->waiters, 1, __ATOMIC_SEQ_CST);
			fnt__log("ring %u was overwritten: this thread's recording stopped",
				 w->slot_index);
			return -ENOSPC;
		}
		/* The recording is ending (its consumer hung up, or another
		 * writer gave up): nothing will drain this ring any more.
		 * Relaxed: the word only ever goes from 0 to non-zero, and a
		 * late look costs one more 2 ms round. */
		if (w->stop && __atomic_load_n(w->stop, __ATOMIC_RELAXED))
			return give_up(w);
		/* Every word before head is written when the outermost writer
		 * waits: publish them again, in case ->commit was overwritten
		 * (the reader then lets this ring go by its real position). */
		if (w->nest == 1)
			__atomic_store_n(&w->slot->commit, w->head, __ATOMIC_RELEASE);
		fnt__ring_kick(w);
		fnt__sys(SYS_futex, &w->hdr->drained, FUTEX_WAIT, seq, &to, NULL, 0);
		/* Every ~100 ms: is anybody still draining? */
		if ((++rounds & 63) == 0) {
			int rp = w->reader_pid;
			struct timespec now;
			static int said_waiting;
			long ms;

			/* A recorder that is alive but does not drain (stopped,
			 * SIGSTOP) stalls the program: said once, after 3 s, so
			 * the user knows whom the program waits for; after the
			 * stall limit the program goes on untraced. */
			fnt__sys(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
			ms = now.tv_sec * 1000 + now.tv_nsec / 1000000;
			if (!since) {
				since = now.tv_sec;
				since_ms = ms;
			} else if (now.tv_sec - since >= 3 && rp > 0 &&
				   !__atomic_exchange_n(&said_waiting, 1, __ATOMIC_RELAXED)) {
				fnt__log("waiting for the fntrace recorder (pid %d) to drain the buffers "
					 "(is it stopped?)", rp);
			}
			if (w->stall_ms && since_ms && ms - since_ms >= (long)w->stall_ms) {
				static int said;

				if (first_to_stop(w, &said))
					fnt__log("the fntrace recorder (pid %d) did not drain for %u ms: "
						 "recording stopped", rp, w->stall_ms);
				return give_up(w);
			}
			if (rp > 0 && fnt__sys(SYS_kill, rp, 0) == -ESRCH) {
				static int said;

				if (first_to_stop(w, &said))
					fnt__log("the fntrace process is gone: recording stopped");
				return give_up(w);
			}
		}
	}
	__atomic_fetch_sub(&w->hdr->waiters, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void fnt__ring_drained(struct fnt_shm_hdr *hdr)
{
	/* seq_cst pairs with the writers' increment of ->waiters: either we
	 * see the waiter, or it sees the new tail before sleeping. */
	if (__atomic_load_n(&hdr->waiters, __ATOMIC_SEQ_CST) == 0)
		return;
	__atomic_fetch_add(&hdr->drained, 1, __ATOMIC_RELEASE);
	fnt__sys(SYS_futex, &hdr->drained, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

void fnt__ring_peek(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
		    struct fnt_ring_span *s)
{
	struct fnt_shm_slot *slot = fnt_shm_slot(hdr, lay, i);
	uint64_t *buf = fnt_shm_ring(hdr, lay, i);
	uint64_t words = lay->ring_words, mask = words - 1;
	/* Pairs with the writer's release store in fnt_ring_end(). */
	uint64_t c = __atomic_load_n(&slot->commit, __ATOMIC_ACQUIRE);
	uint64_t t = slot->tail;
	uint64_t n, first;

	if (c - t > words)	/* only an overwrite ring can lap */
		t = c - words;
	n = c - t;
	first = words - (t & mask);
	s->pos = t;
	s->end = c;
	s->a = buf + (t & mask);
	s->na = n < first ? n : first;
	s->b = buf;
	s->nb = n - s->na;
}

void fnt__ring_peek_last(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
			 struct fnt_ring_span *s)
{
	fnt__ring_peek(hdr, lay, i, s);
}

void fnt__ring_consume(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i,
		       uint64_t end)
{
	struct fnt_shm_slot *slot = fnt_shm_slot(hdr, lay, i);

	/* Pairs with the writer's acquire load in fnt_ring_reserve(): the
	 * words were copied before it may overwrite them. */
	__atomic_store_n(&slot->tail, end, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->kicked, 0, __ATOMIC_RELAXED);
}

void fnt__ring_free(struct fnt_shm_hdr *hdr, const struct fnt_shm_layout *lay, uint32_t i)
{
	struct fnt_shm_slot *slot = fnt_shm_slot(hdr, lay, i);

	slot->commit = 0;
	slot->tail = 0;
	slot->pid = 0;
	slot->tid = 0;
	slot->lost = 0;
	slot->ext_words = 0;
	slot->kicked = 0;
	/* Pairs with the acquire cmpxchg in fnt__ring_writer_open(). */
	__atomic_store_n(&slot->state, FNT_SLOT_FREE, __ATOMIC_RELEASE);
}

void fnt__ev_decoder_init(struct fnt_ev_decoder *d, uint64_t epoch)
{
	memset(d, 0, sizeof(*d));
	d->epoch = epoch;
}

/* Extends a 56-bit time to the 64-bit value closest to the epoch. */
static uint64_t extend(const struct fnt_ev_decoder *d, uint64_t t56)
{
	uint64_t t = (d->epoch & ~FNT_EV_PAYLOAD_MASK) | t56;

	if (t + (1ull << 55) < d->epoch)
		t += 1ull << 56;
	else if (t > d->epoch + (1ull << 55) && t >= (1ull << 56))
		t -= 1ull << 56;
	return t;
}

int fnt__ev_decode(struct fnt_ev_decoder *d, uint64_t w, struct fnt_ev *ev)
{
	unsigned type = fnt_ev_type(w);

	if (type == FNT_EV_EXT) {
		uint64_t p = fnt_ev_payload(w);

		switch (fnt_ev_sub(w)) {
		case FNT_EXT_TIME_BASE:
			d->base = extend(d, p);
			d->have_base = 1;
			return 0;
		case FNT_EXT_TIME_ONCE:
			d->once_time = extend(d, p);
			d->have_once_time = 1;
			return 0;
		case FNT_EXT_CALLER:
			d->callers[(p >> 54) & (FNT_EV_CALLERS - 1)] = p & FNT_EV_ADDR_MASK;
			return 0;
		case FNT_EXT_CALLER_ONCE:
			d->once_caller = p;
			d->have_once_caller = 1;
			return 0;
		case FNT_EXT_DUR:
			d->dur = p;
			d->have_dur = 1;
			return 0;
		case FNT_EXT_LOST:
			memset(ev, 0, sizeof(*ev));
			ev->type = FNT_EV_EXT;
			ev->lost = p;
			ev->ticks = d->base;
			ev->no_time = !d->have_base;
			return 1;
		default:
			return 0;	/* unknown records are skipped: newer writers */
		}
	}
	ev->type = type;
	ev->obj = fnt_ev_obj(w);
	ev->idx = fnt_ev_idx(w);
	ev->caller = 0;
	ev->dur = 0;
	ev->depth = 0;
	ev->lost = 0;
	ev->no_time = 0;
	if (d->have_once_time) {
		ev->ticks = d->once_time;
		d->have_once_time = 0;
	} else {
		ev->ticks = d->base + fnt_ev_delta(w);
		ev->no_time = !d->have_base;
	}
	if (type == FNT_EV_FUNC) {
		if (d->have_once_caller) {
			ev->caller = d->once_caller;
			d->have_once_caller = 0;
		} else {
			/* 0 after a resync, until the slot is filled again. */
			ev->caller = d->callers[fnt_ev_func_slot(w)];
		}
	} else if (type == FNT_EV_EXIT_DUR && d->have_dur) {
		ev->dur = d->dur & FNT_EV_DUR_MASK;
		ev->depth = (uint32_t)(d->dur >> 48);
		d->have_dur = 0;
	}
	return 1;
}

int fnt__ring_emit_slow(struct fnt_ring_writer *w, unsigned type, uint32_t obj, uint32_t idx,
			 uint64_t ts, uint64_t aux)
{
	uint64_t words[4], pos, lost = 0, delta = 0;
	uint64_t dmax = type == FNT_EV_FUNC ? FNT_EV_FUNC_DELTA_MAX : FNT_EV_DELTA_MAX;
	unsigned n = 0, i, slot = 0;
	int outer, newbase = 0, newcaller = 0;

	if (__builtin_expect(w->dead, 0))
		return -ENOSPC;
	w->nest++;
	fnt_barrier();
	outer = w->nest == 1;

	/* Only an outermost writer reports drops: an interrupted writer may
	 * have read pending_lost already, and would report them twice. */
	if (__builtin_expect(w->pending_lost != 0, 0) && outer) {
		lost = w->pending_lost;
		words[n++] = fnt_ev_ext(FNT_EXT_LOST, lost);
	}
	if (outer) {
		delta = ts - w->base_ts;
		if (__builtin_expect(delta > dmax ||
				     w->head - w->base_pos >= FNT_RING_PAGE, 0)) {
			words[n++] = fnt_ev_ext(FNT_EXT_TIME_BASE, ts);
			delta = 0;
			newbase = 1;
		}
	} else {
		words[n++] = fnt_ev_ext(FNT_EXT_TIME_ONCE, ts);
	}
	if (type == FNT_EV_FUNC) {
		if (!outer) {
			words[n++] = fnt_ev_ext(FNT_EXT_CALLER_ONCE, aux);
		} else {
			/* A new base forgets the cache: a reader that starts
			 * there (overwrite mode) must get every caller again. */
			if (newbase)
				zero_words(w->callers, sizeof(w->callers));
			for (slot = 0; slot < FNT_EV_CALLERS; slot++)
				if (w->callers[slot] == aux)
					break;
			if (slot == FNT_EV_CALLERS) {
				slot = w->victim++ & (FNT_EV_CALLERS - 1);
				words[n++] = fnt_ev_ext(FNT_EXT_CALLER,
							((uint64_t)slot << 54) | (aux & FNT_EV_ADDR_MASK));
				newcaller = 1;
			}
		}
	} else if (type == FNT_EV_EXIT_DUR) {
		words[n++] = fnt_ev_ext(FNT_EXT_DUR, aux);
	}
	words[n++] = type == FNT_EV_FUNC ? fnt_ev_make_func(delta, slot, obj, idx)
					 : fnt_ev_make(type, delta, obj, idx);

	if (__builtin_expect(fnt_ring_reserve(w, n, &pos) < 0, 0)) {
		fnt_local_add(&w->pending_lost, 1);
		w->fast_end = 0;
		fnt_local_add(&w->slot->lost, 1);
		fnt_ring_end(w);
		return -ENOSPC;
	}
	if (!outer) {
		uint64_t c = __atomic_load_n(&w->slot->commit, __ATOMIC_RELAXED);

		if (w->nested_lo - c >= pos - c)
			w->nested_lo = pos;
	}
	for (i = 0; i < n; i++)
		w->buf[(pos + i) & w->mask] = words[i];
	if (n > 1)
		fnt_local_add(&w->slot->ext_words, n - 1);
	if (newbase) {
		w->base_ts = ts;
		w->base_pos = pos;
	}
	if (newcaller)
		w->callers[slot] = aux;
	if (lost)
		fnt_local_add(&w->pending_lost, -lost);
	if (newbase || lost)
		fnt__ring_fast_end(w);
	fnt_ring_end(w);
	return 0;
}

