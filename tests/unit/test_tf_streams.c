/*
 * test_tf_streams.c - the reader's stream index at scale (issue 9 item
 * 10): 200,000 streams whose ids are neither dense nor in order (the
 * recorder numbers them in order, but the reader must not depend on it),
 * each described by a STREAM record and given CHUNKs, some before their
 * STREAM record, some interleaved with other streams'.  Every stream must
 * come back once, sorted by id, with its own tid and its chunks in file
 * order; and the index must stay linear: the reader counts the entries it
 * compares (tf.stream_probes), a measure that, unlike a timing, does not
 * depend on the machine.  A scan per new id would compare ~N^2/2 = 2e10.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tracefile.c"

#include "unit/check.h"

#define NSTREAMS 200000u

/* Stream k's id: a bijection of [0, N) scattered over 32 bits (odd
 * multiplier), plus a cluster of consecutive ids to collide in the hash. */
static uint32_t id_of(uint32_t k)
{
	return k < 1000 ? 0x7fff0000u + k : k * 2654435761u;
}

static void write_streams(const char *path)
{
	struct fnt_tf_writer w;
	struct fnt_tf_clock ck = { .kind = FNT_CLOCK_MONO, .a = { 1000, 1000 },
				   .b = { 2000000, 2000000 }, .wall_ns = 0 };
	struct fnt_tf_end end = { .events = NSTREAMS * 2 };

	if (fnt__tf_create(&w, path) < 0) {
		perror(path);
		exit(1);
	}
	fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &ck, sizeof(ck) } }, 1);
	for (uint32_t k = 0; k < NSTREAMS; k++) {
		/* Walked backwards and forwards alternately: ids arrive in no order. */
		uint32_t j = (k & 1) ? NSTREAMS - 1 - k / 2 : k / 2;
		struct fnt_tf_stream s = { id_of(j), 100, (int32_t)(j + 1000), 0 };
		struct fnt_tf_chunk c = { id_of(j), 0, 0, 0 };
		uint64_t ev[2] = { fnt_ev_ext(FNT_EXT_TIME_BASE, 5000 + j),
				   fnt_ev_make(FNT_EV_ENTRY, 1, 1, j & 0xff) };

		/* Every third stream's first chunk precedes its STREAM record. */
		if (j % 3 == 0)
			fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c, sizeof(c) }, { ev, 8 } }, 2);
		fnt__tf_write(&w, FNT_TF_STREAM, (struct iovec[]){ { &s, sizeof(s) } }, 1);
		if (j % 3 != 0)
			fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c, sizeof(c) }, { ev, 8 } }, 2);
		c.pos = 1;
		fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c, sizeof(c) }, { ev + 1, 8 } }, 2);
	}
	fnt__tf_write(&w, FNT_TF_END, (struct iovec[]){ { &end, sizeof(end) } }, 1);
	if (fnt__tf_finish(&w) < 0) {
		perror(path);
		exit(1);
	}
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	char path[64], err[512];
	struct fnt_tf tf;
	uint32_t *ids = malloc(NSTREAMS * sizeof(*ids));
	size_t bad_tid = 0, bad_chunks = 0, bad_events = 0;

	snprintf(path, sizeof(path), "/tmp/test_tf_streams.%d", (int)getpid());
	write_streams(path);
	CHECK_EQ(fnt__tf_open(&tf, path, err, sizeof(err)), 0);
	unlink(path);
	CHECK_EQ(tf.nstreams, NSTREAMS);
	CHECK_EQ(tf.truncated, 0);
	/* Found by id: 3 lookups per stream (STREAM and two CHUNKs).  A table
	 * at most half full averages under 2.5 probes per lookup with linear
	 * probing; 8 per lookup leaves room and is still ~10^4 times below
	 * what a scan would do. */
	printf("%zu streams, %llu probes for %u lookups\n", tf.nstreams,
	       (unsigned long long)tf.stream_probes, 3 * NSTREAMS);
	CHECK(tf.stream_probes <= 8ull * 3 * NSTREAMS);

	for (uint32_t k = 0; k < NSTREAMS; k++)
		ids[k] = id_of(k);
	qsort(ids, NSTREAMS, sizeof(*ids), u32_cmp);
	for (size_t i = 0; i < tf.nstreams && i < NSTREAMS; i++) {
		const struct fnt_tf_rstream *s = &tf.streams[i];
		struct fnt_tf_cursor cur;
		struct fnt_ev ev;
		uint32_t j;
		int n = 0;

		CHECK_EQ(s->id, ids[i]);
		/* Back from id to k: the cluster, or the multiplier's inverse. */
		j = (s->id - 0x7fff0000u < 1000) ? s->id - 0x7fff0000u : s->id * 244002641u;
		bad_tid += !s->described || s->tid != (int32_t)(j + 1000) || s->pid != 100;
		bad_chunks += s->nchunks != 2 || s->chunks[0].h->pos != 0 || s->chunks[1].h->pos != 1;
		fnt__tf_cursor_init(&cur, &tf, s);
		while (fnt__tf_next(&cur, &ev)) {
			bad_events += ev.type != FNT_EV_ENTRY || ev.idx != (j & 0xff) ||
				      ev.ticks != 5000 + j + 1;
			n++;
		}
		bad_events += n != 1;
	}
	CHECK_EQ(bad_tid, 0);
	CHECK_EQ(bad_chunks, 0);
	CHECK_EQ(bad_events, 0);
	fnt__tf_close(&tf);
	free(ids);
	return check_done("test_tf_streams");
}
