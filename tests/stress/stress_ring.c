/*
 * stress_ring.c - the rings under load, in the spirit of the kernel's
 * ring_buffer startup test: one writer per thread, plus nested writers in
 * signal handlers interrupting them at random points, and a reader
 * draining concurrently.  In every mode, per ring:
 *
 *   events read + events lost == events written
 *
 * and each writer's (outer and nested) events come back in order, with
 * exactly the timestamps (and, for function-tracer events, the callers)
 * written: a nested writer that broke the outer writer's time base or
 * caller cache, or a commit that published unwritten words, shows up as a
 * wrong time, a wrong caller or a broken sequence.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring/ring.h"

#define WRITERS 4
#define PER_WRITER 400000

#include "unit/check.h"

static struct fnt_shm_hdr *h;
static struct fnt_shm_layout L;
static __thread struct fnt_ring_writer *tw;
static __thread uint64_t nested_seq;
static _Atomic int writers_done;

struct writer {
	pthread_t t;
	struct fnt_ring_writer w;
	uint64_t written, nested_written;
	_Atomic int ready;
};

static struct writer wr[WRITERS];

/* Times: the outer writer's increase; nested ones are far away, so a
 * decoder applying the wrong base gives a visibly wrong value. */
#define BLOCK 100000
static uint64_t outer_ts(uint64_t seq)
{
	/* A jump every BLOCK events overflows the 27-bit delta. */
	return 1000000 + (seq % BLOCK) * 3 + (seq / BLOCK) * (1ull << 28);
}

static uint64_t nested_ts(uint64_t seq) { return (5ull << 40) + seq * 7; }

/* Outer events alternate graph entries (obj 1) and function-tracer hits
 * (obj 3) from 7 callers, more than the 4-slot cache; nested ones are
 * function-tracer hits (obj 2) from 3 other callers. */
static uint64_t outer_caller(uint64_t seq) { return 0x400000 + (seq % 7) * 64; }
static uint64_t nested_caller(uint64_t seq) { return 0x500000 + (seq % 3) * 8; }

/* The sequence number a time encodes, or UINT64_MAX if none does. */
static uint64_t seq_of(int obj, uint64_t ts)
{
	if (obj == 2) {
		if (ts < (5ull << 40) || (ts - (5ull << 40)) % 7)
			return UINT64_MAX;
		return (ts - (5ull << 40)) / 7;
	}
	uint64_t x = ts - 1000000, rem = x & ((1ull << 28) - 1);

	if (ts < 1000000 || rem % 3 || rem / 3 >= BLOCK)
		return UINT64_MAX;
	return (x >> 28) * BLOCK + rem / 3;
}

static void on_signal(int sig)
{
	struct writer *me;
	int n = 1 + (int)(nested_seq % 3), saved_errno = errno;

	if (!tw)
		return;
	me = (struct writer *)((char *)tw - offsetof(struct writer, w));
	for (int i = 0; i < n; i++) {
		uint64_t s = nested_seq++;

		fnt_ring_emit(tw, FNT_EV_FUNC, 2, (uint32_t)(s & FNT_EV_IDX_MAX), nested_ts(s),
			      nested_caller(s));
		me->nested_written++;
	}
	errno = saved_errno;
}

static void *writer(void *p)
{
	struct writer *me = p;

	tw = &me->w;
	me->ready = 1;
	time_t start = time(NULL);

	/* Until enough nested writes happened (or 3 s): signals interrupt the
	 * loop at random points, mid-reserve and mid-commit included. */
	for (uint64_t i = 0; i < PER_WRITER || (me->nested_written < 2000 && time(NULL) < start + 3); i++) {
		if (i & 1)
			fnt_ring_emit(&me->w, FNT_EV_FUNC, 3, (uint32_t)(i & FNT_EV_IDX_MAX),
				      outer_ts(i), outer_caller(i));
		else
			fnt_ring_emit(&me->w, FNT_EV_ENTRY, 1, (uint32_t)(i & FNT_EV_IDX_MAX),
				      outer_ts(i), 0);
		me->written++;
	}
	/* Signals must not write once the counts are read. */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	tw = NULL;
	return NULL;
}

struct seen {
	struct fnt_ev_decoder dec;
	uint64_t events[3], next[3], lost, bad_time, bad_order, bad_caller;
	int started[3];
	uint64_t first[3];
};

static void feed(struct seen *s, const uint64_t *w, size_t n)
{
	struct fnt_ev ev;

	for (size_t i = 0; i < n; i++) {
		if (!fnt__ev_decode(&s->dec, w[i], &ev))
			continue;
		if (ev.type == FNT_EV_EXT) {
			s->lost += ev.lost;
			continue;
		}
		if (ev.obj != 1 && ev.obj != 2 && ev.obj != 3) {
			s->bad_order++;
			continue;
		}
		/* Objects 1 and 3 are the outer writer's sequence. */
		int k = ev.obj == 2 ? 2 : 1;
		uint64_t seq = seq_of(k, ev.ticks);

		/* The time must be one written, and agree with the index. */
		if (seq == UINT64_MAX || (seq & FNT_EV_IDX_MAX) != ev.idx) {
			s->bad_time++;
			continue;
		}
		if (k == 1 && (ev.obj == 3) != (seq & 1))
			s->bad_order++;
		if (ev.type == FNT_EV_FUNC &&
		    ev.caller != (k == 1 ? outer_caller(seq) : nested_caller(seq)) &&
		    /* after a resync a slot is unknown until refilled */
		    !(h->mode == FNT_MODE_OVERWRITE && ev.caller == 0))
			s->bad_caller++;
		if (s->started[k] &&
		    (h->mode == FNT_MODE_DROP ? seq < s->next[k] : seq != s->next[k]))
			s->bad_order++;
		if (!s->started[k])
			s->first[k] = seq;
		s->started[k] = 1;
		s->next[k] = seq + 1;
		s->events[k]++;
	}
}

static struct seen seen[WRITERS];

static void drain(uint32_t i, int last)
{
	struct fnt_ring_span sp;
	size_t skip = 0;

	if (h->mode == FNT_MODE_OVERWRITE) {
		if (!last)
			return;
		fnt__ring_peek_last(h, &L, i, &sp);
		/* Lapped: resynchronize at the first TIME_BASE, which may lie
		 * in either half of the span (as the recorder does). */
		if (sp.pos > 0)
			while (skip < sp.na + sp.nb) {
				uint64_t w = skip < sp.na ? sp.a[skip] : sp.b[skip - sp.na];

				if (fnt_ev_type(w) == FNT_EV_EXT && fnt_ev_sub(w) == FNT_EXT_TIME_BASE)
					break;
				skip++;
			}
	} else {
		fnt__ring_peek(h, &L, i, &sp);
	}
	if (skip < sp.na) {
		feed(&seen[i], sp.a + skip, sp.na - skip);
		feed(&seen[i], sp.b, sp.nb);
	} else {
		feed(&seen[i], sp.b + (skip - sp.na), sp.nb - (skip - sp.na));
	}
	fnt__ring_consume(h, &L, i, sp.end);
}

static void *reader(void *p)
{
	while (!writers_done) {
		for (uint32_t i = 0; i < WRITERS; i++)
			drain(i, 0);
		if (h->mode == FNT_MODE_DROP)
			usleep(2000);	/* slow: the writers must drop */
	}
	return NULL;
}

static void *killer(void *p)
{
	struct timespec ts = { 0, 20000 };

	while (!writers_done) {
		for (int i = 0; i < WRITERS; i++)
			if (wr[i].ready)
				pthread_kill(wr[i].t, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void run(int mode)
{
	static const char *names[] = { "lossless", "overwrite", "drop" };
	struct fnt_shm_hdr t;
	pthread_t rd, kl;
	uint64_t total_read = 0, total_written = 0, total_lost = 0, nested = 0;

	memset(&t, 0, sizeof(t));
	t.mode = mode;
	t.nslots = WRITERS;
	t.ring_words = 1 << 14;
	t.reader_pid = getpid();
	if (fnt__shm_create_anon(&t, &h, &L) < 0) {
		perror("shm");
		exit(1);
	}
	memset(wr, 0, sizeof(wr));
	memset(seen, 0, sizeof(seen));
	writers_done = 0;
	for (int i = 0; i < WRITERS; i++) {
		fnt__ev_decoder_init(&seen[i].dec, 0);
		if (fnt__ring_writer_open(&wr[i].w, h, &L, getpid(), 100 + i, 0) < 0) {
			fprintf(stderr, "no ring\n");
			exit(1);
		}
	}
	pthread_create(&rd, NULL, reader, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&wr[i].t, NULL, writer, &wr[i]);
	pthread_create(&kl, NULL, killer, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wr[i].t, NULL);
	writers_done = 1;
	pthread_join(kl, NULL);
	pthread_join(rd, NULL);

	for (uint32_t i = 0; i < WRITERS; i++) {
		struct fnt_shm_slot *slot = fnt_shm_slot(h, &L, i);
		struct seen *s = &seen[i];
		uint64_t written = wr[i].written + wr[i].nested_written, read, lost;

		drain(i, 1);
		read = s->events[1] + s->events[2];
		if (mode == FNT_MODE_OVERWRITE) {
			/* As the recorder computes it: events committed minus read. */
			lost = slot->commit - slot->ext_words - read;
			CHECK_EQ(s->next[1], wr[i].written);	/* the newest are kept */
		} else {
			lost = slot->lost;
			CHECK_EQ(s->lost <= slot->lost, 1);	/* in-band never overcounts */
			CHECK_EQ(s->first[1], 0);	/* the oldest are kept */
		}
		if (mode == FNT_MODE_LOSSLESS) {
			CHECK_EQ(lost, 0);
			CHECK_EQ(s->events[1], wr[i].written);
		}
		CHECK_EQ(read + lost, written);
		CHECK_EQ(s->bad_time, 0);
		CHECK_EQ(s->bad_order, 0);
		CHECK_EQ(s->bad_caller, 0);
		total_read += read;
		total_written += written;
		total_lost += lost;
		nested += wr[i].nested_written;
	}
	printf("%-9s written %llu (nested %llu) read %llu lost %llu\n", names[mode],
	       (unsigned long long)total_written, (unsigned long long)nested,
	       (unsigned long long)total_read, (unsigned long long)total_lost);
	if (nested < 100) {
		fprintf(stderr, "too few nested writes (%llu) to test nesting\n",
			(unsigned long long)nested);
		check_failures++;
	}
	if (mode != FNT_MODE_LOSSLESS && total_lost == 0) {
		fprintf(stderr, "%s: nothing lost: the test did not overrun the rings\n", names[mode]);
		check_failures++;
	}
	fnt__shm_unmap(h, &L);
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	run(FNT_MODE_LOSSLESS);
	run(FNT_MODE_DROP);
	run(FNT_MODE_OVERWRITE);
	if (check_failures) {
		fprintf(stderr, "stress_ring: %d failures\n", check_failures);
		return 1;
	}
	printf("stress_ring: ok\n");
	return 0;
}
