/*
 * tracefile.h - the trace file: format, writer and reader.
 *
 * One self-describing file:
 *
 *   +------------------+-----+-----+-----+-----+---- ... ----+-----+
 *   | "FNTRACE\0" ver  | rec | rec | rec | rec |             | END |
 *   +------------------+-----+-----+-----+-----+---- ... ----+-----+
 *
 * Each record is a 16-byte header (type, payload length, CRC32C of the
 * payload, CRC32C of type and length) and its payload padded to 8 bytes.  Records: INFO (key=value
 * lines), CLOCK (tick calibration), IMAGE (a process image), FILE (the
 * sites, symbols, segments and build-id of an ELF file, read at record
 * time), OBJECT (a file loaded in an image at a bias), STREAM (one thread's
 * ring), CHUNK (raw event words of a stream, see ring/event.h) and END.
 *
 * The writer appends records as the recording goes, so a file cut short
 * (fntrace killed, disk full) keeps every record written before the cut; the
 * reader recovers those and the complete words of a cut CHUNK (its header
 * has its own CRC, so a cut is told from a corrupted length).  A file
 * without its END record is reported as truncated.  Any other
 * inconsistency (bad magic, CRC, sizes, indices) is rejected with one line
 * of explanation.  Unknown record types are skipped: newer writers may add
 * some.
 */
#ifndef FNT_CLI_TRACEFILE_H
#define FNT_CLI_TRACEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "core/demangle.h"
#include "ring/clock.h"
#include "ring/ring.h"

#define FNT_TF_MAGIC "FNTRACE"	/* 8 bytes with the NUL */
#define FNT_TF_VERSION 1

enum fnt_tf_type {
	FNT_TF_INFO = 1,
	FNT_TF_CLOCK = 2,
	FNT_TF_IMAGE = 3,
	FNT_TF_FILE = 4,
	FNT_TF_OBJECT = 5,
	FNT_TF_STREAM = 6,
	FNT_TF_CHUNK = 7,
	FNT_TF_END = 8,
};

struct fnt_tf_filehdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
};

struct fnt_tf_rec {
	uint32_t type;
	uint32_t len;		/* payload bytes, without padding */
	uint32_t crc;		/* CRC32C of the payload */
	uint32_t hcrc;		/* CRC32C of type and len: a cut record's length is trusted */
};

struct fnt_tf_clock {
	uint32_t kind;		/* enum fnt_clock_kind */
	uint32_t pad;
	struct fnt_clock_sample a, b;	/* at start, at end (or 10 ms after start) */
	uint64_t wall_ns;	/* CLOCK_REALTIME at a */
};

struct fnt_tf_image {
	uint32_t id;
	int32_t pid;
	uint32_t parent;
	uint32_t exe_len;	/* followed by exe, NUL included */
};

struct fnt_tf_seg {
	uint64_t vaddr, memsz;
	uint32_t flags, pad;
};

struct fnt_tf_sym {
	uint64_t vaddr, size;
	uint32_t name;		/* offset into the file's strings */
	uint32_t pad;
};

/* Followed by sites[nsites] (u64), segs[nsegs], syms[nsyms], strs[strs_len],
 * path[path_len] (NUL included). */
struct fnt_tf_file {
	uint32_t id;
	uint32_t nsites;
	uint32_t nsyms;
	uint32_t nsegs;
	uint32_t strs_len;
	uint32_t path_len;
	uint32_t build_id_len;
	uint32_t pad;
	uint8_t build_id[64];
};

#define FNT_TF_NOFILE 0xffffffffu

struct fnt_tf_object {
	uint32_t image;
	uint32_t obj_id;
	uint32_t file;		/* FILE id, or FNT_TF_NOFILE (unreadable) */
	uint32_t nsites;
	uint64_t bias;
	uint32_t path_len;	/* followed by path, NUL included */
	uint32_t pad;
};

struct fnt_tf_stream {
	uint32_t stream;
	int32_t pid;
	int32_t tid;
	uint32_t image;
};

#define FNT_TF_CHUNK_RESYNC 0x1u	/* the decoder restarts here */

struct fnt_tf_chunk {
	uint32_t stream;
	uint32_t flags;
	uint64_t pos;		/* ring position of the first word */
	uint64_t lost_before;	/* events lost just before this chunk */
};				/* followed by the words */

struct fnt_tf_end {
	uint64_t events;
	uint64_t lost;
	uint64_t lost_noslot;	/* lost without a stream (no ring free) */
	uint64_t duration_ns;	/* from the start of the recording */
	int32_t status;		/* wait status of the program */
	uint32_t nprocs;	/* process images */
	/* Added later (a shorter END is read with it 0): how often the
	 * recording found the shared buffers overwritten by a traced process
	 * (its data, and maybe others', is suspect; 'record' named them). */
	uint64_t damaged;
	/* Added later still: events the recording could not write into the
	 * file (disk full, I/O error), counted in lost too; and the signal
	 * that stopped the recording before the program ended (0: it did
	 * not, status is the program's). */
	uint64_t lost_unwritten;
	int32_t stopped_by;
	uint32_t pad;
};
#define FNT_TF_END_MIN 40	/* the END of the first writers, without damaged */

uint32_t fnt__crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Writer.
 */
struct fnt_tf_writer {
	int fd;
	uint64_t off;
	int err;		/* first write error, sticky */
	char *path;		/* where the file goes when finished */
	char *tmp;		/* where it is written until then */
	int published;		/* renamed to path already */
	uint64_t reserved;	/* bytes allocated (fallocate) from the start */
	int no_reserve;		/* the file system cannot preallocate */
	/* Called with every record before it is written (NULL: none): a
	 * reader that follows the recording as it goes ('live -p'). */
	void (*tap)(void *arg, uint32_t type, const struct iovec *iov, int iovcnt);
	void *tap_arg;
};

/* Creates a new file, mode 0600, next to path (O_EXCL, a fresh name: a
 * planted symlink or an existing file is never opened), renamed to path by
 * fnt__tf_publish() or fnt__tf_finish().  So a reader of an older file at
 * path keeps reading it whole, and a trace is never written through a link.
 * Returns 0 or -errno. */
int fnt__tf_create(struct fnt_tf_writer *w, const char *path);
/* Renames the file to its path now: from then on, a recording cut short
 * (fntrace killed) leaves what it wrote there.  Returns 0 or -errno. */
int fnt__tf_publish(struct fnt_tf_writer *w);
/* Appends one record whose payload is the concatenation of iov.  After the
 * first failure (sticky in err) only an END record is still written, into
 * room kept for it. */
int fnt__tf_write(struct fnt_tf_writer *w, uint32_t type, const struct iovec *iov, int iovcnt);
/* Closes the file and renames it into place, even after a write error
 * (what was written is kept).  Returns 0 or the first error. */
int fnt__tf_finish(struct fnt_tf_writer *w);
/* Closes and removes the file: nothing is put in place. */
void fnt__tf_discard(struct fnt_tf_writer *w);

/*
 * Reader.
 */
struct fnt_tf_rfile {
	const struct fnt_tf_file *h;
	const uint64_t *sites;
	const struct fnt_tf_seg *segs;
	const struct fnt_tf_sym *syms;
	const char *strs;
	const char *path;
};

struct fnt_tf_robj {
	uint32_t image, obj_id, nsites;
	uint64_t bias;
	const char *path;
	struct fnt_tf_rfile *file;	/* NULL: no symbols */
	const char **names;	/* per site, filled lazily: as printed (--demangle) */
	const char **raws;	/* per site: the symbol as in the file, for filters */
};

struct fnt_tf_rimage {
	uint32_t id, parent;
	int32_t pid;
	const char *exe;
};

struct fnt_tf_rchunk {
	const struct fnt_tf_chunk *h;
	const uint64_t *words;
	uint64_t nwords;
};

struct fnt_tf_rstream {
	uint32_t id;
	int32_t pid, tid;
	uint32_t image;
	int described;		/* a STREAM record was seen */
	struct fnt_tf_rchunk *chunks;
	size_t nchunks, cap;
};

struct fnt_tf {
	const char *path;
	const uint8_t *map;
	size_t size;
	const char *info;	/* INFO text, NUL-terminated copy */
	struct fnt_tf_clock clock;
	int have_clock;
	struct fnt_tf_end end;
	int have_end;
	int truncated;		/* cut short: *trunc_msg says where */
	char trunc_msg[256];
	struct fnt_tf_rfile *files;
	size_t nfiles;
	struct fnt_tf_robj *objs;	/* sorted by (image, obj_id) */
	size_t nobjs;
	struct fnt_tf_rimage *images;	/* sorted by id */
	size_t nimages;
	struct fnt_tf_rstream *streams;	/* sorted by id */
	size_t nstreams;
	/* Entries of the stream index compared while the file was read: a
	 * test's measure that indexing stays linear (not a timing). */
	uint64_t stream_probes;
	uint64_t epoch_ticks;
	/* ns = ((ticks - a.ticks) * mult) >> 32, precomputed from the clock. */
	uint64_t mult;
	int mult_ok;
};

/* Opens and indexes path.  Returns 0, or -errno with one line in err
 * (-ENOENT etc. from open, -EINVAL: not a trace file, -EBADMSG: corrupted,
 * -EPROTONOSUPPORT: a newer version). */
int fnt__tf_open(struct fnt_tf *tf, const char *path, char *err, size_t errlen);
void fnt__tf_close(struct fnt_tf *tf);
/* The INFO value of key, or NULL.  Copies it into buf. */
const char *fnt__tf_info(const struct fnt_tf *tf, const char *key, char *buf, size_t len);
/* Nanoseconds since the start of the recording: a multiply, inline (the
 * readers call it for every event), or fnt__tf_ns_slow(). */
uint64_t fnt__tf_ns_slow(const struct fnt_tf *tf, uint64_t ticks);
static inline uint64_t fnt__tf_ns(const struct fnt_tf *tf, uint64_t ticks)
{
	if (tf->mult_ok && ticks >= tf->clock.a.ticks)
		return (uint64_t)(((unsigned __int128)(ticks - tf->clock.a.ticks) * tf->mult) >> 32);
	return fnt__tf_ns_slow(tf, ticks);
}
/* The image of that id, or NULL (binary search). */
const struct fnt_tf_rimage *fnt__tf_image(const struct fnt_tf *tf, uint32_t id);
const struct fnt_tf_robj *fnt__tf_obj(const struct fnt_tf *tf, uint32_t image, uint32_t obj_id);
/* Name of a site; never NULL (a placeholder when unknown). */
const char *fnt__tf_site_name(const struct fnt_tf *tf, uint32_t image, uint32_t obj, uint32_t idx);
/* The symbol of a site as in the file (a C++ name mangled), what filters
 * match (they try its demangled forms themselves); never NULL. */
const char *fnt__tf_site_raw(const struct fnt_tf *tf, uint32_t image, uint32_t obj, uint32_t idx);
/* How names are printed (--demangle; FNT_DEM_SIMPLE unless set). */
extern enum fnt_dem_style fnt__demangle_style;
/* The demangled name of a C++ symbol in fnt__demangle_style (allocated:
 * the caller frees it), else name itself. */
const char *fnt__tf_demangle(const char *name);
/* "()" after a function's name in a call graph, unless --demangle=full
 * printed its parameters already. */
static inline const char *fnt__tf_call_parens(const char *name)
{
	return fnt__demangle_style == FNT_DEM_FULL && name[0] != '_' && strchr(name, '(') ? ""
											 : "()";
}
/* Name of the function containing addr in image ("lib.so+0xoff" when the
 * object has no symbol there; valid until the next call), or NULL. */
const char *fnt__tf_addr_name(const struct fnt_tf *tf, uint32_t image, uint64_t addr);

/* Reads a stream's events in order, lost markers included. */
struct fnt_tf_cursor {
	const struct fnt_tf *tf;
	const struct fnt_tf_rstream *s;
	size_t chunk;
	uint64_t word;
	int lost_done;		/* the chunk's lost_before was returned */
	struct fnt_ev_decoder dec;
};

void fnt__tf_cursor_init(struct fnt_tf_cursor *c, const struct fnt_tf *tf,
			 const struct fnt_tf_rstream *s);
/* Returns 1 with *ev filled, or 0 at the end.  Inline for the words
 * inside a chunk; chunk boundaries, lost markers and the end are
 * fnt__tf_next_slow()'s. */
int fnt__tf_next_slow(struct fnt_tf_cursor *c, struct fnt_ev *ev);
static inline int fnt__tf_next(struct fnt_tf_cursor *c, struct fnt_ev *ev)
{
	if (c->lost_done && c->chunk < c->s->nchunks) {
		const struct fnt_tf_rchunk *ch = &c->s->chunks[c->chunk];

		while (c->word < ch->nwords)
			if (fnt__ev_decode(&c->dec, ch->words[c->word++], ev))
				return 1;
	}
	return fnt__tf_next_slow(c, ev);
}

/* Shared by the reading commands: opens the file or prints the error. */
int fnt__tf_open_or_complain(struct fnt_tf *tf, const char *path);

#endif
