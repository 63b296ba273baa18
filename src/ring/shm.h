/*
 * shm.h - the memory shared between traced processes and the fntrace
 * process: a header, the metadata areas (process images, objects) and one
 * ring per thread.
 *
 * The fntrace process creates a file in /dev/shm, sized once to its
 * maximum (tmpfs keeps it sparse: untouched rings cost nothing), and names
 * it in FNTRACE_SHM.  Every traced process (children and exec'd programs
 * included) maps the same file.  Whatever a process committed before it
 * died, even by SIGKILL, stays in the file for the fntrace process to read.
 *
 * Sparse memory must be backed before anyone writes it: a store to a page
 * tmpfs cannot supply (/dev/shm full) kills the writer with SIGBUS, and the
 * writer is the traced program.  So no page of the region is written until
 * it was reserved with fnt__shm_reserve(), which fails cleanly instead:
 *  - the fntrace process reserves the header, the slots and the first
 *    records of the metadata areas when it creates the region, and refuses
 *    to start the program if that fails;
 *  - a traced process reserves a ring when it takes the ring for the first
 *    time (slot->backed says it was done: a recycled ring needs nothing),
 *    and each metadata record before it claims the record's index, so
 *    every index below nimages/nobjects is backed and the reader may read
 *    it.  A thread that cannot get a backed ring loses its events, counted
 *    in lost_nomem; the program is never hurt.
 *
 *   +--------+--------------+------------------+-------------+--------------+
 *   | header | images[16K]  | objects[128K]    | slots[n]    | rings[n]     |
 *   +--------+--------------+------------------+-------------+--------------+
 *
 * Records of the metadata areas are appended lock-free: a writer takes an
 * index with an atomic add, fills the record, then sets ->ready with a
 * release store that pairs with the reader's acquire load of ->ready.
 *
 * Rings on demand: the region has room for nslots rings (65536 by default,
 * FNTRACE_RINGS), but only address space until a thread needs one.  Slots
 * [0, nslots_used) were handed out once; a thread takes a free one of
 * those (backed, drained by the reader) or, if there is none, the next
 * one: it reserves that slot's entry and its ring, then takes its index
 * with a cmpxchg on nslots_used (as the metadata records are claimed), so
 * every slot below the count is backed, or about to be: a thread skips a
 * free slot whose ->backed is not set yet.  The reader reads slots below
 * the count only, so a drain costs what the used slots cost, however large
 * nslots.  The first FNT_SHM_FIXED_SLOTS entries are reserved up front.
 *
 * A slot (one ring) goes FREE -> OWNED (cmpxchg by the thread that takes it)
 * -> RETIRED (by that thread at exit) -> FREE (by the reader, once drained).
 * A slot OWNED by a process that died is drained and freed by the reader.
 */
#ifndef FNT_RING_SHM_H
#define FNT_RING_SHM_H

#include <stddef.h>
#include <stdint.h>

#define FNT_SHM_MAGIC 0x31304d4853544e46ull	/* "FNTSHM01" */
#define FNT_SHM_VERSION 3
#define FNT_SHM_MAX_IMAGES 16384	/* process images: forks and execs */
#define FNT_SHM_MAX_OBJECTS 131072	/* sparse: untouched records cost nothing */
#define FNT_SHM_PATH_MAX 512
/* Metadata records the fntrace process reserves up front, so that the
 * first process's description never lacks memory the rings took. */
#define FNT_SHM_RESERVED_IMAGES 16
#define FNT_SHM_RESERVED_OBJECTS 256

enum fnt_mode {
	FNT_MODE_LOSSLESS = 0,	/* writers wait for the drain */
	FNT_MODE_OVERWRITE = 1,	/* flight recorder: keeps the newest */
	FNT_MODE_DROP = 2,	/* keeps the oldest, drops the newest */
};

enum fnt_tracer {
	FNT_TRACER_FUNCTION = 1,
	FNT_TRACER_GRAPH = 2,
};

enum fnt_slot_state {
	FNT_SLOT_FREE = 0,
	FNT_SLOT_OWNED = 1,
	FNT_SLOT_RETIRED = 2,
};

struct fnt_shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t mode;		/* enum fnt_mode */
	uint32_t tracer;	/* enum fnt_tracer */
	uint32_t clock;		/* enum fnt_clock_kind */
	uint32_t nslots;
	uint32_t follow_fork;
	uint64_t ring_words;	/* per ring, a power of two */
	uint64_t images_off, objects_off, slots_off, rings_off, size;
	int32_t reader_pid;
	int32_t root_pid;
	uint64_t thresh_ticks;	/* function_graph --time-threshold, in ticks */
	uint32_t depth;		/* --depth, 0 = none */
	/* Lossless writers wait at most this long for a drain, then the
	 * process stops recording (0: as long as the reader lives). */
	uint32_t stall_ms;

	/* Appended by traced processes (atomic adds, see the file comment). */
	uint32_t nimages;
	uint32_t nobjects;
	uint32_t nstreams;
	uint32_t nomem_threads;	/* threads that found no memory for a ring */
	/* Slots handed out so far (see "Rings on demand" above): slots at
	 * and past it were never used, and the reader does not look at them. */
	uint32_t nslots_used;
	uint32_t pad1;
	uint64_t lost_noslot;	/* events lost because no ring was free */
	uint64_t lost_noreader;	/* events lost because the reader vanished */
	uint64_t lost_nomem;	/* events lost because /dev/shm had no room for a ring */
	/* Futex word: writers bump it and wake the reader when a ring passes
	 * half full; the reader sleeps on it between drains. */
	uint32_t kick __attribute__((aligned(64)));
	/* Futex word: the reader bumps it after a drain that freed room while
	 * lossless writers wait (waiters > 0); they sleep on it. */
	uint32_t drained __attribute__((aligned(64)));
	uint32_t waiters;
};

struct fnt_shm_image {
	uint32_t ready;		/* release-stored last; pairs with the reader's acquire */
	int32_t pid;
	uint32_t parent;	/* image this one was forked from, or ~0u */
	uint32_t pad;
	char exe[FNT_SHM_PATH_MAX];
};

struct fnt_shm_object {
	uint32_t ready;		/* release-stored last; pairs with the reader's acquire */
	uint32_t image;
	uint32_t obj_id;
	uint32_t unloaded;	/* set when the runtime releases the object */
	uint64_t bias;
	uint32_t nsites;
	uint32_t build_id_len;
	uint8_t build_id[64];
	char path[FNT_SHM_PATH_MAX];
};

/* One per ring.  The first cache line is the writer's, the second the
 * reader's, so a drain never bounces the writer's line. */
struct fnt_shm_slot {
	uint32_t state;		/* enum fnt_slot_state */
	int32_t pid;
	int32_t tid;
	uint32_t image;
	uint32_t stream;	/* unique per ownership, from hdr->nstreams */
	uint32_t kicked;	/* the writer woke the reader; the reader clears it */
	uint64_t commit;	/* words committed; release by writer, acquire by reader */
	uint64_t ext_words;	/* non-event words written (for loss accounting) */
	uint64_t lost;		/* events the writer could not store */
	uint32_t backed;	/* the ring's memory is reserved (never reset) */
	uint64_t tail __attribute__((aligned(64)));	/* words consumed by the reader */
	uint64_t pad[7];
};

/*
 * The layout and settings of a region, as each process keeps them in its
 * own memory.  Every traced process maps the region read-write, so any of
 * them can overwrite the header at any time: nothing reads a layout field
 * from the shared header after attaching (the fntrace process, which made
 * the region, never reads one at all).  Every pointer into the region is
 * computed from these private copies.
 */
struct fnt_shm_layout {
	uint32_t nslots;
	uint32_t mode;		/* enum fnt_mode */
	uint32_t tracer;	/* enum fnt_tracer */
	uint32_t clock;		/* enum fnt_clock_kind */
	uint32_t follow_fork;
	uint32_t depth;
	uint32_t stall_ms;
	int32_t reader_pid;
	int32_t root_pid;
	uint64_t ring_words;
	uint64_t thresh_ticks;
	uint64_t images_off, objects_off, slots_off, rings_off, size;
};

#define FNT_SHM_MAX_SLOTS 65536
#define FNT_SHM_FIXED_SLOTS 1024	/* slot entries reserved at creation */
#define FNT_SHM_MIN_RING_WORDS 512	/* two FNT_RING_PAGEs (ring.h) */
#define FNT_SHM_MAX_RING_WORDS (1ull << 27)	/* 1 GiB */

static inline struct fnt_shm_image *fnt_shm_images(struct fnt_shm_hdr *h,
						   const struct fnt_shm_layout *l)
{
	return (struct fnt_shm_image *)((char *)h + l->images_off);
}

static inline struct fnt_shm_object *fnt_shm_objects(struct fnt_shm_hdr *h,
						     const struct fnt_shm_layout *l)
{
	return (struct fnt_shm_object *)((char *)h + l->objects_off);
}

/* i < l->nslots, checked by the caller. */
static inline struct fnt_shm_slot *fnt_shm_slot(struct fnt_shm_hdr *h,
						const struct fnt_shm_layout *l, uint32_t i)
{
	return (struct fnt_shm_slot *)((char *)h + l->slots_off) + i;
}

static inline uint64_t *fnt_shm_ring(struct fnt_shm_hdr *h, const struct fnt_shm_layout *l,
				     uint32_t i)
{
	return (uint64_t *)((char *)h + l->rings_off) + (uint64_t)i * l->ring_words;
}

/* Computes the layout of a region for nslots rings of ring_words words. */
size_t fnt__shm_layout(struct fnt_shm_hdr *h, uint32_t nslots, uint64_t ring_words);

/* Checks a copy of a header against the real size of its mapping and, if
 * it describes a region of this version that fits, fills *l.  Returns 0,
 * or -EPROTO with *why saying which field is wrong. */
int fnt__shm_check(const struct fnt_shm_hdr *copy, uint64_t real_size, struct fnt_shm_layout *l,
		   const char **why);

/* Creates the shared file (named in path, of size from the layout), reserves
 * its header, slots and first metadata records (fnt__shm_reserved_size()
 * bytes in all) and maps it; fills the header from *tmpl and *l with its
 * layout.  The file is flock()ed (LOCK_EX) by the caller for the rest of
 * its life, through a descriptor kept open (close-on-exec): a region whose
 * lock can be taken has no live creator, in any PID namespace.  Returns 0
 * or -errno (-ENOSPC: /dev/shm has no room for the reserved part). */
int fnt__shm_create(const char *path, const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out,
		    struct fnt_shm_layout *l);
/* Maps an existing region, checks its header (fnt__shm_check) and fills *l.
 * Returns 0 or -errno (-EPROTO: not a usable region of this version, *why
 * says why). */
int fnt__shm_attach(const char *path, struct fnt_shm_hdr **out, struct fnt_shm_layout *l,
		    const char **why);
/* The same for a region passed as a descriptor (a live session's, sent
 * over the control socket): fd stays the caller's. */
int fnt__shm_attach_fd(int fd, struct fnt_shm_hdr **out, struct fnt_shm_layout *l,
		       const char **why);
void fnt__shm_unmap(struct fnt_shm_hdr *h, const struct fnt_shm_layout *l);

/* The bytes fnt__shm_create() reserves for a region of this layout. */
uint64_t fnt__shm_reserved_size(const struct fnt_shm_hdr *h);

/*
 * Makes bytes [off, off + len) of the region exist, so that writing them
 * cannot fault with SIGBUS.  Returns 0, or -ENOMEM when the memory cannot
 * be had (tmpfs full, a memory limit), or another -errno.  A syscall (or a
 * few, on kernels before 5.14), no allocation, no lock, no libc call but
 * syscall wrappers: callable from a hook and a signal handler.
 */
int fnt__shm_reserve(struct fnt_shm_hdr *h, uint64_t off, uint64_t len);

/* A private anonymous region with the same layout, for tests. */
int fnt__shm_create_anon(const struct fnt_shm_hdr *tmpl, struct fnt_shm_hdr **out,
			 struct fnt_shm_layout *l);

#endif
