/*
 * mkregion.c - makes a recording region file the way a hostile user would:
 * a real one (made with the fntrace code), then with chosen header fields
 * overwritten, so a test can hand it to the runtime through FNTRACE_SHM.
 *
 *   mkregion PATH [FIELD=VALUE...]
 *
 * FIELD is one of nslots, ring_words, images_off, objects_off, slots_off,
 * rings_off, size, mode, tracer, clock, nimages, nobjects, nstreams, depth,
 * reader_pid, follow_fork.  The region has 4 rings of 512 words in drop
 * mode (a writer never waits for a reader that is not there).
 *
 * Built by the tests with -Isrc and src/ring/shm.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/shm.h"

int main(int argc, char **argv)
{
	struct fnt_shm_hdr tmpl, *h;
	struct fnt_shm_layout lay;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: mkregion PATH [FIELD=VALUE...]\n");
		return 2;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.mode = FNT_MODE_DROP;
	tmpl.tracer = FNT_TRACER_GRAPH;
	tmpl.clock = 1;
	tmpl.follow_fork = 1;
	tmpl.nslots = 4;
	tmpl.ring_words = 512;
	err = fnt__shm_create(argv[1], &tmpl, &h, &lay);
	if (err < 0) {
		fprintf(stderr, "mkregion: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned long long v;
		size_t l;

		if (!eq) {
			fprintf(stderr, "mkregion: not FIELD=VALUE: %s\n", argv[i]);
			return 2;
		}
		l = (size_t)(eq - argv[i]);
		v = strtoull(eq + 1, NULL, 0);
#define SET(f)                                                     \
	if (l == strlen(#f) && strncmp(argv[i], #f, l) == 0) {     \
		h->f = (__typeof__(h->f))v;                        \
		continue;                                          \
	}
		SET(nslots) SET(ring_words) SET(images_off) SET(objects_off) SET(slots_off)
		SET(rings_off) SET(size) SET(mode) SET(tracer) SET(clock) SET(nimages)
		SET(nobjects) SET(nstreams) SET(depth) SET(reader_pid) SET(follow_fork)
#undef SET
		fprintf(stderr, "mkregion: unknown field in %s\n", argv[i]);
		return 2;
	}
	return 0;
}
