/*
 * consumer.c - draining the shared recording region into a trace file
 * (see consumer.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/consumer.h"
#include "core/elf.h"
#include "ring/clock.h"
#include "ring/ring.h"

struct filecache {
	char path[FNT_SHM_PATH_MAX];
	uint8_t build_id[64];
	uint32_t build_id_len;
	uint32_t id;		/* FILE id, or FNT_TF_NOFILE */
};

struct slotstate {
	uint32_t stream;	/* stream the slot held at the last drain */
	int live;		/* stream is set */
	uint64_t inband_lost;
};

static void count_words(const uint64_t *w, size_t n, uint64_t *events, uint64_t *lost)
{
	for (size_t i = 0; i < n; i++) {
		if (fnt_ev_type(w[i]) != FNT_EV_EXT)
			(*events)++;
		else if (fnt_ev_sub(w[i]) == FNT_EXT_LOST)
			*lost += fnt_ev_payload(w[i]);
	}
}

static uint32_t load_file(struct fnt_consumer *d, const struct fnt_shm_object *o)
{
	struct fnt_tf_file fh;
	struct fnt_tf_seg *segs = NULL;
	struct fnt_tf_sym *syms = NULL;
	struct filecache *fc;
	struct fnt_elf e;
	char err[256];
	static const char nul;
	uint32_t id = FNT_TF_NOFILE;

	for (size_t i = 0; i < d->nfiles; i++) {
		fc = &d->files[i];
		if (strcmp(fc->path, o->path) == 0 && fc->build_id_len == o->build_id_len &&
		    memcmp(fc->build_id, o->build_id, o->build_id_len) == 0)
			return fc->id;
	}
	if (d->nfiles == d->files_cap) {
		d->files_cap = d->files_cap ? d->files_cap * 2 : 16;
		d->files = realloc(d->files, d->files_cap * sizeof(*d->files));
		if (!d->files) {
			fprintf(stderr, "fntrace: out of memory\n");
			exit(1);
		}
	}
	fc = &d->files[d->nfiles++];
	memset(fc, 0, sizeof(*fc));
	snprintf(fc->path, sizeof(fc->path), "%s", o->path);
	memcpy(fc->build_id, o->build_id, sizeof(fc->build_id));
	fc->build_id_len = o->build_id_len;
	fc->id = FNT_TF_NOFILE;

	if (fnt_elf_open(&e, o->path, err, sizeof(err)) < 0) {
		fprintf(stderr, "fntrace: warning: no symbols for %s: %s\n", o->path, err);
		return FNT_TF_NOFILE;
	}
	if (o->build_id_len && (e.build_id_len != o->build_id_len ||
				memcmp(e.build_id, o->build_id, o->build_id_len) != 0)) {
		fprintf(stderr, "fntrace: warning: %s changed since it was loaded (build-id differs); "
			"its functions are unnamed\n", o->path);
		goto out_close;
	}
	segs = calloc(e.nsegs ? e.nsegs : 1, sizeof(*segs));
	syms = calloc(e.nsyms ? e.nsyms : 1, sizeof(*syms));
	if (!segs || !syms)
		goto out_close;
	for (int i = 0; i < e.nsegs; i++)
		segs[i] = (struct fnt_tf_seg){ e.segs[i].vaddr, e.segs[i].memsz, e.segs[i].flags, 0 };
	for (size_t i = 0; i < e.nsyms; i++)
		syms[i] = (struct fnt_tf_sym){ e.syms[i].vaddr, e.syms[i].size, e.syms[i].name, 0 };
	memset(&fh, 0, sizeof(fh));
	fh.id = d->next_file_id;
	fh.nsites = (uint32_t)e.nsites;
	fh.nsyms = (uint32_t)e.nsyms;
	fh.nsegs = (uint32_t)e.nsegs;
	fh.strs_len = (uint32_t)e.strs_len + 1;	/* + a NUL, whatever strs ends with */
	fh.path_len = (uint32_t)strlen(o->path) + 1;
	fh.build_id_len = (uint32_t)e.build_id_len;
	memcpy(fh.build_id, e.build_id, e.build_id_len > 64 ? 64 : e.build_id_len);
	{
		struct iovec iov[] = {
			{ &fh, sizeof(fh) },
			{ e.sites, e.nsites * 8 },
			{ segs, (size_t)e.nsegs * sizeof(*segs) },
			{ syms, e.nsyms * sizeof(*syms) },
			{ e.strs, e.strs_len },
			{ (void *)&nul, 1 },
			{ (void *)o->path, fh.path_len },
		};

		if (fnt__tf_write(d->w, FNT_TF_FILE, iov, 7) == 0) {
			id = d->next_file_id++;
			fc->id = id;
		}
	}
	if (o->nsites && o->nsites != e.nsites)
		fprintf(stderr, "fntrace: warning: %s: the runtime counts %u sites, the file %zu\n",
			o->path, o->nsites, e.nsites);
out_close:
	free(segs);
	free(syms);
	fnt_elf_close(&e);
	return id;
}

static void scan_meta(struct fnt_consumer *d)
{
	struct fnt_shm_hdr *h = d->h;
	uint32_t n;

	n = __atomic_load_n(&h->nimages, __ATOMIC_RELAXED);
	if (n > FNT_SHM_MAX_IMAGES)
		n = FNT_SHM_MAX_IMAGES;
	while (d->images_seen < n) {
		struct fnt_shm_image *im = &fnt_shm_images(h, &d->lay)[d->images_seen];
		struct fnt_tf_image r;

		/* Pairs with the release store of ->ready in the recorder. */
		if (!__atomic_load_n(&im->ready, __ATOMIC_ACQUIRE))
			break;
		r = (struct fnt_tf_image){ d->images_seen, im->pid, im->parent,
					   (uint32_t)strnlen(im->exe, sizeof(im->exe) - 1) + 1 };
		fnt__tf_write(d->w, FNT_TF_IMAGE,
			      (struct iovec[]){ { &r, sizeof(r) }, { im->exe, r.exe_len } }, 2);
		d->images_seen++;
	}
	n = __atomic_load_n(&h->nobjects, __ATOMIC_RELAXED);
	if (n > FNT_SHM_MAX_OBJECTS)
		n = FNT_SHM_MAX_OBJECTS;
	while (d->objects_seen < n) {
		struct fnt_shm_object *o = &fnt_shm_objects(h, &d->lay)[d->objects_seen];
		struct fnt_tf_object r;

		/* Pairs with the release store of ->ready in the recorder. */
		if (!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE))
			break;
		o->path[sizeof(o->path) - 1] = 0;
		memset(&r, 0, sizeof(r));
		r.image = o->image;
		r.obj_id = o->obj_id;
		r.file = load_file(d, o);
		r.nsites = o->nsites;
		r.bias = o->bias;
		r.path_len = (uint32_t)strlen(o->path) + 1;
		fnt__tf_write(d->w, FNT_TF_OBJECT,
			      (struct iovec[]){ { &r, sizeof(r) }, { o->path, r.path_len } }, 2);
		d->objects_seen++;
	}
}

static void describe(struct fnt_consumer *d, struct fnt_shm_slot *s, uint32_t stream)
{
	struct fnt_tf_stream r = { stream, s->pid, s->tid, s->image };

	if (stream >= d->ndescribed) {
		size_t n = (stream + 1) * 2;

		d->described = realloc(d->described, n);
		if (!d->described) {
			fprintf(stderr, "fntrace: out of memory\n");
			exit(1);
		}
		memset(d->described + d->ndescribed, 0, n - d->ndescribed);
		d->ndescribed = n;
	}
	if (d->described[stream])
		return;
	d->described[stream] = 1;
	fnt__tf_write(d->w, FNT_TF_STREAM, (struct iovec[]){ { &r, sizeof(r) } }, 1);
}

static void write_chunk(struct fnt_consumer *d, uint32_t stream, uint32_t flags, uint64_t pos,
			uint64_t lost_before, const uint64_t *a, size_t na, const uint64_t *b,
			size_t nb)
{
	struct fnt_tf_chunk c = { stream, flags, pos, lost_before };
	struct iovec iov[] = { { &c, sizeof(c) }, { (void *)a, na * 8 }, { (void *)b, nb * 8 } };

	count_words(a, na, &d->events, &d->lost);
	count_words(b, nb, &d->events, &d->lost);
	d->lost += lost_before;
	fnt__tf_write(d->w, FNT_TF_CHUNK, iov, 3);
}

static int pid_dead(int pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Overwrite mode: the ring's newest words, once its writer is gone. */
static void drain_last(struct fnt_consumer *d, uint32_t i, struct fnt_shm_slot *s, uint32_t stream)
{
	struct fnt_ring_span sp;
	uint64_t in_chunk = 0, dummy = 0, written;
	size_t skip = 0;
	uint32_t flags = 0;

	fnt__ring_peek_last(d->h, &d->lay, i, &sp);
	if (sp.pos > s->tail) {
		/* Lapped: resynchronize at the first TIME_BASE. */
		flags = FNT_TF_CHUNK_RESYNC;
		while (skip < sp.na + sp.nb) {
			uint64_t w = skip < sp.na ? sp.a[skip] : sp.b[skip - sp.na];

			if (fnt_ev_type(w) == FNT_EV_EXT && fnt_ev_sub(w) == FNT_EXT_TIME_BASE)
				break;
			skip++;
		}
	}
	if (skip >= sp.na) {
		sp.b += skip - sp.na;
		sp.nb -= skip - sp.na;
		sp.na = 0;
	} else {
		sp.a += skip;
		sp.na -= skip;
	}
	count_words(sp.a, sp.na, &in_chunk, &dummy);
	count_words(sp.b, sp.nb, &in_chunk, &dummy);
	written = sp.end - s->ext_words;
	write_chunk(d, stream, flags, sp.pos + skip,
		    (written > in_chunk ? written - in_chunk : 0) + s->lost,
		    sp.a, sp.na, sp.b, sp.nb);
	fnt__ring_consume(d->h, &d->lay, i, sp.end);
}

/* Copies ring i's new words.  Returns the number of words copied, plus one
 * if the ring was freed. */
static uint64_t drain_slot(struct fnt_consumer *d, uint32_t i, int final, int check_live)
{
	struct fnt_shm_slot *s = fnt_shm_slot(d->h, &d->lay, i);
	struct slotstate *ss = &d->slots[i];
	/* Acquire pairs with the writer's release of RETIRED: its last commit
	 * is visible. */
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	struct fnt_ring_span sp;
	uint32_t stream;
	uint64_t copied = 0;
	int pid, dead;

	if (state == FNT_SLOT_FREE)
		return 0;
	/* Pairs with the release store of ->pid when the writer took the ring. */
	pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
	if (pid <= 0)
		return 0;
	stream = s->stream;
	if (!ss->live || ss->stream != stream) {
		ss->live = 1;
		ss->stream = stream;
		ss->inband_lost = 0;
	}
	dead = final || state == FNT_SLOT_RETIRED || (check_live && pid_dead(pid));
	if (d->lay.mode == FNT_MODE_OVERWRITE) {
		if (!dead)
			return 0;
		describe(d, s, stream);
		drain_last(d, i, s, stream);
	} else {
		fnt__ring_peek(d->h, &d->lay, i, &sp);
		copied = sp.na + sp.nb;
		if (copied) {
			uint64_t before = d->lost;

			describe(d, s, stream);
			write_chunk(d, stream, 0, sp.pos, 0, sp.a, sp.na, sp.b, sp.nb);
			ss->inband_lost += d->lost - before;
			fnt__ring_consume(d->h, &d->lay, i, sp.end);
		}
		if (dead && s->lost > ss->inband_lost) {
			/* Drops the writer never got to report in-band. */
			describe(d, s, stream);
			write_chunk(d, stream, 0, sp.end, s->lost - ss->inband_lost, NULL, 0, NULL, 0);
		}
	}
	if (dead) {
		ss->live = 0;
		fnt__ring_free(d->h, &d->lay, i);
		copied++;	/* a free ring is news for a thread waiting for one */
	}
	return copied;
}

uint64_t fnt__consumer_drain(struct fnt_consumer *d, int final)
{
	uint64_t now = fnt_clock_mono_ns(), n = 0;
	int check = final ? 0 : now - d->last_live_check > 50000000ull;

	if (check)
		d->last_live_check = now;
	scan_meta(d);
	for (uint32_t i = 0; i < d->lay.nslots; i++)
		n += drain_slot(d, i, final, check);
	if (n)
		fnt__ring_drained(d->h);
	return n;
}

int fnt__consumer_init(struct fnt_consumer *d, struct fnt_shm_hdr *h,
		       const struct fnt_shm_layout *lay, struct fnt_tf_writer *w)
{
	memset(d, 0, sizeof(*d));
	d->h = h;
	d->lay = *lay;
	d->w = w;
	d->slots = calloc(lay->nslots, sizeof(*d->slots));
	return d->slots ? 0 : -ENOMEM;
}

void fnt__consumer_fini(struct fnt_consumer *d)
{
	free(d->slots);
	free(d->described);
	free(d->files);
	memset(d, 0, sizeof(*d));
}
