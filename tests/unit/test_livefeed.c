/*
 * test_livefeed.c - the streaming printer of 'fntrace live -p'
 * (src/cli/livefeed.c), fed through the trace file writer's tap.
 *
 * Without arguments: small recordings written with the writer (its tap set
 * to the printer) whose printed lines are known exactly: nesting, calls
 * merged into one line (also across chunks), an entry held back printed
 * by a flush, lost events, a resync, unwound frames, calls too deep to
 * time, --time-threshold calls, the function tracer's callers (and the
 * entries of a recording switched to it), the depth cap of the indentation
 * and of the frames kept, many threads, colours; then the same records
 * mutated at random and random records, which must never crash it (run
 * under ASan+UBSan: make SAN=1).
 *
 * For the end-to-end test (tests/e2e/live_feed.sh), on a trace file that
 * 'fntrace record' wrote:
 *   --feed PATH [--every N] [--split] [--color]
 *       feeds its records in file order (split into several iovecs with
 *       --split), flushing every N records (0: only at the end); the
 *       lines go to stdout
 *   --mutate PATH SEED ROUNDS
 *       feeds its records ROUNDS times with random damage, output dropped
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/common.c"
#include "cli/tracefile.c"
#include "cli/livefeed.c"

#include "unit/check.h"

/*
 * Records, as the writer hands them to its tap (captured for the fuzzing).
 */
struct rec {
	uint32_t type;
	uint8_t *p;
	size_t len;
};

static struct rec captured[4096];
static size_t ncaptured;

static void capture_tap(void *arg, uint32_t type, const struct iovec *iov, int iovcnt)
{
	size_t len = 0, off = 0;
	uint8_t *p;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (ncaptured < sizeof(captured) / sizeof(captured[0]) && (p = malloc(len + 1))) {
		for (int i = 0; i < iovcnt; i++) {
			memcpy(p + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		captured[ncaptured++] = (struct rec){ type, p, len };
	}
	fnt__livefeed_tap(arg, type, iov, iovcnt);
}

/* Everything written to fd since it was made, as a string (freed by the
 * caller). */
static char *slurp(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *s = malloc(n + 1);

	if (!s || pread(fd, s, n, 0) != n) {
		perror("pread");
		exit(1);
	}
	s[n] = 0;
	return s;
}

/*
 * A sample recording: one file (main, work, leaf at 0x1000.., a site at
 * 0x1300 without a symbol), loaded as object 1 of image 0 at 0x400000;
 * streams 0 (TID 1001) and 1 (TID 1002); the monotonic clock, so ticks
 * are ns and times count from 1,000,000.
 */
struct sc {
	struct fnt_tf_writer w;
	struct fnt_livefeed *feed;
	int fd;
	char path[64];
};

static void sc_begin(struct sc *s, const char *tracer, int color)
{
	char info[256];
	int n = snprintf(info, sizeof(info), "cmdline=./sample\ntracer=%s\nmode=lossless\n", tracer);
	struct fnt_tf_clock ck = { .kind = FNT_CLOCK_MONO, .a = { 1000000, 1000000 },
				   .b = { 1010000, 1010000 } };
	const char strs[] = "main\0work\0leaf\0";
	uint64_t sites[4] = { 0x1000, 0x1100, 0x1200, 0x1300 };
	struct fnt_tf_seg seg = { 0x1000, 0x1000, 5, 0 };
	struct fnt_tf_sym syms[3] = { { 0x1000, 0x80, 0, 0 }, { 0x1100, 0x80, 5, 0 },
				      { 0x1200, 0x80, 10, 0 } };
	const char fpath[] = "/opt/sample";
	struct fnt_tf_file fh = { .id = 0, .nsites = 4, .nsyms = 3, .nsegs = 1,
				  .strs_len = sizeof(strs), .path_len = sizeof(fpath) };
	struct fnt_tf_image im = { 0, 1001, ~0u, sizeof(fpath) };
	struct fnt_tf_object ob = { 0, 1, 0, 4, 0x400000, sizeof(fpath), 0 };
	struct fnt_tf_stream s1 = { 0, 1001, 1001, 0 }, s2 = { 1, 1001, 1002, 0 };

	s->fd = memfd_create("livefeed", 0);
	s->feed = fnt__livefeed_new(s->fd, color);
	snprintf(s->path, sizeof(s->path), "/tmp/test_livefeed.%d", (int)getpid());
	if (s->fd < 0 || !s->feed || fnt__tf_create(&s->w, s->path) < 0) {
		perror("set-up");
		exit(1);
	}
	s->w.tap = capture_tap;
	s->w.tap_arg = s->feed;
	fnt__tf_write(&s->w, FNT_TF_INFO, (struct iovec[]){ { info, n } }, 1);
	fnt__tf_write(&s->w, FNT_TF_CLOCK, (struct iovec[]){ { &ck, sizeof(ck) } }, 1);
	fnt__tf_write(&s->w, FNT_TF_IMAGE,
		      (struct iovec[]){ { &im, sizeof(im) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&s->w, FNT_TF_FILE,
		      (struct iovec[]){ { &fh, sizeof(fh) }, { sites, sizeof(sites) },
					{ &seg, sizeof(seg) }, { syms, sizeof(syms) },
					{ (void *)strs, sizeof(strs) },
					{ (void *)fpath, sizeof(fpath) } }, 6);
	fnt__tf_write(&s->w, FNT_TF_OBJECT,
		      (struct iovec[]){ { &ob, sizeof(ob) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&s->w, FNT_TF_STREAM, (struct iovec[]){ { &s1, sizeof(s1) } }, 1);
	fnt__tf_write(&s->w, FNT_TF_STREAM, (struct iovec[]){ { &s2, sizeof(s2) } }, 1);
}

static void sc_chunk(struct sc *s, uint32_t stream, uint32_t flags, uint64_t lost,
		     const uint64_t *words, size_t n)
{
	struct fnt_tf_chunk c = { stream, flags, 0, lost };

	fnt__tf_write(&s->w, FNT_TF_CHUNK,
		      (struct iovec[]){ { &c, sizeof(c) }, { (void *)words, n * 8 } }, 2);
}

/* Writes END, frees the printer, returns what it printed. */
static char *sc_end(struct sc *s, uint64_t *events, uint64_t *lost)
{
	struct fnt_tf_end end = { .events = 0 };
	char *out;

	fnt__tf_write(&s->w, FNT_TF_END, (struct iovec[]){ { &end, sizeof(end) } }, 1);
	fnt__tf_discard(&s->w);
	if (events)
		*events = fnt__livefeed_events(s->feed);
	if (lost)
		*lost = fnt__livefeed_lost(s->feed);
	fnt__livefeed_free(s->feed);
	out = slurp(s->fd);
	close(s->fd);
	return out;
}

#define W_BASE(t) fnt_ev_ext(FNT_EXT_TIME_BASE, (t))
#define W_ENTRY(d, i) fnt_ev_make(FNT_EV_ENTRY, (d), 1, (i))
#define W_EXIT(d, i) fnt_ev_make(FNT_EV_EXIT, (d), 1, (i))
#define W_UNWOUND(d, i) fnt_ev_make(FNT_EV_UNWOUND, (d), 1, (i))
enum { MAIN, WORK, LEAF, NONAME };

static void test_graph(void)
{
	struct sc s;
	uint64_t events, lost;
	const uint64_t a[] = {
		W_BASE(1100000),
		W_ENTRY(0, MAIN), W_ENTRY(1000, WORK),
		W_ENTRY(2000, LEAF), W_EXIT(2500, LEAF),	/* one line */
		W_ENTRY(3000, LEAF),				/* its exit in chunk c */
	};
	const uint64_t b[] = {
		W_BASE(1105000), W_ENTRY(0, WORK), W_ENTRY(100, LEAF), W_EXIT(300, LEAF),
	};
	const uint64_t c[] = { W_EXIT(4000, LEAF), W_EXIT(10000, WORK) };
	const uint64_t d[] = { W_EXIT(1000, WORK) };
	const uint64_t e[] = { W_ENTRY(11000, LEAF) };		/* flushed before its exit */
	const uint64_t f[] = { W_EXIT(12000, LEAF) };
	const uint64_t g[] = {
		W_BASE(1200000),
		W_ENTRY(0, NONAME), W_UNWOUND(10, NONAME),	/* one line */
		fnt_ev_ext(FNT_EXT_LOST, 2),
		fnt_ev_make(FNT_EV_FUNC, 20, 1, MAIN),		/* too deep */
		fnt_ev_make(FNT_EV_ENTRY, 30, 9, 7),		/* an unknown object */
		W_UNWOUND(1000, MAIN),				/* main: 101 us */
		W_ENTRY(2000, WORK),				/* held back until END */
	};
	const char *want =
		"# DURATION     TID     FUNCTION\n"
		"           [  1001] | main() {\n"
		"           [  1001] |   work() {\n"
		"  0.500 us [  1001] |     leaf();\n"
		"           [  1002] | work() {\n"
		"  0.200 us [  1002] |   leaf();\n"
		"  1.000 us [  1001] |     leaf();\n"
		"  9.000 us [  1001] |   } /* work */\n"
		"  1.000 us [  1002] | } /* work */\n"
		"           [  1001] |   leaf() {\n"
		"  1.000 us [  1001] |   } /* leaf */\n"
		"           [  1001] |   /* LOST 3 events */\n"
		"  0.010 us [  1001] |   0x1300(); /* unwound */\n"
		"           [  1001] |   /* LOST 2 events */\n"
		"           [  1001] |   main(); /* too deep: not timed */\n"
		"           [  1001] |   site_9_7() {\n"
		"101.000 us [  1001] | } /* main (unwound) */\n"
		"           [  1001] | work() {\n";
	char *out;

	sc_begin(&s, "function_graph", 0);
	sc_chunk(&s, 0, 0, 0, a, sizeof(a) / 8);
	sc_chunk(&s, 1, 0, 0, b, sizeof(b) / 8);
	sc_chunk(&s, 0, 0, 0, c, sizeof(c) / 8);
	fnt__livefeed_flush(s.feed);
	sc_chunk(&s, 1, 0, 0, d, sizeof(d) / 8);
	sc_chunk(&s, 0, 0, 0, e, sizeof(e) / 8);
	fnt__livefeed_flush(s.feed);
	{
		/* A flush writes everything out: nothing stays buffered. */
		char *now = slurp(s.fd);

		CHECK_HAS(now, "|   leaf() {\n");
		free(now);
	}
	sc_chunk(&s, 0, 0, 0, f, sizeof(f) / 8);
	sc_chunk(&s, 0, FNT_TF_CHUNK_RESYNC, 3, g, sizeof(g) / 8);
	out = sc_end(&s, &events, &lost);
	CHECK_STR(out, want);
	CHECK_EQ(events, 19);
	CHECK_EQ(lost, 5);
	free(out);
}

static void test_function(void)
{
	struct sc s;
	const uint64_t a[] = {
		W_BASE(1000500),
		fnt_ev_ext(FNT_EXT_CALLER, (0ull << 54) | (0x400000 + 0x1105)),	/* in work */
		fnt_ev_make_func(10, 0, 1, LEAF),
		fnt_ev_ext(FNT_EXT_CALLER, (1ull << 54) | (0x400000 + 0x1f00)),	/* no symbol */
		fnt_ev_make_func(20, 1, 1, LEAF),
		fnt_ev_ext(FNT_EXT_CALLER_ONCE, 0x9999999),			/* no object */
		fnt_ev_make_func(30, 0, 1, MAIN),
		fnt_ev_make_func(40, 0, 1, WORK),
		fnt_ev_ext(FNT_EXT_LOST, 4),
		/* After a switch from function_graph: an entry is a hit. */
		W_ENTRY(50, MAIN), W_EXIT(60, MAIN),
	};
	const char *want =
		"#    TIMESTAMP      TID     FUNCTION\n"
		"     0.000000510 [  1001] | leaf <- work\n"
		"     0.000000520 [  1001] | leaf <- sample+0x1f00\n"
		"     0.000000530 [  1001] | main <- 0x9999999\n"
		"     0.000000540 [  1001] | work <- work\n"
		"     0.000000500 [  1001] | /* LOST 4 events */\n"
		"     0.000000550 [  1001] | main <- ?\n";
	char *out;

	sc_begin(&s, "function", 0);
	sc_chunk(&s, 0, 0, 0, a, sizeof(a) / 8);
	out = sc_end(&s, NULL, NULL);
	CHECK_STR(out, want);
	free(out);
}

static void test_threshold_color(void)
{
	struct sc s;
	const uint64_t a[] = {
		W_BASE(4000000),
		fnt_ev_ext(FNT_EXT_DUR, (2ull << 48) | 3000),
		fnt_ev_make(FNT_EV_EXIT_DUR, 0, 1, LEAF),
		fnt_ev_ext(FNT_EXT_DUR, (0ull << 48) | 2000000),
		fnt_ev_make(FNT_EV_EXIT_DUR, 10, 1, MAIN),
		fnt_ev_ext(FNT_EXT_DUR, (1ull << 48) | 150000),
		fnt_ev_make(FNT_EV_EXIT_DUR, 20, 1, WORK),
	};
	const char *want =
		"# DURATION     TID     FUNCTION\n"
		"  3.000 us [  1001] |     leaf();\n"
		"\033[31m  2.000 ms\033[0m [  1001] | main();\n"
		"\033[33m150.000 us\033[0m [  1001] |   work();\n";
	char *out;

	sc_begin(&s, "function_graph", 1);
	sc_chunk(&s, 0, 0, 0, a, sizeof(a) / 8);
	out = sc_end(&s, NULL, NULL);
	CHECK_STR(out, want);
	free(out);
}

/* Nesting past the indentation cap, then past the frames kept. */
static void test_deep(void)
{
	static uint64_t w[2 * 1100 + 1];
	struct sc s;
	char *out, *p, *last, inner[64];
	size_t n = 0, lines = 0;

	for (int levels = 70; levels <= 1100; levels += 1030) {
		n = 0;
		w[n++] = W_BASE(1100000);
		for (int i = 0; i < levels; i++)
			w[n++] = W_ENTRY(i, MAIN);
		for (int i = 0; i < levels; i++)
			w[n++] = W_EXIT(levels + i, MAIN);
		sc_begin(&s, "function_graph", 0);
		sc_chunk(&s, 0, 0, 0, w, n);
		out = sc_end(&s, NULL, NULL);
		lines = 0;
		last = out;
		for (p = out; *p; p++)
			if (*p == '\n') {
				lines++;
				if (p[1])
					last = p + 1;
			}
		/* header, levels - 1 opening lines, one line for the innermost,
		 * levels - 1 closing lines */
		CHECK_EQ(lines, 1 + 2 * (levels - 1) + 1);
		CHECK_HAS(out, "[depth 65] main() {\n");
		snprintf(inner, sizeof(inner), "[depth %d] main();\n", levels - 1);
		CHECK_HAS(out, inner);
		/* The outermost call closes at depth 0, timed. */
		CHECK_STR(last, levels == 70 ? "  0.139 us [  1001] | } /* main */\n"
					     : "  2.199 us [  1001] | } /* main */\n");
		free(out);
	}
}

/* A FILE id given again (its first write failed) names the later file; a
 * FILE with a gap in the ids, an OBJECT naming a FILE not seen, and
 * malformed records are ignored. */
static void test_records(void)
{
	struct sc s;
	const char strs[] = "alpha\0";
	uint64_t sites[1] = { 0x1000 };
	struct fnt_tf_sym sym = { 0x1000, 0x10, 0, 0 };
	const char fpath[] = "/opt/other";
	struct fnt_tf_file fh = { .id = 0, .nsites = 1, .nsyms = 1, .strs_len = sizeof(strs),
				  .path_len = sizeof(fpath) };
	struct fnt_tf_object ob = { 0, 2, 0, 1, 0, sizeof(fpath), 0 };
	struct fnt_tf_object bad = { 0, 3, 7, 1, 0, sizeof(fpath), 0 };
	struct iovec fv[] = { { &fh, sizeof(fh) }, { sites, 8 }, { &sym, sizeof(sym) },
			      { (void *)strs, sizeof(strs) }, { (void *)fpath, sizeof(fpath) } };
	const uint64_t a[] = {
		W_BASE(1100000),
		fnt_ev_make(FNT_EV_ENTRY, 0, 2, 0), fnt_ev_make(FNT_EV_EXIT, 5, 2, 0),
		fnt_ev_make(FNT_EV_ENTRY, 6, 3, 0), fnt_ev_make(FNT_EV_EXIT, 7, 3, 0),
		W_ENTRY(8, LEAF), W_EXIT(9, LEAF),
		W_ENTRY(10, WORK), W_EXIT(11, LEAF),	/* not its exit (lost) */
	};
	const char *want =
		"# DURATION     TID     FUNCTION\n"
		"  0.005 us [  1001] | alpha();\n"
		"  0.001 us [  1001] | site_3_0();\n"
		"  0.001 us [  1001] | site_1_2();\n"
		"           [  1001] | site_1_1() {\n"
		"           [  1001] |   } /* site_1_2 */\n";
	char *out;

	sc_begin(&s, "function_graph", 0);
	fnt__tf_write(&s.w, FNT_TF_FILE, fv, 5);	/* replaces file 0 */
	fh.id = 5;
	fnt__tf_write(&s.w, FNT_TF_FILE, fv, 5);	/* a gap: ignored */
	fnt__tf_write(&s.w, FNT_TF_OBJECT,
		      (struct iovec[]){ { &ob, sizeof(ob) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&s.w, FNT_TF_OBJECT,
		      (struct iovec[]){ { &bad, sizeof(bad) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&s.w, FNT_TF_OBJECT,
		      (struct iovec[]){ { &ob, sizeof(ob) }, { (void *)fpath, 3 } }, 2);
	fnt__tf_write(&s.w, FNT_TF_STREAM, (struct iovec[]){ { &ob, 8 } }, 1);
	fnt__tf_write(&s.w, FNT_TF_CHUNK, (struct iovec[]){ { (void *)a, 20 } }, 1);
	fnt__tf_write(&s.w, FNT_TF_CHUNK, (struct iovec[]){ { (void *)a, 36 } }, 1);
	sc_chunk(&s, 0, 0, 0, a, sizeof(a) / 8);
	out = sc_end(&s, NULL, NULL);
	/* Object 1's sites are file 0's: now one site, so site 2 is unknown. */
	CHECK_STR(out, want);
	free(out);
}

/* Many threads: each line in its own TID (and the indices grow). */
static void test_streams(void)
{
	struct sc s;
	const uint64_t a[] = { W_BASE(1100000), W_ENTRY(0, LEAF), W_EXIT(10, LEAF) };
	char *out, line[64];
	int lines = 0;

	sc_begin(&s, "function_graph", 0);
	for (int i = 0; i < 300; i++) {
		struct fnt_tf_stream st = { 1000u + 7u * i, 1, 2000 + i, 0 };

		fnt__tf_write(&s.w, FNT_TF_STREAM, (struct iovec[]){ { &st, sizeof(st) } }, 1);
	}
	for (int i = 299; i >= 0; i--)
		sc_chunk(&s, 1000u + 7u * i, 0, 0, a, 3);
	out = sc_end(&s, NULL, NULL);
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	CHECK_EQ(lines, 301);
	snprintf(line, sizeof(line), "  0.010 us [  2299] | leaf();\n  0.010 us [  2298] |");
	CHECK_HAS(out, line);
	free(out);
}

/*
 * Damage: records fed with random changes, and random records, must never
 * crash the printer (ASan and UBSan see what a crash would not).
 */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feeds p[0..len) as a record of type, split into up to four iovecs. */
static void feed_split(struct fnt_livefeed *f, uint32_t type, const uint8_t *p, size_t len, int split)
{
	struct iovec v[4];
	int n = 0;
	size_t off = 0;

	if (!split) {
		fnt__livefeed_tap(f, type, (struct iovec[]){ { (void *)p, len } }, 1);
		return;
	}
	while (n < 3 && off < len && rnd() % 2) {
		size_t k = rnd() % (len - off + 1);

		v[n++] = (struct iovec){ (void *)(p + off), k };
		off += k;
	}
	v[n++] = (struct iovec){ (void *)(p + off), len - off };
	fnt__livefeed_tap(f, type, v, n);
}

/* A random event word, mostly about objects 0..2 and their first sites. */
static uint64_t random_word(void)
{
	uint64_t r = rnd();

	switch (r % 4) {
	case 0:
		return rnd();
	case 1:
		return fnt_ev_ext((unsigned)(rnd() % 8), rnd() % 4 ? rnd() % 5000000 : rnd());
	default:
		return fnt_ev_make((unsigned)(rnd() % 8), rnd() % 1000, (uint32_t)(rnd() % 3),
				   (uint32_t)(rnd() % 6));
	}
}

static void mutate(uint8_t *p, size_t len)
{
	int n = 1 + (int)(rnd() % 4);

	for (int i = 0; i < n && len; i++) {
		size_t at = rnd() % 2 ? rnd() % (len < 128 ? len : 128) : rnd() % len;

		switch (rnd() % 4) {
		case 0:
			p[at] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			p[at] = (uint8_t)rnd();
			break;
		default:
			if (at + 4 <= len) {
				static const uint32_t v[] = { 0, 1, 2, 0x7fffffff, 0xffffffff, 0x80000000,
							      16, 0x100000 };
				uint32_t x = v[rnd() % 8];

				memcpy(p + (at & ~(size_t)3), &x, 4);
			}
		}
	}
}

/* Feeds recs[0..n) rounds times, damaged. */
static void fuzz(const struct rec *recs, size_t n, uint64_t seed, long rounds, int out_fd)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	rng_state ^= seed * 0x9e3779b97f4a7c15ull;
	if (!rng_state)
		rng_state = 1;
	for (long r = 0; r < rounds; r++) {
		struct fnt_livefeed *f = fnt__livefeed_new(out_fd, (int)(r & 1));

		if (!f)
			exit(1);
		for (size_t i = 0; i < n; i++) {
			uint32_t type = recs[i].type;
			size_t len = recs[i].len, extra = rnd() % 8 == 0 ? rnd() % 64 : 0;
			int roll = (int)(rnd() % 16);

			if (len + extra + 64 > cap) {
				cap = (len + extra + 64) * 2;
				buf = realloc(buf, cap);
				if (!buf)
					exit(1);
			}
			memcpy(buf, recs[i].p, len);
			for (size_t k = 0; k < extra; k++)
				buf[len + k] = (uint8_t)rnd();
			len += extra;
			if (roll < 6)
				mutate(buf, len);
			if (roll == 6)
				len = rnd() % (len + 1);
			if (roll == 7)
				type = (uint32_t)(rnd() % 10);
			if (roll == 8 && type == FNT_TF_CHUNK && len >= sizeof(struct fnt_tf_chunk)) {
				/* Random words after a sound header. */
				for (size_t k = sizeof(struct fnt_tf_chunk); k + 8 <= len; k += 8) {
					uint64_t w = random_word();

					memcpy(buf + k, &w, 8);
				}
			}
			feed_split(f, type, buf, len, (int)(rnd() % 2));
			if (rnd() % 8 == 0)
				fnt__livefeed_flush(f);
			if (rnd() % 32 == 0) {
				/* A record made up entirely. */
				size_t gl = rnd() % 200;

				for (size_t k = 0; k < gl; k++)
					buf[k] = (uint8_t)rnd();
				feed_split(f, (uint32_t)(rnd() % 10), buf, gl, 1);
			}
		}
		/* Odd calls: no payload, no feed. */
		fnt__livefeed_tap(f, FNT_TF_CHUNK, NULL, 0);
		fnt__livefeed_tap(f, FNT_TF_FILE, (struct iovec[]){ { NULL, 0 } }, 1);
		fnt__livefeed_tap(NULL, FNT_TF_CHUNK, NULL, 0);
		fnt__livefeed_free(f);
	}
	free(buf);
}

/*
 * A trace file's records, in file order.
 */
static struct rec *walk_file(const char *path, size_t *nrecs, uint8_t **mapped)
{
	const struct fnt_tf_filehdr *fh;
	struct rec *recs = NULL;
	size_t n = 0, cap = 0, size, off;
	uint8_t *data;
	FILE *fp = fopen(path, "r");
	long sz;

	if (!fp || fseek(fp, 0, SEEK_END) < 0 || (sz = ftell(fp)) < 0) {
		perror(path);
		exit(1);
	}
	size = (size_t)sz;
	rewind(fp);
	data = malloc(size + 1);
	if (!data || fread(data, 1, size, fp) != size) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	fh = (const void *)data;
	if (size < sizeof(*fh) || memcmp(fh->magic, FNT_TF_MAGIC, sizeof(FNT_TF_MAGIC)) ||
	    fh->hdr_size < sizeof(*fh) || fh->hdr_size > size || (fh->hdr_size & 7)) {
		fprintf(stderr, "%s: not a trace file\n", path);
		exit(1);
	}
	for (off = fh->hdr_size; size - off >= sizeof(struct fnt_tf_rec);) {
		struct fnt_tf_rec r;

		memcpy(&r, data + off, sizeof(r));
		if (fnt__crc32c(0, &r, 8) != r.hcrc || r.len > size - off - sizeof(r) ||
		    fnt__crc32c(0, data + off + sizeof(r), r.len) != r.crc) {
			fprintf(stderr, "%s: bad record at byte %zu\n", path, off);
			exit(1);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			recs = realloc(recs, cap * sizeof(*recs));
			if (!recs)
				exit(1);
		}
		recs[n++] = (struct rec){ r.type, data + off + sizeof(r), r.len };
		off += sizeof(r) + ((r.len + 7) & ~(size_t)7);
	}
	*nrecs = n;
	*mapped = data;
	return recs;
}

static int cmd_feed(int argc, char **argv)
{
	long every = 0;
	int split = 0, color = 0;
	size_t n, chunks = 0;
	uint8_t *data;
	struct rec *recs = walk_file(argv[2], &n, &data);
	struct fnt_livefeed *f;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every = atol(argv[++i]);
		else if (!strcmp(argv[i], "--split"))
			split = 1;
		else if (!strcmp(argv[i], "--color"))
			color = 1;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	f = fnt__livefeed_new(1, color);
	if (!f)
		return 1;
	for (size_t i = 0; i < n; i++) {
		feed_split(f, recs[i].type, recs[i].p, recs[i].len, split);
		if (every > 0 && (i + 1) % (size_t)every == 0)
			fnt__livefeed_flush(f);
	}
	for (size_t i = 0; i < n; i++)
		chunks += recs[i].type == FNT_TF_CHUNK;
	fprintf(stderr, "%zu records, %zu chunks, %llu events, %llu lost\n", n, chunks,
		(unsigned long long)fnt__livefeed_events(f), (unsigned long long)fnt__livefeed_lost(f));
	fnt__livefeed_free(f);
	free(recs);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--feed"))
		return cmd_feed(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "--mutate")) {
		size_t n;
		uint8_t *data;
		struct rec *recs = walk_file(argv[2], &n, &data);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		fuzz(recs, n, strtoull(argv[3], NULL, 0), atol(argv[4]), null);
		printf("%zu records fed %s times with damage: no crash\n", n, argv[4]);
		free(recs);
		free(data);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--feed PATH [--every N] [--split] [--color] | "
				"--mutate PATH SEED ROUNDS]\n", argv[0]);
		return 2;
	}
	test_graph();
	test_function();
	test_threshold_color();
	test_deep();
	test_records();
	test_streams();
	{
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		fuzz(captured, ncaptured, 1, 3000, null);
		close(null);
	}
	for (size_t i = 0; i < ncaptured; i++)
		free(captured[i].p);
	return check_done("test_livefeed");
}
