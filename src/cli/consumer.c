/*
 * consumer.c - draining the shared recording region into a trace file
 * (see consumer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/consumer.h"
#include "core/elf.h"
#include "ring/clock.h"
#include "ring/ring.h"

/* Counts from shared memory may be anything: sums saturate. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

#define MAX_FILES 8192	/* distinct object files described */
#define MAX_WARNINGS 20	/* then one line says the rest are not shown */
#define MAX_DAMAGED_PIDS 8	/* named in the final message */

struct filecache {
	char path[FNT_SHM_PATH_MAX];
	uint8_t build_id[64];
	uint32_t build_id_len;
	uint32_t id;		/* FILE id, or FNT_TF_NOFILE */
};

/* What the consumer knows of a ring, in its own memory.  Everything in the
 * slot itself may be rewritten by any traced process at any time: it is
 * read once per drain into locals, checked against this, and never used
 * as a size, an index or a position without a bound. */
struct slotstate {
	int live;		/* an ownership is being followed */
	int damaged;		/* its data was found overwritten: dropped till it is freed */
	int described;		/* its STREAM record is written */
	uint32_t shm_stream;	/* the writer's stream number, to tell a new ownership */
	uint32_t stream;	/* the file's stream id, given here */
	int32_t pid, tid;
	uint32_t image;
	uint64_t tail;		/* words consumed: the consumer's own count */
	uint64_t inband_lost;
};

static void warn(struct fnt_consumer *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr, at most MAX_WARNINGS of them: a hostile region must
 * not flood the terminal. */
static void warn(struct fnt_consumer *d, const char *fmt, ...)
{
	va_list ap;

	if (d->warnings++ >= MAX_WARNINGS) {
		if (d->warnings == MAX_WARNINGS + 1)
			fprintf(stderr, "fntrace: warning: further warnings are not shown\n");
		return;
	}
	fprintf(stderr, "fntrace: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Records damage: something in the region that no sound writer leaves
 * there.  pid is the process whose data it hits, or 0 when unknown. */
static void damage(struct fnt_consumer *d, int pid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void damage(struct fnt_consumer *d, int pid, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	unsigned k;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->damaged++;
	for (k = 0; k < d->ndamaged_pids && d->damaged_pids[k] != pid; k++)
		;
	if (pid > 0 && k == d->ndamaged_pids && k < MAX_DAMAGED_PIDS)
		d->damaged_pids[d->ndamaged_pids++] = pid;
	if (pid > 0)
		warn(d, "the recording buffers were overwritten (%s): the data of pid %d is damaged",
		     msg, pid);
	else
		warn(d, "the recording buffers were overwritten (%s)", msg);
}

static void count_words(const uint64_t *w, size_t n, uint64_t *events, uint64_t *lost)
{
	for (size_t i = 0; i < n; i++) {
		if (fnt_ev_type(w[i]) != FNT_EV_EXT)
			(*events)++;
		else if (fnt_ev_sub(w[i]) == FNT_EXT_LOST)
			*lost = sat_add(*lost, fnt_ev_payload(w[i]));
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

	char fdpath[64];
	struct stat st;
	int fd;

	for (size_t i = 0; i < d->nfiles; i++) {
		fc = &d->files[i];
		if (strcmp(fc->path, o->path) == 0 && fc->build_id_len == o->build_id_len &&
		    memcmp(fc->build_id, o->build_id, o->build_id_len) == 0)
			return fc->id;
	}
	/* Each distinct file costs a lookup of every other one: a region
	 * scribbled full of made-up paths must not make that quadratic. */
	if (d->nfiles >= MAX_FILES) {
		warn(d, "too many distinct object files (%d): the others are unnamed", MAX_FILES);
		return FNT_TF_NOFILE;
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

	/* The path comes from a traced process: it may name a FIFO (an open
	 * that never returns) or a device.  Open it without blocking, take it
	 * only if it is a regular file, and read that very file. */
	fd = open(o->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		warn(d, "no symbols for %s: %s", o->path,
		     fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return FNT_TF_NOFILE;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	err[0] = 0;
	if (fnt_elf_open(&e, fdpath, err, sizeof(err)) < 0) {
		close(fd);
		warn(d, "no symbols for %s: %s", o->path, err);
		return FNT_TF_NOFILE;
	}
	close(fd);
	if (o->build_id_len && (e.build_id_len != o->build_id_len ||
				memcmp(e.build_id, o->build_id, o->build_id_len) != 0)) {
		warn(d, "%s changed since it was loaded (build-id differs); its functions are unnamed",
		     o->path);
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
		warn(d, "%s: the runtime counts %u sites, the file %zu", o->path, o->nsites,
		     e.nsites);
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
		struct fnt_shm_image c;
		struct fnt_tf_image r;

		/* Pairs with the release store of ->ready in the recorder. */
		if (!__atomic_load_n(&im->ready, __ATOMIC_ACQUIRE))
			break;
		/* A private copy: what is checked is what is written, even if
		 * the record changes meanwhile. */
		memcpy(&c, im, sizeof(c));
		c.exe[sizeof(c.exe) - 1] = 0;
		if (c.parent != ~0u && c.parent >= d->images_seen) {
			damage(d, c.pid, "process image %u names image %u as its parent",
			       d->images_seen, c.parent);
			c.parent = ~0u;
		}
		r = (struct fnt_tf_image){ d->images_seen, c.pid, c.parent,
					   (uint32_t)strlen(c.exe) + 1 };
		fnt__tf_write(d->w, FNT_TF_IMAGE,
			      (struct iovec[]){ { &r, sizeof(r) }, { c.exe, r.exe_len } }, 2);
		d->images_seen++;
	}
	n = __atomic_load_n(&h->nobjects, __ATOMIC_RELAXED);
	if (n > FNT_SHM_MAX_OBJECTS)
		n = FNT_SHM_MAX_OBJECTS;
	while (d->objects_seen < n) {
		struct fnt_shm_object *o = &fnt_shm_objects(h, &d->lay)[d->objects_seen];
		struct fnt_shm_object c;
		struct fnt_tf_object r;

		/* Pairs with the release store of ->ready in the recorder. */
		if (!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE))
			break;
		memcpy(&c, o, sizeof(c));
		c.path[sizeof(c.path) - 1] = 0;
		/* Its image may have been claimed after the images were read
		 * above (a child describing itself, then its objects): it is
		 * described at the next drain, and so is this record. */
		if (c.image >= d->images_seen &&
		    c.image < __atomic_load_n(&h->nimages, __ATOMIC_ACQUIRE) &&
		    c.image < FNT_SHM_MAX_IMAGES)
			break;
		d->objects_seen++;
		if (c.image >= d->images_seen || c.build_id_len > sizeof(c.build_id) ||
		    c.path[0] != '/') {
			/* No recorder writes such a record: not one to open files
			 * for.  (An image is always described before its objects.) */
			damage(d, 0, "object record %u is malformed", d->objects_seen - 1);
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.image = c.image;
		r.obj_id = c.obj_id;
		r.file = load_file(d, &c);
		r.nsites = c.nsites;
		r.bias = c.bias;
		r.path_len = (uint32_t)strlen(c.path) + 1;
		fnt__tf_write(d->w, FNT_TF_OBJECT,
			      (struct iovec[]){ { &r, sizeof(r) }, { c.path, r.path_len } }, 2);
	}
}

static void describe(struct fnt_consumer *d, struct slotstate *ss)
{
	struct fnt_tf_stream r = { ss->stream, ss->pid, ss->tid, ss->image };

	if (ss->described)
		return;
	ss->described = 1;
	fnt__tf_write(d->w, FNT_TF_STREAM, (struct iovec[]){ { &r, sizeof(r) } }, 1);
}

/* Copies words [pos, end) of ring i (end - pos <= ring_words) into
 * d->buf and returns how many.  Copied out first: the file's checksum must
 * cover exactly the bytes written, and the ring may change between two
 * reads of it. */
static uint64_t copy_words(struct fnt_consumer *d, uint32_t i, uint64_t pos, uint64_t end)
{
	const uint64_t *ring = fnt_shm_ring(d->h, &d->lay, i);
	uint64_t mask = d->lay.ring_words - 1, n = end - pos, first;

	first = d->lay.ring_words - (pos & mask);
	if (first > n)
		first = n;
	memcpy(d->buf, ring + (pos & mask), first * 8);
	memcpy(d->buf + first, ring, (n - first) * 8);
	return n;
}

/* Writes the n words of d->buf, from ring position pos, as a CHUNK. */
static void write_chunk(struct fnt_consumer *d, struct slotstate *ss, uint32_t flags, uint64_t pos,
			uint64_t n, uint64_t lost_before)
{
	struct fnt_tf_chunk c = { ss->stream, flags, pos, lost_before };
	struct iovec iov[] = { { &c, sizeof(c) }, { d->buf, n * 8 } };
	uint64_t events = 0, lost = lost_before;

	count_words(d->buf, n, &events, &lost);
	describe(d, ss);
	if (fnt__tf_write(d->w, FNT_TF_CHUNK, iov, 2) < 0) {
		/* Not in the file (disk full): the events, and the losses the
		 * chunk reported, are lost, and counted in END since the
		 * reader cannot see them. */
		lost = sat_add(lost, events);
		d->unwritten = sat_add(d->unwritten, lost);
		events = 0;
	}
	d->events += events;
	d->lost = sat_add(d->lost, lost);
}

static int pid_dead(int pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Overwrite mode: the ring's newest words, once its writer is gone.  c is
 * the commit read once; ext and lost the slot's counters, read once. */
static void drain_last(struct fnt_consumer *d, uint32_t i, struct slotstate *ss, uint64_t c,
		       uint64_t ext, uint64_t lost)
{
	const uint64_t *ring = fnt_shm_ring(d->h, &d->lay, i);
	uint64_t mask = d->lay.ring_words - 1, pos = ss->tail, in_chunk = 0, written, dummy = 0, n;
	uint32_t flags = 0;

	if (c - pos > d->lay.ring_words) {
		/* Lapped: resynchronize at the first TIME_BASE. */
		pos = c - d->lay.ring_words;
		flags = FNT_TF_CHUNK_RESYNC;
		while (pos < c) {
			uint64_t w = ring[pos & mask];

			if (fnt_ev_type(w) == FNT_EV_EXT && fnt_ev_sub(w) == FNT_EXT_TIME_BASE)
				break;
			pos++;
		}
	}
	if (ext > c) {
		damage(d, ss->pid, "ring %u: more extra words than words", i);
		ext = c;
	}
	written = c - ext;
	n = copy_words(d, i, pos, c);
	count_words(d->buf, n, &in_chunk, &dummy);
	/* Committed events the ring no longer holds, and those the writer
	 * could not store, were lost before these words. */
	write_chunk(d, ss, flags, pos, n,
		    sat_add(written > in_chunk ? written - in_chunk : 0, lost));
	ss->tail = c;
	fnt__ring_consume(d->h, &d->lay, i, c);
}

/* Makes a ring free for another thread and forgets its ownership. */
static void release(struct fnt_consumer *d, uint32_t i, struct slotstate *ss)
{
	ss->live = 0;
	fnt__ring_free(d->h, &d->lay, i);
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
	uint64_t copied = 0, c, lost;
	uint32_t stream;
	int pid, dead;

	if (state == FNT_SLOT_FREE) {
		if (!ss->live)
			return 0;
		/* Only the consumer frees a ring it follows: its writer may
		 * still be at work (even waiting for room), so it is treated
		 * as still owned, its data dropped. */
		if (!ss->damaged)
			damage(d, ss->pid, "ring %u went free under its writer", i);
		ss->damaged = 1;
		state = FNT_SLOT_OWNED;
	}
	/* Pairs with the release store of ->pid when the writer took the ring. */
	pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
	if (state != FNT_SLOT_OWNED && state != FNT_SLOT_RETIRED) {
		if (!ss->live) {
			/* Nobody's ring as far as we know: made free again, or
			 * no thread could ever take it. */
			damage(d, 0, "ring %u: unknown state %u", i, state);
			release(d, i, ss);
			return 1;
		}
		/* Its writer may still be at work: left to it until it is
		 * gone, its data dropped. */
		if (!ss->damaged)
			damage(d, ss->pid, "ring %u: unknown state %u", i, state);
		ss->damaged = 1;
		state = FNT_SLOT_OWNED;
	}
	if (!ss->live && pid <= 0)
		return 0;	/* being set up */
	stream = __atomic_load_n(&s->stream, __ATOMIC_RELAXED);
	if (!ss->live) {
		memset(ss, 0, sizeof(*ss));
		ss->live = 1;
		ss->shm_stream = stream;
		ss->stream = d->next_stream++;
		ss->pid = pid;
		ss->tid = s->tid;
		ss->image = s->image;
		if (ss->image >= FNT_SHM_MAX_IMAGES) {
			damage(d, pid, "ring %u: image %u out of range", i, ss->image);
			ss->damaged = 1;
		}
	} else if (!ss->damaged && (stream != ss->shm_stream || pid != ss->pid)) {
		/* Only the consumer frees a ring, so its owner cannot change
		 * under it. */
		damage(d, ss->pid, "ring %u changed owner", i);
		ss->damaged = 1;
	}
	dead = final || state == FNT_SLOT_RETIRED || (check_live && pid_dead(ss->pid));
	/* Pairs with the writer's release store in fnt_ring_end(). */
	c = __atomic_load_n(&s->commit, __ATOMIC_ACQUIRE);
	lost = __atomic_load_n(&s->lost, __ATOMIC_RELAXED);
	if (!ss->damaged && d->lay.mode != FNT_MODE_OVERWRITE && c - ss->tail > d->lay.ring_words) {
		/* Behind what was consumed, or more than a ring ahead: a
		 * lossless or drop writer never publishes that. */
		damage(d, ss->pid, "ring %u: commit position out of range", i);
		ss->damaged = 1;
	}
	if (ss->damaged) {
		/* Nothing of it is trusted any more; but a waiting writer is
		 * let go (it publishes its real position while it waits). */
		fnt__ring_consume(d->h, &d->lay, i, c);
	} else if (d->lay.mode == FNT_MODE_OVERWRITE) {
		if (!dead)
			return 0;
		drain_last(d, i, ss, c, __atomic_load_n(&s->ext_words, __ATOMIC_RELAXED), lost);
	} else {
		copied = c - ss->tail;
		if (copied) {
			uint64_t before = d->lost;

			write_chunk(d, ss, 0, ss->tail, copy_words(d, i, ss->tail, c), 0);
			ss->inband_lost = sat_add(ss->inband_lost, d->lost - before);
			ss->tail = c;
			fnt__ring_consume(d->h, &d->lay, i, c);
		}
		if (dead && lost > ss->inband_lost)
			/* Drops the writer never got to report in-band. */
			write_chunk(d, ss, 0, c, 0, lost - ss->inband_lost);
	}
	if (dead) {
		release(d, i, ss);
		copied++;	/* a free ring is news for a thread waiting for one */
	}
	return copied;
}

/* The header's layout fields never change in a sound region: one that
 * did was written by a traced process.  Put back, so that processes that
 * attach later find the region usable. */
static void check_header(struct fnt_consumer *d)
{
	struct fnt_shm_hdr *h = d->h;
	const struct fnt_shm_layout *l = &d->lay;

	if (h->magic == FNT_SHM_MAGIC && h->version == FNT_SHM_VERSION && h->nslots == l->nslots &&
	    h->ring_words == l->ring_words && h->images_off == l->images_off &&
	    h->objects_off == l->objects_off && h->slots_off == l->slots_off &&
	    h->rings_off == l->rings_off && h->size == l->size && h->mode == l->mode &&
	    h->tracer == l->tracer && h->clock == l->clock)
		return;
	/* Said once: a scribbler may change it between every two drains. */
	if (!d->header_damaged++)
		damage(d, 0, "its header was changed");
	else
		d->damaged++;
	h->version = FNT_SHM_VERSION;
	h->nslots = l->nslots;
	h->ring_words = l->ring_words;
	h->images_off = l->images_off;
	h->objects_off = l->objects_off;
	h->slots_off = l->slots_off;
	h->rings_off = l->rings_off;
	h->size = l->size;
	h->mode = l->mode;
	h->tracer = l->tracer;
	h->clock = l->clock;
	__atomic_store_n(&h->magic, FNT_SHM_MAGIC, __ATOMIC_RELEASE);
}

/*
 * A traced process may truncate the region's file (it opens it by name,
 * read-write).  Reading a page past the new end raises SIGBUS; the
 * handler gives the file its size back (its pages then read as zeros) and
 * returns, so the read is retried and succeeds.  The loss is reported at
 * the next drain.  Only faults inside the region are handled this way.
 */
static char *bus_base;
static uint64_t bus_size;
static int bus_fd = -1;
static volatile sig_atomic_t bus_faults;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr;

	(void)uc;
	if (bus_base && a >= bus_base && a < bus_base + bus_size && bus_fd >= 0 &&
	    ftruncate(bus_fd, (off_t)bus_size) == 0) {
		bus_faults++;
		return;
	}
	/* Not ours: die of it as without the handler. */
	signal(sig, SIG_DFL);
}

static void check_size(struct fnt_consumer *d)
{
	struct stat st;

	if (d->fd < 0)
		return;
	if (fstat(d->fd, &st) == 0 && (uint64_t)st.st_size != d->lay.size) {
		damage(d, 0, "a traced process changed the size of its file to %llu bytes",
		       (unsigned long long)st.st_size);
		if (ftruncate(d->fd, (off_t)d->lay.size) < 0)
			warn(d, "cannot restore the size of the recording buffers: %s",
			     strerror(errno));
	}
	if (bus_faults != d->bus_faults_seen) {
		d->bus_faults_seen = bus_faults;
		damage(d, 0, "a traced process truncated its file; what it held is lost");
	}
}

/* The slots to look at: those handed out so far (shm.h, "Rings on
 * demand"), so that a drain costs what the used rings cost.  The count is
 * shared, so anyone may have raised it: the entries past the ones seen
 * are reserved here before they are read (reading a sparse page tmpfs
 * cannot supply would raise SIGBUS); if they cannot be, they wait. */
static void grow_slots(struct fnt_consumer *d)
{
	uint32_t n = fnt__ring_slots_used(d->h, &d->lay);
	int err = 0;

	if (n <= d->slots_used)
		return;
	if (d->fd >= 0 && n > FNT_SHM_FIXED_SLOTS) {
		do
			err = fallocate(d->fd, 0, (off_t)d->lay.slots_off,
					(off_t)(n * sizeof(struct fnt_shm_slot))) < 0 ? errno : 0;
		while (err == EINTR);
	}
	if (!err)
		d->slots_used = n;
}

uint64_t fnt__consumer_drain(struct fnt_consumer *d, int final)
{
	uint64_t now = fnt_clock_mono_ns(), n = 0;
	int check = final ? 0 : now - d->last_live_check > 50000000ull;

	if (check)
		d->last_live_check = now;
	check_size(d);
	check_header(d);
	scan_meta(d);
	grow_slots(d);
	for (uint32_t i = 0; i < d->slots_used; i++)
		n += drain_slot(d, i, final, check);
	if (n)
		fnt__ring_drained(d->h);
	if (d->w->err && !d->write_failed) {
		/* Said when it happens, not when the program ends: the
		 * recording goes on (a lossless program must not stall), and
		 * what it cannot write is counted as lost. */
		d->write_failed = 1;
		fprintf(stderr, "fntrace: writing '%s' failed: %s; from now on the events are "
				"counted as lost, not written\n",
			d->w->path, strerror(-d->w->err));
	}
	return n;
}

int fnt__consumer_init(struct fnt_consumer *d, struct fnt_shm_hdr *h,
		       const struct fnt_shm_layout *lay, const char *path, struct fnt_tf_writer *w)
{
	struct sigaction sa;

	memset(d, 0, sizeof(*d));
	d->h = h;
	d->lay = *lay;
	d->w = w;
	d->slots = calloc(lay->nslots, sizeof(*d->slots));
	d->buf = malloc(lay->ring_words * 8);
	if (!d->slots || !d->buf) {
		free(d->slots);
		free(d->buf);
		return -ENOMEM;
	}
	/* Our own descriptor of the file, to see and undo a truncation. */
	d->fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
	bus_base = (char *)h;
	bus_size = lay->size;
	bus_fd = d->fd;
	bus_faults = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	return 0;
}

void fnt__consumer_fini(struct fnt_consumer *d)
{
	signal(SIGBUS, SIG_DFL);
	bus_base = NULL;
	bus_fd = -1;
	if (d->fd >= 0)
		close(d->fd);
	free(d->slots);
	free(d->buf);
	free(d->files);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}
