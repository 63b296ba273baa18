/*
 * test_tracefile.c - the trace file writer and reader: a round trip, then
 * every truncation and every single-byte corruption of a sample file.  A
 * truncated file must give back every complete record (and every complete
 * word of a cut chunk); a corrupted one must be rejected or read
 * consistently; nothing may crash (run it under ASan: make SAN=1).
 *
 * With "--write PATH" it only writes the sample file, for the end-to-end
 * tests of the commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tracefile.c"

#include "unit/check.h"

/* The sample: main() { work() { leaf(); leaf(); } } in thread 1001 and
 * work() { leaf(); } in thread 1002, 3 lost events in between; times in
 * ns (the monotonic clock: ticks are ns). */
#define NCHUNK_EVENTS 14

static void write_sample(const char *path)
{
	struct fnt_tf_writer w;
	struct fnt_tf_clock ck = { .kind = FNT_CLOCK_MONO, .a = { 1000000, 1000000 },
				   .b = { 2000000, 2000000 }, .wall_ns = 0 };
	const char info[] = "cmdline=./sample a b\ndate=2026-01-01 00:00:00 +0000\n"
			    "tracer=function_graph\nmode=lossless\nbuffer_size=65536\n"
			    "filter=\nnotrace=\ndepth=0\nthreshold_ns=0\nclock=monotonic\n";
	const char strs[] = "main\0work\0leaf\0";
	uint64_t sites[3] = { 0x1000, 0x1100, 0x1200 };
	struct fnt_tf_seg seg = { 0x1000, 0x1000, 5, 0 };
	struct fnt_tf_sym syms[3] = { { 0x1000, 0x80, 0, 0 }, { 0x1100, 0x80, 5, 0 },
				      { 0x1200, 0x80, 10, 0 } };
	const char fpath[] = "/opt/sample";
	struct fnt_tf_file fh = { .id = 0, .nsites = 3, .nsyms = 3, .nsegs = 1,
				  .strs_len = sizeof(strs), .path_len = sizeof(fpath),
				  .build_id_len = 4, .build_id = { 0xde, 0xad, 0xbe, 0xef } };
	struct fnt_tf_image im = { 0, 1001, ~0u, sizeof(fpath) };
	struct fnt_tf_object ob = { 0, 1, 0, 3, 0x400000, sizeof(fpath), 0 };
	struct fnt_tf_stream s1 = { 0, 1001, 1001, 0 }, s2 = { 1, 1001, 1002, 0 };
	struct fnt_tf_chunk c1 = { 0, 0, 0, 0 }, c2 = { 0, 0, 7, 3 }, c3 = { 1, 0, 0, 0 };
	uint64_t w1[] = {
		fnt_ev_ext(FNT_EXT_TIME_BASE, 1100000),
		fnt_ev_make(FNT_EV_ENTRY, 0, 1, 0),	/* main at 1.100 ms */
		fnt_ev_make(FNT_EV_ENTRY, 1000, 1, 1),	/* work */
		fnt_ev_make(FNT_EV_ENTRY, 2000, 1, 2),	/* leaf */
		fnt_ev_make(FNT_EV_EXIT, 2500, 1, 2),
		fnt_ev_make(FNT_EV_ENTRY, 3000, 1, 2),	/* leaf */
		fnt_ev_make(FNT_EV_EXIT, 4000, 1, 2),
	};
	uint64_t w2[] = {
		fnt_ev_make(FNT_EV_EXIT, 10000, 1, 1),	/* } work: 9 us */
		fnt_ev_make(FNT_EV_EXIT, 20000, 1, 0),	/* } main: 20 us */
	};
	uint64_t w3[] = {
		fnt_ev_ext(FNT_EXT_TIME_BASE, 1105000),
		fnt_ev_make(FNT_EV_ENTRY, 0, 1, 1),
		fnt_ev_make(FNT_EV_ENTRY, 100, 1, 2),
		fnt_ev_make(FNT_EV_EXIT, 300, 1, 2),
		fnt_ev_make(FNT_EV_EXIT, 1000, 1, 1),
	};
	struct fnt_tf_end end = { .events = 12, .lost = 3, .duration_ns = 1000000, .status = 0,
				  .nprocs = 1 };

	if (fnt__tf_create(&w, path) < 0) {
		perror(path);
		exit(1);
	}
	fnt__tf_write(&w, FNT_TF_INFO, (struct iovec[]){ { (void *)info, sizeof(info) - 1 } }, 1);
	fnt__tf_write(&w, FNT_TF_CLOCK, (struct iovec[]){ { &ck, sizeof(ck) } }, 1);
	fnt__tf_write(&w, FNT_TF_IMAGE, (struct iovec[]){ { &im, sizeof(im) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&w, FNT_TF_FILE, (struct iovec[]){ { &fh, sizeof(fh) }, { sites, sizeof(sites) },
							  { &seg, sizeof(seg) }, { syms, sizeof(syms) },
							  { (void *)strs, sizeof(strs) },
							  { (void *)fpath, sizeof(fpath) } }, 6);
	fnt__tf_write(&w, FNT_TF_OBJECT, (struct iovec[]){ { &ob, sizeof(ob) }, { (void *)fpath, sizeof(fpath) } }, 2);
	fnt__tf_write(&w, FNT_TF_STREAM, (struct iovec[]){ { &s1, sizeof(s1) } }, 1);
	fnt__tf_write(&w, FNT_TF_STREAM, (struct iovec[]){ { &s2, sizeof(s2) } }, 1);
	fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c1, sizeof(c1) }, { w1, sizeof(w1) } }, 2);
	fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c3, sizeof(c3) }, { w3, sizeof(w3) } }, 2);
	fnt__tf_write(&w, FNT_TF_CHUNK, (struct iovec[]){ { &c2, sizeof(c2) }, { w2, sizeof(w2) } }, 2);
	/* A record type from the future: must be skipped. */
	fnt__tf_write(&w, 0x777, (struct iovec[]){ { (void *)"future", 6 } }, 1);
	fnt__tf_write(&w, FNT_TF_END, (struct iovec[]){ { &end, sizeof(end) } }, 1);
	if (fnt__tf_finish(&w) < 0) {
		fprintf(stderr, "write failed\n");
		exit(1);
	}
}

/* Counts events and lost events of every stream. */
static void count(const struct fnt_tf *tf, uint64_t *events, uint64_t *lost)
{
	*events = *lost = 0;
	for (size_t i = 0; i < tf->nstreams; i++) {
		struct fnt_tf_cursor c;
		struct fnt_ev ev;

		fnt__tf_cursor_init(&c, tf, &tf->streams[i]);
		while (fnt__tf_next(&c, &ev)) {
			if (ev.type == FNT_EV_EXT)
				*lost += ev.lost;
			else
				(*events)++;
		}
	}
}

static void test_roundtrip(const char *path)
{
	struct fnt_tf tf;
	char err[256], buf[64];
	uint64_t events, lost;
	struct fnt_tf_cursor c;
	struct fnt_ev ev;

	CHECK_EQ(fnt__tf_open(&tf, path, err, sizeof(err)), 0);
	CHECK_EQ(tf.truncated, 0);
	CHECK_EQ(tf.nstreams, 2);
	CHECK_EQ(tf.nobjs, 1);
	CHECK_EQ(tf.nfiles, 1);
	CHECK(tf.have_end);
	CHECK(strcmp(fnt__tf_info(&tf, "tracer", buf, sizeof(buf)), "function_graph") == 0);
	CHECK(strcmp(fnt__tf_info(&tf, "cmdline", buf, sizeof(buf)), "./sample a b") == 0);
	CHECK(fnt__tf_info(&tf, "nosuchkey", buf, sizeof(buf)) == NULL);
	CHECK(strcmp(fnt__tf_site_name(&tf, 0, 1, 0), "main") == 0);
	CHECK(strcmp(fnt__tf_site_name(&tf, 0, 1, 2), "leaf") == 0);
	CHECK(strncmp(fnt__tf_site_name(&tf, 0, 9, 2), "site_", 5) == 0);
	CHECK(strcmp(fnt__tf_addr_name(&tf, 0, 0x400000 + 0x1105) ?: "", "work") == 0);
	CHECK(fnt__tf_addr_name(&tf, 0, 0x9999999) == NULL);
	count(&tf, &events, &lost);
	CHECK_EQ(events, 12);
	CHECK_EQ(lost, 3);
	/* Times: ns since the start, through the chunk boundary. */
	fnt__tf_cursor_init(&c, &tf, &tf.streams[0]);
	CHECK_EQ(fnt__tf_next(&c, &ev), 1);
	CHECK_EQ(ev.type, FNT_EV_ENTRY);
	CHECK_EQ(fnt__tf_ns(&tf, ev.ticks), 100000);
	for (int i = 0; i < 6; i++)
		fnt__tf_next(&c, &ev);
	CHECK_EQ(ev.type, FNT_EV_EXT);	/* the lost marker before chunk 2 */
	CHECK_EQ(ev.lost, 3);
	fnt__tf_next(&c, &ev);
	CHECK_EQ(ev.type, FNT_EV_EXIT);
	CHECK_EQ(fnt__tf_ns(&tf, ev.ticks), 110000);
	fnt__tf_close(&tf);
}

/* Offset just after the CLOCK record. */
static size_t after_clock(const uint8_t *data, size_t size)
{
	size_t off = sizeof(struct fnt_tf_filehdr);

	while (off + 16 <= size) {
		const struct fnt_tf_rec *r = (const void *)(data + off);

		off += 16 + ((r->len + 7) & ~7u);
		if (r->type == FNT_TF_CLOCK)
			return off;
	}
	return size;
}

static void test_truncation(const char *path, const uint8_t *data, size_t size)
{
	char tpath[4200], err[256];
	uint64_t prev_events = 0;
	size_t clock_end = after_clock(data, size);

	snprintf(tpath, sizeof(tpath), "%s.cut", path);
	for (size_t cut = 0; cut < size; cut++) {
		FILE *f = fopen(tpath, "w");
		struct fnt_tf tf;
		uint64_t events, lost;
		int e;

		fwrite(data, 1, cut, f);
		fclose(f);
		e = fnt__tf_open(&tf, tpath, err, sizeof(err));
		if (e < 0) {
			/* Only without a clock record is there nothing to show. */
			CHECK(cut < clock_end);
			CHECK(err[0] != 0);
			continue;
		}
		CHECK(cut >= clock_end);
		CHECK_EQ(tf.truncated, 1);
		count(&tf, &events, &lost);
		/* Every byte more gives back at least as many events. */
		CHECK(events >= prev_events);
		prev_events = events;
		fnt__tf_close(&tf);
	}
	/* Cut in the middle of the last chunk's words: its first word is
	 * back.  The full file has 12 events; the last chunk (2 words) is
	 * followed by 2 records (8 bytes, and END, with headers). */
	{
		size_t cut = size - (16 + 8) - (16 + sizeof(struct fnt_tf_end)) - 8;	/* one word short */
		FILE *f = fopen(tpath, "w");
		struct fnt_tf tf;
		uint64_t events, lost;

		fwrite(data, 1, cut, f);
		fclose(f);
		CHECK_EQ(fnt__tf_open(&tf, tpath, err, sizeof(err)), 0);
		count(&tf, &events, &lost);
		CHECK_EQ(events, 11);
		CHECK_EQ(lost, 3);
		CHECK(!tf.have_end);
		CHECK_EQ(tf.truncated, 1);
		fnt__tf_close(&tf);
	}
	unlink(tpath);
}

static void test_corruption(const char *path, const uint8_t *data, size_t size)
{
	char tpath[4200], err[256];
	uint8_t *copy = malloc(size);
	int rejected = 0;

	snprintf(tpath, sizeof(tpath), "%s.bad", path);
	for (size_t i = 0; i < size; i++) {
		FILE *f;
		struct fnt_tf tf;
		uint64_t events, lost;

		memcpy(copy, data, size);
		copy[i] ^= 0x5a;
		f = fopen(tpath, "w");
		fwrite(copy, 1, size, f);
		fclose(f);
		if (fnt__tf_open(&tf, tpath, err, sizeof(err)) < 0) {
			CHECK(err[0] != 0);
			rejected++;
			continue;
		}
		/* Accepted: only padding or a length change read as a cut. */
		count(&tf, &events, &lost);
		CHECK(events <= 12);
		for (size_t s = 0; s < tf.nstreams; s++)
			fnt__tf_site_name(&tf, tf.streams[s].image, 1, 0);
		fnt__tf_close(&tf);
	}
	/* Nearly every byte is covered by the magic, a header check or a CRC. */
	CHECK(rejected > (int)(size * 8 / 10));
	free(copy);
	unlink(tpath);
}

/* Garbage with valid checksums: random bytes changed in payloads, then
 * every record's CRCs recomputed, so only the reader's own checks stand
 * between the garbage and a crash.  Everything must stay in bounds. */
static void test_fuzz(const char *path, const uint8_t *data, size_t size)
{
	char tpath[4200], err[256];
	uint8_t *copy = malloc(size);
	unsigned seed = 12345;
	int opened = 0;

	snprintf(tpath, sizeof(tpath), "%s.fuzz", path);
	for (int round = 0; round < 3000; round++) {
		size_t off = sizeof(struct fnt_tf_filehdr);
		struct fnt_tf tf;
		FILE *f;

		memcpy(copy, data, size);
		for (int k = 0; k < 1 + round % 4; k++) {
			size_t at = sizeof(struct fnt_tf_filehdr) + rand_r(&seed) % (size - 16);

			copy[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		}
		/* Re-seal every record whose header still makes sense. */
		while (off + 16 <= size) {
			struct fnt_tf_rec *r = (void *)(copy + off);

			if (r->len > size - off - 16)
				break;
			r->crc = fnt__crc32c(0, copy + off + 16, r->len);
			r->hcrc = fnt__crc32c(0, r, 8);
			off += 16 + ((r->len + 7) & ~7u);
		}
		f = fopen(tpath, "w");
		fwrite(copy, 1, size, f);
		fclose(f);
		if (fnt__tf_open(&tf, tpath, err, sizeof(err)) < 0)
			continue;
		opened++;
		for (size_t i = 0; i < tf.nstreams; i++) {
			struct fnt_tf_cursor c;
			struct fnt_ev ev;

			fnt__tf_cursor_init(&c, &tf, &tf.streams[i]);
			while (fnt__tf_next(&c, &ev)) {
				fnt__tf_ns(&tf, ev.ticks);
				if (ev.type != FNT_EV_EXT)
					CHECK(fnt__tf_site_name(&tf, tf.streams[i].image, ev.obj, ev.idx) != NULL);
				fnt__tf_addr_name(&tf, tf.streams[i].image, ev.caller);
			}
		}
		fnt__tf_info(&tf, "tracer", err, sizeof(err));
		fnt__tf_close(&tf);
	}
	/* Most mutations hit event words, which any value decodes. */
	CHECK(opened > 100);
	free(copy);
	unlink(tpath);
}

int main(int argc, char **argv)
{
	char path[4096];
	uint8_t *data;
	size_t size;
	FILE *f;

	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		write_sample(argv[2]);
		return 0;
	}
	snprintf(path, sizeof(path), "/tmp/test_tracefile.%d", (int)getpid());
	write_sample(path);
	test_roundtrip(path);
	f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = malloc(size);
	if (fread(data, 1, size, f) != size)
		return 1;
	fclose(f);
	test_truncation(path, data, size);
	test_corruption(path, data, size);
	test_fuzz(path, data, size);
	free(data);
	unlink(path);
	if (check_failures) {
		fprintf(stderr, "test_tracefile: %d failures\n", check_failures);
		return 1;
	}
	printf("test_tracefile: ok (%zu-byte sample)\n", size);
	return 0;
}
