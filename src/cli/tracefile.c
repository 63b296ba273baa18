/*
 * tracefile.c - writing and reading trace files (format in tracefile.h).
 *
 * The reader maps the file and checks every length, count and index against
 * the bytes actually present before it uses them: a malformed file gets an
 * error line, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/tracefile.h"
#include "core/demangle.h"
#include "util/log.h"

/* CRC32C (Castagnoli): the SSE4.2 instruction where present, else a table. */
static uint32_t crc_table[256];

static void crc_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		crc_table[i] = c;
	}
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

uint32_t fnt__crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int hw = -1;
	const uint8_t *p = buf;

	if (hw < 0) {
		__builtin_cpu_init();
		hw = __builtin_cpu_supports("sse4.2");
		if (!hw)
			crc_init_table();
	}
	crc = ~crc;
	if (hw) {
		crc = crc_hw(crc, p, len);
	} else {
		while (len--)
			crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	}
	return ~crc;
}

/*
 * Writer.
 */
int fnt__tf_create(struct fnt_tf_writer *w, const char *path)
{
	struct fnt_tf_filehdr h;
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	int err;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, FNT_TF_MAGIC, sizeof(FNT_TF_MAGIC));
	h.version = FNT_TF_VERSION;
	h.hdr_size = sizeof(h);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->path = strdup(path);
	/* ".NAME.XXXXXX" in the same directory: rename() needs the same
	 * file system, and the dot keeps it out of the way meanwhile. */
	w->tmp = malloc(strlen(path) + 16);
	if (!w->path || !w->tmp) {
		err = -ENOMEM;
		goto fail;
	}
	sprintf(w->tmp, "%.*s.%s.XXXXXX", (int)dl, path, path + dl);
	/* mkostemp: O_CREAT | O_EXCL, mode 0600, as perf does for its data. */
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (write(w->fd, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
		err = errno ? -errno : -EIO;
		close(w->fd);
		unlink(w->tmp);
		goto fail;
	}
	w->off = sizeof(h);
	return 0;

fail:
	free(w->path);
	free(w->tmp);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	return err;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t r = writev(fd, iov, n > 1024 ? 1024 : n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

/* Bytes kept allocated past the end of what is written, so that the END
 * record (which says how much was lost) still fits once the disk is full;
 * allocated in steps of TF_RESERVE_STEP to spare a system call per record. */
#define TF_RESERVE 65536
#define TF_RESERVE_STEP (1u << 20)

/* Makes sure need bytes and the reserve after them are allocated past
 * w->off.  Returns 0, or -ENOSPC (or -EDQUOT) with nothing written. */
static int reserve(struct fnt_tf_writer *w, uint64_t need)
{
	if (w->no_reserve || w->off + need + TF_RESERVE <= w->reserved)
		return 0;
	if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->off,
		      (off_t)(need + TF_RESERVE + TF_RESERVE_STEP)) == 0) {
		w->reserved = w->off + need + TF_RESERVE + TF_RESERVE_STEP;
		return 0;
	}
	if (errno != ENOSPC && errno != EDQUOT) {
		/* The file system cannot preallocate: the cut record is
		 * truncated away after a failed write instead. */
		w->no_reserve = 1;
		return 0;
	}
	if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->off, (off_t)(need + TF_RESERVE)) == 0) {
		w->reserved = w->off + need + TF_RESERVE;
		return 0;
	}
	return -errno;
}

int fnt__tf_write(struct fnt_tf_writer *w, uint32_t type, const struct iovec *iov, int iovcnt)
{
	static const uint64_t zero;
	struct iovec v[16];
	struct fnt_tf_rec r = { .type = type };
	uint32_t crc = 0;
	int n = 0, err;

	/* After a failure only END is still written (into the reserve): it
	 * counts what the failure cost. */
	if (iovcnt > 13)
		return -EINVAL;
	if (w->tap)
		w->tap(w->tap_arg, type, iov, iovcnt);
	if (w->err && type != FNT_TF_END)
		return w->err;
	v[n++] = (struct iovec){ &r, sizeof(r) };
	uint64_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		crc = fnt__crc32c(crc, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
		v[n++] = iov[i];
	}
	if (len > UINT32_MAX - 8)
		return w->err = -EFBIG;
	r.len = (uint32_t)len;
	r.crc = crc;
	r.hcrc = fnt__crc32c(0, &r, 8);
	if (r.len & 7)
		v[n++] = (struct iovec){ (void *)&zero, 8 - (r.len & 7) };
	err = type == FNT_TF_END ? 0 : reserve(w, sizeof(r) + ((r.len + 7) & ~7ull));
	if (err == 0 && (err = write_all(w->fd, v, n)) < 0) {
		/* A record cut short would hide every later one from the
		 * reader: the file goes back to its last complete record.
		 * That frees the reserve too, so it is taken again for END.
		 * (A failed reserve() wrote nothing and keeps the reserve.) */
		if (ftruncate(w->fd, (off_t)w->off) == 0 && !w->no_reserve &&
		    fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->off, TF_RESERVE) == 0)
			w->reserved = w->off + TF_RESERVE;
	}
	if (err < 0) {
		if (!w->err)
			w->err = err;
		return err;
	}
	w->off += sizeof(r) + ((r.len + 7) & ~7ull);
	return 0;
}

int fnt__tf_publish(struct fnt_tf_writer *w)
{
	if (w->published)
		return 0;
	/* rename() replaces a link at path, never what it points to, and
	 * leaves a reader of the previous file with its own inode. */
	if (rename(w->tmp, w->path) < 0) {
		int err = -errno;

		fprintf(stderr, "fntrace: cannot rename '%s' to '%s': %s (the trace is in '%s')\n",
			w->tmp, w->path, strerror(errno), w->tmp);
		return err;
	}
	w->published = 1;
	return 0;
}

static void writer_free(struct fnt_tf_writer *w)
{
	free(w->path);
	free(w->tmp);
	w->path = w->tmp = NULL;
}

int fnt__tf_finish(struct fnt_tf_writer *w)
{
	int err = w->err, e;

	if (w->fd < 0)
		return err ? err : -EBADF;
	/* Gives back the reserve past the end. */
	if (w->reserved > w->off && ftruncate(w->fd, (off_t)w->off) < 0 && !err)
		err = -errno;
	if (close(w->fd) < 0 && !err)
		err = -errno;
	w->fd = -1;
	e = fnt__tf_publish(w);
	if (e < 0 && !err)
		err = e;
	writer_free(w);
	return err;
}

void fnt__tf_discard(struct fnt_tf_writer *w)
{
	if (w->fd < 0)
		return;
	close(w->fd);
	w->fd = -1;
	unlink(w->published ? w->path : w->tmp);
	writer_free(w);
}

/*
 * Reader.
 */
static int fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * elem);
	if (!p) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	return p;
}

/* A NUL-terminated string of exactly len bytes (NUL included) at p. */
static int valid_str(const char *p, uint64_t len)
{
	return len > 0 && p[len - 1] == 0 && memchr(p, 0, len) == p + len - 1;
}

/*
 * Stream ids to their index in tf->streams while the file is read: an
 * open-addressing table (linear probing, at most half full), so a trace of
 * N streams is indexed in O(N) whatever their ids (a scan per new id made
 * it O(N^2): 18 s for 240,000 threads).  Slot value: index + 1, 0 = free.
 */
struct stream_index {
	uint32_t *slot;
	size_t cap;		/* a power of two */
	size_t *streams_cap;
};

static size_t stream_hash(uint32_t id, size_t cap)
{
	/* Fibonacci hashing: dense ids (the common case) spread evenly. */
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static void index_grow(struct fnt_tf *tf, struct stream_index *x)
{
	size_t ncap = x->cap ? x->cap * 2 : 64;
	uint32_t *n = calloc(ncap, sizeof(*n));

	if (!n) {
		fprintf(stderr, "fntrace: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < tf->nstreams; i++) {
		size_t h = stream_hash(tf->streams[i].id, ncap);

		while (n[h])
			h = (h + 1) & (ncap - 1);
		n[h] = (uint32_t)i + 1;
	}
	free(x->slot);
	x->slot = n;
	x->cap = ncap;
}

static struct fnt_tf_rstream *stream_get(struct fnt_tf *tf, uint32_t id, struct stream_index *x)
{
	size_t h;

	if ((tf->nstreams + 1) * 2 > x->cap)
		index_grow(tf, x);
	for (h = stream_hash(id, x->cap); x->slot[h]; h = (h + 1) & (x->cap - 1)) {
		tf->stream_probes++;
		if (tf->streams[x->slot[h] - 1].id == id)
			return &tf->streams[x->slot[h] - 1];
	}
	tf->streams = grow(tf->streams, x->streams_cap, tf->nstreams, sizeof(*tf->streams));
	memset(&tf->streams[tf->nstreams], 0, sizeof(*tf->streams));
	tf->streams[tf->nstreams].id = id;
	tf->streams[tf->nstreams].tid = -1;
	tf->streams[tf->nstreams].pid = -1;
	x->slot[h] = (uint32_t)tf->nstreams + 1;
	return &tf->streams[tf->nstreams++];
}

static int parse_file(struct fnt_tf *tf, const uint8_t *p, uint64_t len, size_t *cap)
{
	const struct fnt_tf_file *h = (const void *)p;
	struct fnt_tf_rfile *f;
	uint64_t need;

	if (len < sizeof(*h))
		return -1;
	need = sizeof(*h) + (uint64_t)h->nsites * 8 + (uint64_t)h->nsegs * sizeof(struct fnt_tf_seg) +
	       (uint64_t)h->nsyms * sizeof(struct fnt_tf_sym) + h->strs_len + h->path_len;
	if (need != len || h->build_id_len > sizeof(h->build_id) || h->id != tf->nfiles)
		return -1;
	tf->files = grow(tf->files, cap, tf->nfiles, sizeof(*tf->files));
	f = &tf->files[tf->nfiles];
	f->h = h;
	p += sizeof(*h);
	f->sites = (const void *)p;
	p += (uint64_t)h->nsites * 8;
	f->segs = (const void *)p;
	p += (uint64_t)h->nsegs * sizeof(struct fnt_tf_seg);
	f->syms = (const void *)p;
	p += (uint64_t)h->nsyms * sizeof(struct fnt_tf_sym);
	f->strs = (const char *)p;
	p += h->strs_len;
	f->path = (const char *)p;
	if (!valid_str(f->path, h->path_len) || (h->strs_len && f->strs[h->strs_len - 1] != 0))
		return -1;
	for (uint32_t i = 0; i < h->nsyms; i++)
		if (f->syms[i].name >= h->strs_len)
			return -1;
	tf->nfiles++;
	return 0;
}

static int obj_cmp(const void *a, const void *b)
{
	const struct fnt_tf_robj *x = a, *y = b;

	if (x->image != y->image)
		return x->image < y->image ? -1 : 1;
	return x->obj_id < y->obj_id ? -1 : x->obj_id > y->obj_id;
}

static int image_cmp(const void *a, const void *b)
{
	const struct fnt_tf_rimage *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int stream_cmp(const void *a, const void *b)
{
	const struct fnt_tf_rstream *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int fnt__tf_open(struct fnt_tf *tf, const char *path, char *err, size_t errlen)
{
	const struct fnt_tf_filehdr *fh;
	size_t files_cap = 0, objs_cap = 0, images_cap = 0, streams_cap = 0;
	struct stream_index sidx = { NULL, 0, &streams_cap };
	uint64_t off, nrec = 0;
	struct stat st;
	int fd, e;
	void *m;

	memset(tf, 0, sizeof(*tf));
	tf->path = path;
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer
	 * forever; it is refused below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		e = -errno;
		close(fd);
		return fail(err, errlen, e, "cannot stat '%s': %s", path, strerror(-e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "'%s' is not a trace file (not a regular file)",
			    path);
	}
	if ((size_t)st.st_size < sizeof(*fh)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "'%s' is not a trace file (%s)", path,
			    st.st_size ? "too short" : "empty");
	}
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return fail(err, errlen, -e, "cannot map '%s': %s", path, strerror(e));
	tf->map = m;
	tf->size = st.st_size;
	fh = m;
	if (memcmp(fh->magic, FNT_TF_MAGIC, sizeof(FNT_TF_MAGIC)) != 0) {
		e = fail(err, errlen, -EINVAL, "'%s' is not an fntrace trace file (bad magic)", path);
		goto fail_unmap;
	}
	if (fh->version != FNT_TF_VERSION) {
		e = fail(err, errlen, -EPROTONOSUPPORT,
			 "'%s' is trace format version %u; this fntrace reads version %u", path,
			 fh->version, FNT_TF_VERSION);
		goto fail_unmap;
	}
	if (fh->hdr_size < sizeof(*fh) || fh->hdr_size > tf->size || (fh->hdr_size & 7)) {
		e = fail(err, errlen, -EBADMSG, "'%s' is corrupted (bad header size %u)", path,
			 fh->hdr_size);
		goto fail_unmap;
	}

	for (off = fh->hdr_size; off < tf->size; nrec++) {
		const struct fnt_tf_rec *r = (const void *)(tf->map + off);
		const uint8_t *p = tf->map + off + sizeof(*r);
		uint64_t avail = tf->size - off - sizeof(*r), len;

		if (tf->size - off < sizeof(*r)) {
			snprintf(tf->trunc_msg, sizeof(tf->trunc_msg),
				 "'%s' is truncated at byte %lu (a record header is cut)", path,
				 (unsigned long)off);
			tf->truncated = 1;
			break;
		}
		len = r->len;
		if (fnt__crc32c(0, r, 8) != r->hcrc || r->type == 0 || r->type > 0xffff) {
			e = fail(err, errlen, -EBADMSG,
				 "'%s' is corrupted (bad record header at byte %lu)", path,
				 (unsigned long)off);
			goto fail_unmap;
		}
		if (len > avail) {
			snprintf(tf->trunc_msg, sizeof(tf->trunc_msg),
				 "'%s' is truncated at byte %lu (record of %lu bytes at byte %lu is cut)",
				 path, (unsigned long)tf->size, (unsigned long)len,
				 (unsigned long)off);
			tf->truncated = 1;
			/* The complete words of a cut CHUNK are still good. */
			if (r->type == FNT_TF_CHUNK && avail >= sizeof(struct fnt_tf_chunk)) {
				const struct fnt_tf_chunk *c = (const void *)p;
				struct fnt_tf_rstream *s = stream_get(tf, c->stream, &sidx);

				s->chunks = grow(s->chunks, &s->cap, s->nchunks, sizeof(*s->chunks));
				s->chunks[s->nchunks++] = (struct fnt_tf_rchunk){
					c, (const void *)(c + 1), (avail - sizeof(*c)) / 8
				};
			}
			break;
		}
		if (fnt__crc32c(0, p, len) != r->crc) {
			e = fail(err, errlen, -EBADMSG,
				 "'%s' is corrupted (checksum mismatch in record %lu at byte %lu)",
				 path, (unsigned long)nrec, (unsigned long)off);
			goto fail_unmap;
		}
		switch (r->type) {
		case FNT_TF_INFO:
			if (!tf->info) {
				char *s = malloc(len + 1);

				if (!s)
					break;
				memcpy(s, p, len);
				s[len] = 0;
				tf->info = s;
			}
			break;
		case FNT_TF_CLOCK:
			if (len < sizeof(tf->clock))
				goto bad;
			memcpy(&tf->clock, p, sizeof(tf->clock));
			if (tf->clock.kind != FNT_CLOCK_TSC && tf->clock.kind != FNT_CLOCK_MONO)
				goto bad;
			tf->have_clock = 1;
			break;
		case FNT_TF_IMAGE: {
			const struct fnt_tf_image *im = (const void *)p;

			if (len < sizeof(*im) || len != sizeof(*im) + (uint64_t)im->exe_len ||
			    !valid_str((const char *)(im + 1), im->exe_len))
				goto bad;
			tf->images = grow(tf->images, &images_cap, tf->nimages, sizeof(*tf->images));
			tf->images[tf->nimages++] = (struct fnt_tf_rimage){
				im->id, im->parent, im->pid, (const char *)(im + 1)
			};
			break;
		}
		case FNT_TF_FILE:
			if (parse_file(tf, p, len, &files_cap) < 0)
				goto bad;
			break;
		case FNT_TF_OBJECT: {
			const struct fnt_tf_object *o = (const void *)p;
			struct fnt_tf_robj *ro;

			if (len < sizeof(*o) || len != sizeof(*o) + (uint64_t)o->path_len ||
			    !valid_str((const char *)(o + 1), o->path_len))
				goto bad;
			if (o->file != FNT_TF_NOFILE && o->file >= tf->nfiles)
				goto bad;	/* FILE records come first */
			tf->objs = grow(tf->objs, &objs_cap, tf->nobjs, sizeof(*tf->objs));
			ro = &tf->objs[tf->nobjs++];
			memset(ro, 0, sizeof(*ro));
			ro->image = o->image;
			ro->obj_id = o->obj_id;
			ro->nsites = o->nsites;
			ro->bias = o->bias;
			ro->path = (const char *)(o + 1);
			ro->file = o->file == FNT_TF_NOFILE ? NULL : &tf->files[o->file];
			break;
		}
		case FNT_TF_STREAM: {
			const struct fnt_tf_stream *sr = (const void *)p;
			struct fnt_tf_rstream *s;

			if (len != sizeof(*sr))
				goto bad;
			s = stream_get(tf, sr->stream, &sidx);
			s->pid = sr->pid;
			s->tid = sr->tid;
			s->image = sr->image;
			s->described = 1;
			break;
		}
		case FNT_TF_CHUNK: {
			const struct fnt_tf_chunk *c = (const void *)p;
			struct fnt_tf_rstream *s;

			if (len < sizeof(*c) || (len - sizeof(*c)) % 8)
				goto bad;
			s = stream_get(tf, c->stream, &sidx);
			s->chunks = grow(s->chunks, &s->cap, s->nchunks, sizeof(*s->chunks));
			s->chunks[s->nchunks++] = (struct fnt_tf_rchunk){
				c, (const void *)(c + 1), (len - sizeof(*c)) / 8
			};
			break;
		}
		case FNT_TF_END:
			if (len < FNT_TF_END_MIN)
				goto bad;
			memset(&tf->end, 0, sizeof(tf->end));
			memcpy(&tf->end, p, len < sizeof(tf->end) ? len : sizeof(tf->end));
			tf->have_end = 1;
			break;
		default:
			break;	/* a newer writer's record */
		}
		off += sizeof(*r) + ((len + 7) & ~7ull);
		continue;
bad:
		e = fail(err, errlen, -EBADMSG, "'%s' is corrupted (malformed record %lu, type %u, at byte %lu)",
			 path, (unsigned long)nrec, r->type, (unsigned long)off);
		goto fail_unmap;
	}
	if (!tf->have_end && !tf->truncated) {
		snprintf(tf->trunc_msg, sizeof(tf->trunc_msg),
			 "'%s' ends at byte %lu without its END record (the recording was interrupted)",
			 path, (unsigned long)tf->size);
		tf->truncated = 1;
	}
	if (!tf->have_clock) {
		e = fail(err, errlen, -EINVAL, "'%s' is %s (no clock record)", path,
			 tf->truncated ? "truncated before any data" : "not a usable trace file");
		goto fail_unmap;
	}
	free(sidx.slot);
	sidx.slot = NULL;
	if (tf->nobjs)
		qsort(tf->objs, tf->nobjs, sizeof(*tf->objs), obj_cmp);
	if (tf->nimages)
		qsort(tf->images, tf->nimages, sizeof(*tf->images), image_cmp);
	if (tf->nstreams)
		qsort(tf->streams, tf->nstreams, sizeof(*tf->streams), stream_cmp);
	tf->epoch_ticks = tf->clock.a.ticks;
	{
		uint64_t dt = tf->clock.b.ticks - tf->clock.a.ticks;
		uint64_t dn = tf->clock.b.ns - tf->clock.a.ns;

		if (tf->clock.b.ticks > tf->clock.a.ticks && dn / dt < (1ull << 30)) {
			tf->mult = (uint64_t)(((unsigned __int128)dn << 32) / dt);
			tf->mult_ok = 1;
		}
	}
	return 0;

fail_unmap:
	free(sidx.slot);
	fnt__tf_close(tf);
	return e;
}

void fnt__tf_close(struct fnt_tf *tf)
{
	for (size_t i = 0; i < tf->nstreams; i++)
		free(tf->streams[i].chunks);
	for (size_t i = 0; i < tf->nobjs; i++) {
		struct fnt_tf_robj *o = &tf->objs[i];

		/* Names outside the file's strings were allocated (demangled or
		 * made up). */
		for (uint32_t k = 0; o->names && k < o->file->h->nsites; k++) {
			const char *n = o->names[k];

			if (n && (n < o->file->strs || n >= o->file->strs + o->file->h->strs_len))
				free((char *)n);
		}
		free(o->names);
		free(o->raws);
	}
	free(tf->streams);
	free(tf->objs);
	free(tf->files);
	free(tf->images);
	free((char *)tf->info);
	if (tf->map)
		munmap((void *)tf->map, tf->size);
	memset(tf, 0, sizeof(*tf));
}

int fnt__tf_open_or_complain(struct fnt_tf *tf, const char *path)
{
	char err[512];
	int e = fnt__tf_open(tf, path, err, sizeof(err));

	if (e < 0) {
		fprintf(stderr, "fntrace: %s\n", err);
		return e;
	}
	if (tf->truncated)
		fprintf(stderr, "fntrace: warning: %s; showing every complete record\n",
			tf->trunc_msg);
	return 0;
}

const char *fnt__tf_info(const struct fnt_tf *tf, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = tf->info; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);

		if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t vl = ll - kl - 1;

			if (vl >= len)
				vl = len - 1;
			memcpy(buf, p + kl + 1, vl);
			buf[vl] = 0;
			return buf;
		}
		p += ll + (nl ? 1 : 0);
	}
	return NULL;
}

uint64_t fnt__tf_ns_slow(const struct fnt_tf *tf, uint64_t ticks)
{
	uint64_t ns;

	/* fnt__tf_ns() multiplies when it can: a 128-bit division per event
	 * here. */
	ns = fnt__clock_to_ns(&tf->clock.a, &tf->clock.b, ticks);

	return ns > tf->clock.a.ns ? ns - tf->clock.a.ns : 0;
}

const struct fnt_tf_robj *fnt__tf_obj(const struct fnt_tf *tf, uint32_t image, uint32_t obj_id)
{
	size_t lo = 0, hi = tf->nobjs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fnt_tf_robj *o = &tf->objs[mid];

		if (o->image < image || (o->image == image && o->obj_id < obj_id))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tf->nobjs && tf->objs[lo].image == image && tf->objs[lo].obj_id == obj_id)
		return &tf->objs[lo];
	return NULL;
}

const struct fnt_tf_rimage *fnt__tf_image(const struct fnt_tf *tf, uint32_t id)
{
	size_t lo = 0, hi = tf->nimages;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tf->images[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tf->nimages && tf->images[lo].id == id ? &tf->images[lo] : NULL;
}

/* The symbol of file f containing link-time address v, or NULL. */
static const struct fnt_tf_sym *sym_at(const struct fnt_tf_rfile *f, uint64_t v)
{
	size_t lo = 0, hi = f->h->nsyms;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->syms[mid].vaddr <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo is the first symbol above v; look back for one containing v. */
	for (size_t i = lo; i-- > 0 && lo - i <= 8;) {
		const struct fnt_tf_sym *s = &f->syms[i];

		if (v >= s->vaddr && (v < s->vaddr + s->size || (s->size == 0 && v == s->vaddr)))
			return s;
	}
	return NULL;
}

/*
 * C++ names: demangled by our own demangler (src/core/demangle.c, the one
 * the runtime's filters use) in the style --demangle chose; a name it
 * cannot demangle is shown as it is.
 */
enum fnt_dem_style fnt__demangle_style = FNT_DEM_SIMPLE;

const char *fnt__tf_demangle(const char *name)
{
	struct fnt_dem_scratch sc;
	char buf[4096];

	if (fnt__demangle_style == FNT_DEM_NONE || name[0] != '_' || name[1] != 'Z' ||
	    fnt_demangle_in(&sc, name, buf, sizeof(buf), fnt__demangle_style) < 0)
		return name;
	return strdup(buf) ? : name;
}

const char *fnt__tf_site_name(const struct fnt_tf *tf, uint32_t image, uint32_t obj, uint32_t idx)
{
	static __thread char unknown[64];
	struct fnt_tf_robj *o = (struct fnt_tf_robj *)fnt__tf_obj(tf, image, obj);

	if (o && o->file && idx < o->file->h->nsites) {
		const char *n;

		if (!o->names) {
			o->names = calloc(o->file->h->nsites, sizeof(*o->names));
			o->raws = calloc(o->file->h->nsites, sizeof(*o->raws));
			if (!o->names)
				goto unknown;
		}
		n = o->names[idx];
		if (!n) {
			const struct fnt_tf_sym *s = sym_at(o->file, o->file->sites[idx]);

			if (s) {
				n = fnt__tf_demangle(o->file->strs + s->name);
				if (o->raws)
					o->raws[idx] = o->file->strs + s->name;
			} else {
				char *b = malloc(32);

				if (!b)
					goto unknown;
				snprintf(b, 32, "0x%llx", (unsigned long long)o->file->sites[idx]);
				n = b;	/* leaked once per unnamed site; bounded */
			}
			o->names[idx] = n;
		}
		return n;
	}
unknown:
	snprintf(unknown, sizeof(unknown), "site_%u_%u", obj, idx);
	return unknown;
}

const char *fnt__tf_site_raw(const struct fnt_tf *tf, uint32_t image, uint32_t obj, uint32_t idx)
{
	const char *n = fnt__tf_site_name(tf, image, obj, idx);
	const struct fnt_tf_robj *o = fnt__tf_obj(tf, image, obj);

	if (o && o->raws && o->file && idx < o->file->h->nsites && o->raws[idx])
		return o->raws[idx];
	return n;
}

const char *fnt__tf_addr_name(const struct fnt_tf *tf, uint32_t image, uint64_t addr)
{
	size_t lo = 0, hi = tf->nobjs;

	/* The image's objects are contiguous (sorted by image, id). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tf->objs[mid].image < image)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < tf->nobjs && tf->objs[i].image == image; i++) {
		const struct fnt_tf_robj *o = &tf->objs[i];

		if (!o->file)
			continue;
		for (uint32_t k = 0; k < o->file->h->nsegs; k++) {
			const struct fnt_tf_seg *sg = &o->file->segs[k];
			uint64_t v = addr - o->bias;

			if (v >= sg->vaddr && v < sg->vaddr + sg->memsz) {
				const struct fnt_tf_sym *s = sym_at(o->file, v);
				static __thread char buf[320];
				const char *base = strrchr(o->path, '/');

				if (s)
					return o->file->strs + s->name;
				/* No symbol (a stripped library's local function):
				 * say where at least. */
				snprintf(buf, sizeof(buf), "%s+0x%llx", base ? base + 1 : o->path,
					 (unsigned long long)v);
				return buf;
			}
		}
	}
	return NULL;
}

void fnt__tf_cursor_init(struct fnt_tf_cursor *c, const struct fnt_tf *tf,
			 const struct fnt_tf_rstream *s)
{
	memset(c, 0, sizeof(*c));
	c->tf = tf;
	c->s = s;
	fnt__ev_decoder_init(&c->dec, tf->epoch_ticks);
}

int fnt__tf_next_slow(struct fnt_tf_cursor *c, struct fnt_ev *ev)
{
	while (c->chunk < c->s->nchunks) {
		const struct fnt_tf_rchunk *ch = &c->s->chunks[c->chunk];

		if (!c->lost_done) {
			c->lost_done = 1;
			if (ch->h->flags & FNT_TF_CHUNK_RESYNC)
				fnt__ev_decoder_init(&c->dec, c->tf->epoch_ticks);
			if (ch->h->lost_before) {
				memset(ev, 0, sizeof(*ev));
				ev->type = FNT_EV_EXT;
				ev->lost = ch->h->lost_before;
				ev->ticks = c->dec.base;
				ev->no_time = !c->dec.have_base;
				if (ch->nwords) {
					/* Place it at the time of the chunk's first base. */
					uint64_t w = ch->words[0];

					if (fnt_ev_type(w) == FNT_EV_EXT && fnt_ev_sub(w) == FNT_EXT_TIME_BASE) {
						struct fnt_ev_decoder d = c->dec;
						struct fnt_ev dummy;

						fnt__ev_decode(&d, w, &dummy);
						ev->ticks = d.base;
						ev->no_time = 0;
					}
				}
				return 1;
			}
		}
		while (c->word < ch->nwords) {
			if (fnt__ev_decode(&c->dec, ch->words[c->word++], ev))
				return 1;
		}
		c->chunk++;
		c->word = 0;
		c->lost_done = 0;
	}
	return 0;
}
