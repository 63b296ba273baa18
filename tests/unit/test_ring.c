/*
 * test_ring.c - unit tests of the rings: word encoding, and each mode's
 * promise with one writer (lossless: nothing lost with a slow reader; drop:
 * the oldest kept and the rest counted; overwrite: the newest kept and the
 * rest counted), the inline path past half a ring, slot recycling, and the
 * 56-bit time extension.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring/clock.h"
#include "ring/ring.h"

#include "unit/check.h"

/* The layout of the region made last (the tests use one at a time). */
static struct fnt_shm_layout L;

static struct fnt_shm_hdr *make(int mode, uint64_t words, uint32_t nslots)
{
	struct fnt_shm_hdr t, *h;

	memset(&t, 0, sizeof(t));
	t.mode = mode;
	t.nslots = nslots;
	t.ring_words = words;
	t.clock = FNT_CLOCK_MONO;
	t.reader_pid = getpid();
	if (fnt__shm_create_anon(&t, &h, &L) < 0) {
		perror("shm");
		exit(1);
	}
	return h;
}

/* What a reader saw of one ring. */
struct seen {
	struct fnt_ev_decoder dec;
	uint64_t events, lost, next_idx, last_ticks;
	uint64_t first_idx;
	int order_ok, have_first;
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
		if (!s->have_first) {
			s->have_first = 1;
			s->first_idx = ev.idx;
			s->next_idx = ev.idx;
		}
		if (ev.idx != (s->next_idx & FNT_EV_IDX_MAX) || ev.ticks < s->last_ticks)
			s->order_ok = 0;
		s->next_idx = ev.idx + 1;
		s->last_ticks = ev.ticks;
		s->events++;
	}
}

static void drain(struct fnt_shm_hdr *h, uint32_t i, struct seen *s)
{
	struct fnt_ring_span sp;

	fnt__ring_peek(h, &L, i, &sp);
	feed(s, sp.a, sp.na);
	feed(s, sp.b, sp.nb);
	fnt__ring_consume(h, &L, i, sp.end);
}

static void test_encoding(void)
{
	uint64_t w = fnt_ev_make(FNT_EV_EXIT, 12345, FNT_EV_OBJ_MAX, FNT_EV_IDX_MAX);
	struct fnt_ev_decoder d;
	struct fnt_ev ev;

	CHECK_EQ(fnt_ev_type(w), FNT_EV_EXIT);
	CHECK_EQ(fnt_ev_delta(w), 12345);
	CHECK_EQ(fnt_ev_obj(w), FNT_EV_OBJ_MAX);
	CHECK_EQ(fnt_ev_idx(w), FNT_EV_IDX_MAX);
	w = fnt_ev_make(FNT_EV_ENTRY, FNT_EV_DELTA_MAX, 3, 0);
	CHECK_EQ(fnt_ev_delta(w), FNT_EV_DELTA_MAX);
	CHECK_EQ(fnt_ev_obj(w), 3);
	CHECK_EQ(fnt_ev_idx(w), 0);

	fnt__ev_decoder_init(&d, 1000);
	CHECK_EQ(fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_TIME_BASE, 5000), &ev), 0);
	CHECK_EQ(fnt__ev_decode(&d, fnt_ev_make(FNT_EV_ENTRY, 7, 1, 2), &ev), 1);
	CHECK_EQ(ev.ticks, 5007);
	CHECK_EQ(ev.type, FNT_EV_ENTRY);
	/* TIME_ONCE applies to one event, then the base is back. */
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_TIME_ONCE, 9000), &ev);
	fnt__ev_decode(&d, fnt_ev_make(FNT_EV_EXIT, 0, 1, 2), &ev);
	CHECK_EQ(ev.ticks, 9000);
	fnt__ev_decode(&d, fnt_ev_make(FNT_EV_EXIT, 1, 1, 2), &ev);
	CHECK_EQ(ev.ticks, 5001);
	/* Callers: the cache slots, and ONCE overriding them for one event. */
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_CALLER, 0x401000), &ev);
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_CALLER, (3ull << 54) | 0x7f0000001234ull), &ev);
	fnt__ev_decode(&d, fnt_ev_make_func(5, 0, 1, 2), &ev);
	CHECK_EQ(ev.caller, 0x401000);
	CHECK_EQ(ev.ticks, 5005);
	fnt__ev_decode(&d, fnt_ev_make_func(FNT_EV_FUNC_DELTA_MAX, 3, 1, 2), &ev);
	CHECK_EQ(ev.caller, 0x7f0000001234ull);
	CHECK_EQ(ev.ticks, 5000 + FNT_EV_FUNC_DELTA_MAX);
	CHECK_EQ(ev.obj, 1);
	CHECK_EQ(ev.idx, 2);
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_CALLER_ONCE, 0x7fff12345678ull), &ev);
	fnt__ev_decode(&d, fnt_ev_make_func(0, 3, 1, 2), &ev);
	CHECK_EQ(ev.caller, 0x7fff12345678ull);
	fnt__ev_decode(&d, fnt_ev_make_func(0, 0, 1, 2), &ev);
	CHECK_EQ(ev.caller, 0x401000);
	/* Lost records come out as events of type EXT. */
	CHECK_EQ(fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_LOST, 42), &ev), 1);
	CHECK_EQ(ev.type, FNT_EV_EXT);
	CHECK_EQ(ev.lost, 42);
	/* Durations: depth and ticks. */
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_DUR, (5ull << 48) | 777), &ev);
	fnt__ev_decode(&d, fnt_ev_make(FNT_EV_EXIT_DUR, 0, 1, 2), &ev);
	CHECK_EQ(ev.dur, 777);
	CHECK_EQ(ev.depth, 5);

	/* 56-bit times extend to the value nearest the epoch. */
	fnt__ev_decoder_init(&d, (3ull << 56) + 100);
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_TIME_BASE, 200), &ev);
	fnt__ev_decode(&d, fnt_ev_make(FNT_EV_ENTRY, 0, 0, 0), &ev);
	CHECK_EQ(ev.ticks, (3ull << 56) + 200);
	fnt__ev_decode(&d, fnt_ev_ext(FNT_EXT_TIME_BASE, FNT_EV_PAYLOAD_MASK - 10), &ev);
	fnt__ev_decode(&d, fnt_ev_make(FNT_EV_ENTRY, 0, 0, 0), &ev);
	CHECK_EQ(ev.ticks, (3ull << 56) - 11);
}

/* Writes n events with idx = i (mod 2^20) and increasing times. */
static void write_n(struct fnt_ring_writer *w, uint64_t n, uint64_t *lost)
{
	for (uint64_t i = 0; i < n; i++) {
		/* Jumps in time force TIME_BASE records now and then. */
		uint64_t ts = 1000 + i * 10 + (i % 5000 == 4999 ? (1ull << 28) : 0) + (i / 5000) * (1ull << 28);

		if (fnt_ring_emit(w, FNT_EV_ENTRY, 1, (uint32_t)(i & FNT_EV_IDX_MAX), ts, 0) < 0)
			(*lost)++;
	}
}

struct reader_arg {
	struct fnt_shm_hdr *h;
	struct seen s;
	_Atomic int stop;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;

	while (!a->stop) {
		drain(a->h, 0, &a->s);
		fnt__ring_drained(a->h);
		usleep(200);	/* slower than the writer: it must wait */
	}
	drain(a->h, 0, &a->s);
	return NULL;
}

static void test_lossless(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_LOSSLESS, 2048, 2);
	struct fnt_ring_writer w;
	struct reader_arg a;
	pthread_t t;
	uint64_t lost = 0, n = 300000;

	memset(&a, 0, sizeof(a));
	a.h = h;
	a.s.order_ok = 1;
	fnt__ev_decoder_init(&a.s.dec, 0);
	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	pthread_create(&t, NULL, reader, &a);
	write_n(&w, n, &lost);
	a.stop = 1;
	pthread_join(t, NULL);
	CHECK_EQ(lost, 0);
	CHECK_EQ(a.s.events, n);
	CHECK_EQ(a.s.lost, 0);
	CHECK_EQ(a.s.first_idx, 0);
	CHECK(a.s.order_ok);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->lost, 0);
	fnt__shm_unmap(h, &L);
}

/*
 * A lossless writer waits for room for n words at head h; a signal
 * handler's writes (nested, same ring) move the head meanwhile and the
 * reader drains them: h + n now lies behind the tail.  The wait must end
 * (the caller retries from the new head), not wait for a need that can
 * never fit.  Before the fix this waited forever: alarm() ends the test.
 */
static void test_stale_wait(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_LOSSLESS, 2048, 2);
	struct fnt_ring_writer w;
	struct seen s;
	uint64_t lost = 0, old;

	memset(&s, 0, sizeof(s));
	fnt__ev_decoder_init(&s.dec, 0);
	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	old = w.head;
	write_n(&w, 100, &lost);	/* the "nested" writes */
	drain(h, 0, &s);		/* ... and the reader took them */
	CHECK(w.head > old + 8);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->tail, w.head);
	alarm(10);
	CHECK_EQ(fnt__ring_wait(&w, old, 4), 0);
	alarm(0);
	CHECK_EQ(s.events, 100);
	fnt__shm_unmap(h, &L);
}

/*
 * Past half a ring, with the reader woken and not yet drained, a lossless
 * writer stays on the inline path until the ring is full (but for its time
 * bases).  It used to stop at half a ring past the last tail it read: from
 * there every event took the slow path, reading the reader's line, until
 * the reader's next drain (lossless mode then cost 13% more per call than
 * overwrite mode in bench/speed.sh).  The reader is woken once.
 */
static void test_past_half(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_LOSSLESS, 2048, 1);
	struct fnt_shm_slot *slot = fnt_shm_slot(h, &L, 0);
	struct fnt_ring_writer w;
	uint32_t kicks;
	int inline_open = 0, events = 0;

	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	kicks = h->kick;
	/* One time base, then events 1 tick apart: only the time bases
	 * (every FNT_RING_PAGE words) and the crossing of half a ring are
	 * due on the slow path. */
	for (uint64_t i = 0; w.head < 2048 - FNT_RING_PAGE; i++) {
		CHECK_EQ(fnt_ring_emit(&w, FNT_EV_ENTRY, 1, 7, 1000 + i, 0), 0);
		if (w.head > 1024 + 8) {
			events++;
			inline_open += w.head < w.fast_end;
		}
	}
	CHECK_EQ(slot->kicked, 1);
	CHECK_EQ(h->kick - kicks, 1);
	/* All but the time bases' events found the inline path open. */
	CHECK(events > 600);
	CHECK(inline_open >= events - events / FNT_RING_PAGE - 2);
	CHECK_EQ(slot->lost, 0);
	fnt__shm_unmap(h, &L);
}

static void test_drop(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_DROP, 2048, 1);
	struct fnt_ring_writer w;
	struct seen s;
	uint64_t lost = 0, n = 10000;

	memset(&s, 0, sizeof(s));
	s.order_ok = 1;
	fnt__ev_decoder_init(&s.dec, 0);
	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	write_n(&w, n, &lost);
	CHECK(lost > 0);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->lost, lost);
	drain(h, 0, &s);
	/* The oldest are kept, in order, from the first. */
	CHECK_EQ(s.first_idx, 0);
	CHECK(s.order_ok);
	CHECK_EQ(s.events + lost, n);
	/* Room again: the next event reports the drops in-band first. */
	CHECK_EQ(fnt_ring_emit(&w, FNT_EV_ENTRY, 1, 0, 1ull << 40, 0), 0);
	s.order_ok = 1;
	s.have_first = 0;
	drain(h, 0, &s);
	CHECK_EQ(s.lost, lost);
	CHECK_EQ(s.events, n - lost + 1);
	fnt__shm_unmap(h, &L);
}

static void test_overwrite(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_OVERWRITE, 4096, 1);
	struct fnt_shm_slot *slot = fnt_shm_slot(h, &L, 0);
	struct fnt_ring_writer w;
	struct fnt_ring_span sp;
	struct seen s;
	uint64_t lost = 0, n = 100000, skip = 0, written;

	memset(&s, 0, sizeof(s));
	s.order_ok = 1;
	fnt__ev_decoder_init(&s.dec, 0);
	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	write_n(&w, n, &lost);
	CHECK_EQ(lost, 0);
	fnt__ring_peek_last(h, &L, 0, &sp);
	CHECK_EQ(sp.na + sp.nb, 4096);
	CHECK_EQ(sp.end, slot->commit);
	/* Resynchronize at the first TIME_BASE, as the recorder does. */
	while (skip < sp.na && !(fnt_ev_type(sp.a[skip]) == FNT_EV_EXT &&
				 fnt_ev_sub(sp.a[skip]) == FNT_EXT_TIME_BASE))
		skip++;
	CHECK(skip < FNT_RING_PAGE + 4);
	feed(&s, sp.a + skip, sp.na - skip);
	feed(&s, sp.b, sp.nb);
	/* The newest are kept: the last event is the last written. */
	CHECK_EQ(s.next_idx, n & FNT_EV_IDX_MAX);
	CHECK(s.order_ok);
	CHECK(s.events > 4096 - FNT_RING_PAGE - 64);
	written = sp.end - slot->ext_words;
	CHECK_EQ(written, n);
	fnt__shm_unmap(h, &L);
}

static void test_slots(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_LOSSLESS, 2048, 2);
	struct fnt_ring_writer a, b, c;

	CHECK_EQ(fnt__ring_writer_open(&a, h, &L, getpid(), 1, 0), 0);
	CHECK_EQ(fnt__ring_writer_open(&b, h, &L, getpid(), 2, 0), 0);
	CHECK_EQ(fnt__ring_writer_open(&c, h, &L, getpid(), 3, 0), -EBUSY);
	CHECK(a.slot != b.slot);
	CHECK(fnt_shm_slot(h, &L, 0)->stream != fnt_shm_slot(h, &L, 1)->stream);
	fnt_ring_emit(&a, FNT_EV_ENTRY, 1, 1, 100, 0);
	fnt__ring_writer_close(&a);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->state, FNT_SLOT_RETIRED);
	/* Retired, not yet drained: still taken. */
	CHECK_EQ(fnt__ring_writer_open(&c, h, &L, getpid(), 3, 0), -EBUSY);
	fnt__ring_free(h, &L, 0);
	CHECK_EQ(fnt__ring_writer_open(&c, h, &L, getpid(), 3, 0), 0);
	CHECK_EQ(c.slot_index, 0);
	CHECK_EQ(c.head, 0);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->stream, 2);
	fnt__shm_unmap(h, &L);
}

/*
 * A writer abandoned midway (a signal handler left with siglongjmp): two
 * words reserved, one garbage that looks like an event, one never
 * written, and a time base moved but never published.  After recovery the
 * reader sees every complete event, in order, with exact times, and
 * nothing of the abandoned write.
 */
static void test_recover(void)
{
	struct fnt_shm_hdr *h = make(FNT_MODE_LOSSLESS, 1024, 1);
	struct fnt_ring_writer w;
	struct seen s;
	uint64_t commit;

	memset(&s, 0, sizeof(s));
	s.order_ok = 1;
	fnt__ev_decoder_init(&s.dec, 0);
	CHECK_EQ(fnt__ring_writer_open(&w, h, &L, getpid(), 1, 0), 0);
	for (uint32_t i = 0; i < 10; i++)
		fnt_ring_emit(&w, FNT_EV_ENTRY, 1, i, 1000 + i * 10, 0);
	/* Recovering a writer that is not in a write changes nothing. */
	commit = fnt_shm_slot(h, &L, 0)->commit;
	fnt__ring_writer_recover(&w);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->commit, commit);

	w.nest = 1;
	w.buf[w.head & w.mask] = fnt_ev_make(FNT_EV_ENTRY, 5, 1, 777);
	w.buf[(w.head + 1) & w.mask] = 0xdeadbeefdeadbeefull;
	w.head += 2;
	w.base_ts = 999999;
	w.base_pos = w.head;
	fnt__ring_writer_recover(&w);
	CHECK_EQ(w.nest, 0);
	CHECK_EQ(fnt_shm_slot(h, &L, 0)->commit, w.head);
	for (uint32_t i = 10; i < 20; i++)
		fnt_ring_emit(&w, FNT_EV_ENTRY, 1, i, 2000 + i * 10, 0);
	drain(h, 0, &s);
	CHECK_EQ(s.events, 20);
	CHECK_EQ(s.order_ok, 1);
	CHECK_EQ(s.first_idx, 0);
	CHECK_EQ(s.last_ticks, 2000 + 19 * 10);
	CHECK_EQ(s.lost, 0);
	fnt__shm_unmap(h, &L);
}

static void test_clock(void)
{
	struct fnt_clock_sample a = { 1000, 5000 }, b = { 3000, 6000 };

	/* 2000 ticks per 1000 ns. */
	CHECK_EQ(fnt__clock_to_ns(&a, &b, 1000), 5000);
	CHECK_EQ(fnt__clock_to_ns(&a, &b, 2000), 5500);
	CHECK_EQ(fnt__clock_to_ns(&a, &b, 500), 4750);
	CHECK(fnt__clock_detect() == FNT_CLOCK_TSC || fnt__clock_detect() == FNT_CLOCK_MONO);
	CHECK(fnt_clock_read(FNT_CLOCK_MONO) > 0);
}

int main(void)
{
	test_encoding();
	test_lossless();
	test_stale_wait();
	test_past_half();
	test_drop();
	test_overwrite();
	test_slots();
	test_recover();
	test_clock();
	if (check_failures) {
		fprintf(stderr, "test_ring: %d failures\n", check_failures);
		return 1;
	}
	printf("test_ring: ok\n");
	return 0;
}
