/*
 * shm.c - creating and mapping the shared recording region (see shm.h),
 * and checking a region's header before anything trusts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring/shm.h"
#include "util/env.h"
#include "util/sys.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* x86-64 pages; every area of the layout starts on one. */
#define PAGE 4096ull

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * What this process knows of the region it attached, for
 * fnt__shm_reserve()'s fallback: the file is reopened by its path for
 * each reservation rather than kept open, since a descriptor kept in the
 * traced process could be closed and its number reused by the program
 * (close_range, then open).  The reopened file is checked to be the one
 * mapped (device and inode), in case the path now names another.
 */
static struct {
	char path[FNT_SHM_PATH_MAX];
	dev_t dev;
	ino_t ino;
	int no_populate;	/* MADV_POPULATE_WRITE is unknown (Linux < 5.14) */
	uint64_t size;		/* of the mapping, from the checked layout */
} region;

size_t fnt__shm_layout(struct fnt_shm_hdr *h, uint32_t nslots, uint64_t ring_words)
{
	size_t off = align_up(sizeof(*h), 4096);

	h->nslots = nslots;
	h->ring_words = ring_words;
	h->images_off = off;
	off = align_up(off + sizeof(struct fnt_shm_image) * FNT_SHM_MAX_IMAGES, 4096);
	h->objects_off = off;
	off = align_up(off + sizeof(struct fnt_shm_object) * FNT_SHM_MAX_OBJECTS, 4096);
	h->slots_off = off;
	off = align_up(off + sizeof(struct fnt_shm_slot) * nslots, 4096);
	h->rings_off = off;
	off += ring_words * 8 * nslots;
	h->size = off;
	return off;
}

static void fill_layout(const struct fnt_shm_hdr *c, struct fnt_shm_layout *l);

int fnt__shm_check(const struct fnt_shm_hdr *c, uint64_t real_size, struct fnt_shm_layout *l,
		   const char **why)
{
	struct fnt_shm_hdr want;

	/* The layout is a function of nslots and ring_words: once those are
	 * in range, every offset and the size must be exactly what they give,
	 * and the size what the file really has, so that no ring, slot or
	 * record can lie outside the mapping. */
	if (c->magic != FNT_SHM_MAGIC || c->version != FNT_SHM_VERSION)
		return *why = "not a recording region of this version", -EPROTO;
	if (c->nslots < 1 || c->nslots > FNT_SHM_MAX_SLOTS)
		return *why = "its ring count is out of range", -EPROTO;
	if (c->ring_words < FNT_SHM_MIN_RING_WORDS || c->ring_words > FNT_SHM_MAX_RING_WORDS ||
	    (c->ring_words & (c->ring_words - 1)))
		return *why = "its ring size is not a power of two in range", -EPROTO;
	memset(&want, 0, sizeof(want));
	fnt__shm_layout(&want, c->nslots, c->ring_words);
	if (c->images_off != want.images_off || c->objects_off != want.objects_off ||
	    c->slots_off != want.slots_off || c->rings_off != want.rings_off ||
	    c->size != want.size)
		return *why = "its layout does not match its ring count and size", -EPROTO;
	if (c->size != real_size)
		return *why = "its size is not the size of the file", -EPROTO;
	if (c->mode > FNT_MODE_DROP)
		return *why = "unknown buffer mode", -EPROTO;
	if (c->tracer != FNT_TRACER_FUNCTION && c->tracer != FNT_TRACER_GRAPH)
		return *why = "unknown tracer", -EPROTO;
	if (c->clock != 1 && c->clock != 2)	/* enum fnt_clock_kind */
		return *why = "unknown clock", -EPROTO;
	fill_layout(c, l);
	return 0;
}

static void fill_layout(const struct fnt_shm_hdr *c, struct fnt_shm_layout *l)
{
	l->nslots = c->nslots;
	l->mode = c->mode;
	l->tracer = c->tracer;
	l->clock = c->clock;
	l->follow_fork = c->follow_fork;
	l->depth = c->depth;
	l->stall_ms = c->stall_ms;
	l->reader_pid = c->reader_pid;
	l->root_pid = c->root_pid;
	l->ring_words = c->ring_words;
	l->thresh_ticks = c->thresh_ticks;
	l->images_off = c->images_off;
	l->objects_off = c->objects_off;
	l->slots_off = c->slots_off;
	l->rings_off = c->rings_off;
	l->size = c->size;
}

static void init_hdr(struct fnt_shm_hdr *h, const struct fnt_shm_hdr *tmpl)
{
	uint32_t nslots = tmpl->nslots;
	uint64_t words = tmpl->ring_words;

	memcpy(h, tmpl, sizeof(*h));
	fnt__shm_layout(h, nslots, words);
	h->nimages = h->nobjects = h->nstreams = 0;
	h->lost_noslot = h->lost_noreader = h->lost_nomem = 0;
	h->nomem_threads = 0;
	h->nslots_used = 0;
	h->kick = 0;
	h->drained = 0;
	h->waiters = 0;
	h->version = FNT_SHM_VERSION;
	/* Last: attachers check the magic (pairs with the acquire in attach). */
	__atomic_store_n(&h->magic, FNT_SHM_MAGIC, __ATOMIC_RELEASE);
}

/* The slot entries reserved at creation; the others are reserved by the
 * thread that takes them first (see shm.h). */
static uint64_t fixed_slots_size(const struct fnt_shm_hdr *h)
{
	uint32_t n = h->nslots < FNT_SHM_FIXED_SLOTS ? h->nslots : FNT_SHM_FIXED_SLOTS;

	return align_up(sizeof(struct fnt_shm_slot) * n, PAGE);
}

uint64_t fnt__shm_reserved_size(const struct fnt_shm_hdr *h)
{
	return h->images_off +
	       align_up(sizeof(struct fnt_shm_image) * FNT_SHM_RESERVED_IMAGES, PAGE) +
	       align_up(sizeof(struct fnt_shm_object) * FNT_SHM_RESERVED_OBJECTS, PAGE) +
	       fixed_slots_size(h);
}

/* Allocates the parts of a new region that are written before any
 * traced process can reserve anything: the header and the slots (taking
 * a ring writes its slot), and the first metadata records. */
static int reserve_fixed(int fd, const struct fnt_shm_hdr *h)
{
	const off_t ranges[3][2] = {
		{ 0, (off_t)(h->images_off +
			     align_up(sizeof(struct fnt_shm_image) * FNT_SHM_RESERVED_IMAGES, PAGE)) },
		{ (off_t)h->objects_off,
		  (off_t)align_up(sizeof(struct fnt_shm_object) * FNT_SHM_RESERVED_OBJECTS, PAGE) },
		{ (off_t)h->slots_off, (off_t)fixed_slots_size(h) },
	};

	for (int i = 0; i < 3; i++) {
		int err;

		do
			err = fallocate(fd, 0, ranges[i][0], ranges[i][1]) < 0 ? errno : 0;
		while (err == EINTR);
		if (err)
			return -err;
	}
	return 0;
}

/* The creator's descriptor of its region, flock()ed (see create_locked()). */
static int creator_fd = -1;

/*
 * Creates the region's file, already locked: the creator holds an
 * exclusive flock() on it for as long as it lives (the lock belongs to the
 * open file description, so it is seen from every PID namespace sharing
 * /dev/shm, and the kernel drops it when the creator dies, however it
 * dies).  Another fntrace process removes a region only if it can take
 * that lock: the pid in the name proves nothing across namespaces.  The
 * file is made unnamed (O_TMPFILE), locked, then linked under its name,
 * so no one ever sees it named and unlocked; where O_TMPFILE is not
 * supported it is created by name and locked at once.  Returns the
 * descriptor or -errno (-EEXIST: the name is taken).
 */
static int create_locked(const char *path)
{
	char dir[FNT_SHM_PATH_MAX], proc[64];
	const char *slash = strrchr(path, '/');
	int fd = -1, err;

	if (slash && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
		fd = open(slash == path ? "/" : dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	}
	if (fd >= 0) {
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		err = -errno;
		close(fd);
		if (err == -EEXIST)
			return err;
		/* No /proc, say: by name. */
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		unlink(path);
		close(fd);
		return err;
	}
	return fd;
}

int fnt__shm_create(const char *path, const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out,
		    struct fnt_shm_layout *l)
{
	struct fnt_shm_hdr lay = *tmpl;
	size_t size = fnt__shm_layout(&lay, tmpl->nslots, tmpl->ring_words);
	void *p;
	int fd, err;

	fd = create_locked(path);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		goto fail_unlink;
	}
	err = reserve_fixed(fd, &lay);
	if (err < 0)
		goto fail_unlink;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto fail_unlink;
	}
	/* Kept open, and locked, for the creator's whole life (see
	 * create_locked()). */
	if (creator_fd >= 0)
		close(creator_fd);
	creator_fd = fd;
	init_hdr(p, tmpl);
	/* The creator's layout is the one it computed, not one read back
	 * from the shared header (a traced process may have changed it by
	 * the time anyone reads it). */
	fill_layout(&lay, l);
	*out = p;
	return 0;

fail_unlink:
	unlink(path);
	close(fd);
	return err;
}

int fnt__shm_create_anon(const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out,
			 struct fnt_shm_layout *l)
{
	struct fnt_shm_hdr lay = *tmpl;
	size_t size = fnt__shm_layout(&lay, tmpl->nslots, tmpl->ring_words);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	init_hdr(p, tmpl);
	fill_layout(&lay, l);
	*out = p;
	return 0;
}

/* Maps the region open at fd (path: its name, for the reservation
 * fallback, or NULL). */
static int attach(int fd, const char *path, struct fnt_shm_hdr **out, struct fnt_shm_layout *l,
		  const char **why)
{
	struct fnt_shm_hdr copy;
	struct stat st;
	void *p;
	int err;

	*why = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(copy)) {
		*why = "not a recording region (too small)";
		return -EPROTO;
	}
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* One copy, checked, then used: the shared header may change under
	 * us, and a field checked there but read again later proves nothing.
	 * The acquire pairs with the release store of the magic in
	 * init_hdr(). */
	copy.magic = __atomic_load_n(&((struct fnt_shm_hdr *)p)->magic, __ATOMIC_ACQUIRE);
	memcpy((char *)&copy + sizeof(copy.magic), (char *)p + sizeof(copy.magic),
	       sizeof(copy) - sizeof(copy.magic));
	err = fnt__shm_check(&copy, (uint64_t)st.st_size, l, why);
	if (err < 0) {
		munmap(p, st.st_size);
		return err;
	}
	/* A region passed as a descriptor has no path: on kernels without
	 * MADV_POPULATE_WRITE its rings cannot be reserved, and threads
	 * without one count their events lost. */
	if (path && strlen(path) < sizeof(region.path))
		memcpy(region.path, path, strlen(path) + 1);
	else
		region.path[0] = 0;
	region.dev = st.st_dev;
	region.ino = st.st_ino;
	/* For tests: the fallback of kernels before 5.14. */
	region.no_populate = fnt__env("FNTRACE_TEST_RESERVE") &&
			     strcmp(fnt__env("FNTRACE_TEST_RESERVE"), "fallocate") == 0;
	region.size = l->size;
	*out = p;
	return 0;
}

int fnt__shm_attach(const char *path, struct fnt_shm_hdr **out, struct fnt_shm_layout *l,
		    const char **why)
{
	int fd, err;

	*why = NULL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = attach(fd, path, out, l, why);
	close(fd);
	return err;
}

int fnt__shm_attach_fd(int fd, struct fnt_shm_hdr **out, struct fnt_shm_layout *l,
		       const char **why)
{
	return attach(fd, NULL, out, l, why);
}

/* The fallback of fnt__shm_reserve(): fallocate on the file, reopened by
 * its path and checked to be the mapped one.  Raw syscalls: the libc
 * wrappers of open, close and fallocate are cancellation points, and a
 * thread cancelled inside a hook would unwind through the trampoline. */
static int reserve_by_path(uint64_t off, uint64_t len)
{
	struct stat st;
	long fd, err = 0;

	if (!region.path[0])
		return -ENOENT;
	fd = fnt__sys(SYS_openat, AT_FDCWD, region.path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return (int)fd;
	err = fnt__sys(SYS_fstat, fd, &st);
	if (err == 0 && (st.st_dev != region.dev || st.st_ino != region.ino))
		err = -ESTALE;	/* the path names another file now */
	else if (err == 0)
		err = fnt__sys(SYS_fallocate, fd, 0, (off_t)off, (off_t)len);
	if (err == -ENOSPC)
		err = -ENOMEM;
	fnt__sys(SYS_close, fd);
	return (int)err;
}

int fnt__shm_reserve(struct fnt_shm_hdr *h, uint64_t off, uint64_t len)
{
	uint64_t lo = off & ~(PAGE - 1), hi = (off + len + PAGE - 1) & ~(PAGE - 1);

	/* The attached size, never the shared header's (anyone may write it). */
	if (hi > region.size)
		hi = region.size;
	if (lo >= hi)
		return 0;
	if (!region.no_populate) {
		/* Faults the pages in for writing, as a store would, but
		 * reports a page tmpfs cannot supply as EFAULT (ENOMEM for
		 * a memory limit) where the store would raise SIGBUS. */
		for (int tries = 0; tries < 3; tries++) {
			if (madvise((char *)h + lo, hi - lo, MADV_POPULATE_WRITE) == 0)
				return 0;
			if (errno != EINTR && errno != EAGAIN)
				break;
		}
		if (errno == EFAULT || errno == ENOMEM)
			return -ENOMEM;
		if (errno != EINVAL)
			return -errno;
		region.no_populate = 1;	/* an older kernel: fall back */
	}
	return reserve_by_path(lo, hi - lo);
}

void fnt__shm_unmap(struct fnt_shm_hdr *h, const struct fnt_shm_layout *l)
{
	if (h)
		munmap(h, l->size);
}
