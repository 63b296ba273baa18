/*
 * fuzz_tracefile.c - libFuzzer harness of the trace-file reader
 * (src/cli/tracefile.c): the input is a whole trace file.  It runs the
 * pass the reading commands make: open and index, every stream's events in
 * order through a cursor, the name of every site and address an event
 * names, the INFO keys and the clock conversion.
 *
 * Every record carries CRCs, so almost every mutation would stop at the
 * first checksum: each input is read twice, as it is (the checks
 * themselves) and with its CRCs recomputed (what lies behind them).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/tracefile.h"
#include "fuzz_common.h"

static volatile uint64_t sink;

static void use(const char *s)
{
	/* Read the whole string: a name pointing outside its table is found
	 * by ASan here, not later in a printf of the commands. */
	sink += strlen(s);
}

/* Sets every record's header and payload CRC right, walking the records
 * as the reader does (an impossible header size: left as it is). */
static void fix_crcs(uint8_t *d, size_t size)
{
	struct fnt_tf_filehdr fh;
	uint64_t off;

	if (size < sizeof(fh))
		return;
	memcpy(&fh, d, sizeof(fh));
	if (fh.hdr_size < sizeof(fh) || fh.hdr_size > size || (fh.hdr_size & 7))
		return;
	for (off = fh.hdr_size; size - off >= sizeof(struct fnt_tf_rec);) {
		struct fnt_tf_rec r;
		uint64_t avail = size - off - sizeof(r);

		memcpy(&r, d + off, sizeof(r));
		r.hcrc = fnt__crc32c(0, &r, 8);
		if (r.len <= avail)
			r.crc = fnt__crc32c(0, d + off + sizeof(r), r.len);
		memcpy(d + off, &r, sizeof(r));
		if (r.len > avail)
			break;
		off += sizeof(r) + ((r.len + 7ull) & ~7ull);
		if (off > size)
			break;
	}
}

static void read_all(const char *path)
{
	struct fnt_tf tf;
	char err[512], buf[256];

	if (fnt__tf_open(&tf, path, err, sizeof(err)) < 0) {
		/* The error is one NUL-terminated line. */
		use(err);
		return;
	}
	if (tf.truncated)
		use(tf.trunc_msg);
	static const char *const keys[] = { "cmdline", "tracer", "mode", "filter", "clock", "" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
		if (fnt__tf_info(&tf, keys[k], buf, sizeof(buf)))
			use(buf);
	for (size_t i = 0; i < tf.nimages; i++)
		use(tf.images[i].exe);
	for (size_t i = 0; i < tf.nobjs; i++) {
		/* As info names an object's process. */
		const struct fnt_tf_rimage *im = fnt__tf_image(&tf, tf.objs[i].image);

		if (im)
			use(im->exe);
		use(tf.objs[i].path);
		if (tf.objs[i].file)
			use(tf.objs[i].file->path);
	}
	for (size_t i = 0; i < tf.nstreams; i++) {
		const struct fnt_tf_rstream *s = &tf.streams[i];
		struct fnt_tf_cursor cur;
		struct fnt_ev ev;

		fnt__tf_cursor_init(&cur, &tf, s);
		while (fnt__tf_next(&cur, &ev)) {
			if (!ev.no_time)
				sink += fnt__tf_ns(&tf, ev.ticks);
			if (ev.type == FNT_EV_EXT) {
				sink += ev.lost;
				continue;
			}
			use(fnt__tf_site_name(&tf, s->image, ev.obj, ev.idx));
			/* As replay names a caller: by address in the image. */
			const char *a = fnt__tf_addr_name(&tf, s->image, ev.caller);
			if (a) {
				const char *d = fnt__tf_demangle(a);

				use(d);
				if (d != a)
					free((char *)d);
			}
		}
	}
	fnt__tf_close(&tf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	read_all(fuzz_file(data, size));
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	if (memcmp(copy, data, size) != 0)
		read_all(fuzz_file(copy, size));
	free(copy);
	return 0;
}
