/*
 * shm.c - creating and mapping the shared recording region (see shm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring/shm.h"

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

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

static void init_hdr(struct fnt_shm_hdr *h, const struct fnt_shm_hdr *tmpl)
{
	uint32_t nslots = tmpl->nslots;
	uint64_t words = tmpl->ring_words;

	memcpy(h, tmpl, sizeof(*h));
	fnt__shm_layout(h, nslots, words);
	h->nimages = h->nobjects = h->nstreams = 0;
	h->lost_noslot = h->lost_noreader = 0;
	h->kick = 0;
	h->drained = 0;
	h->waiters = 0;
	h->version = FNT_SHM_VERSION;
	/* Last: attachers check the magic (pairs with the acquire in attach). */
	__atomic_store_n(&h->magic, FNT_SHM_MAGIC, __ATOMIC_RELEASE);
}

int fnt__shm_create(const char *path, const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out)
{
	struct fnt_shm_hdr lay = *tmpl;
	size_t size = fnt__shm_layout(&lay, tmpl->nslots, tmpl->ring_words);
	void *p;
	int fd, err;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		goto fail_unlink;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto fail_unlink;
	}
	close(fd);
	init_hdr(p, tmpl);
	*out = p;
	return 0;

fail_unlink:
	unlink(path);
	close(fd);
	return err;
}

int fnt__shm_create_anon(const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out)
{
	struct fnt_shm_hdr lay = *tmpl;
	size_t size = fnt__shm_layout(&lay, tmpl->nslots, tmpl->ring_words);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	init_hdr(p, tmpl);
	*out = p;
	return 0;
}

int fnt__shm_attach(const char *path, struct fnt_shm_hdr **out)
{
	struct fnt_shm_hdr *h;
	struct stat st;
	void *p;
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto fail_close;
	}
	if ((size_t)st.st_size < sizeof(*h)) {
		err = -EPROTO;
		goto fail_close;
	}
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto fail_close;
	}
	close(fd);
	h = p;
	/* Pairs with the release store of the magic in init_hdr(). */
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != FNT_SHM_MAGIC ||
	    h->version != FNT_SHM_VERSION || h->size != (uint64_t)st.st_size) {
		munmap(p, st.st_size);
		return -EPROTO;
	}
	*out = h;
	return 0;

fail_close:
	close(fd);
	return err;
}

void fnt__shm_unmap(struct fnt_shm_hdr *h)
{
	if (h)
		munmap(h, h->size);
}
