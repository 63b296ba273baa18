/*
 * core.h - site records, objects and the update engine (generic code).
 *
 * Nothing here knows an instruction byte: the arch layer (src/arch/arch.h)
 * classifies sites, owns their bytes and runs the live-patching protocol.
 *
 * Ownership: every object and its sites belong to the runtime and are
 * created and destroyed only under fnt__lock.  The tracing hot path reads
 * them without a lock; that is safe because an object is freed only after
 * its code can no longer run (rtld-audit la_objclose, after destructors),
 * and because a site's record is never moved while the object lives.
 */
#ifndef FNT_CORE_CORE_H
#define FNT_CORE_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fntrace.h"
#include "core/elf.h"

/* Site flags (fnt_site.flags), kernel dyn_ftrace style. */
#define FNT_SITE_ENABLED   0x01	/* the bytes are a call to the trampoline */
#define FNT_SITE_FAILED    0x02	/* refused or failed: never patched again */

struct fnt_site {
	uintptr_t addr;		/* run-time address of the patchable bytes */
	uint32_t name;		/* offset of its name in obj->strs */
	uint16_t flags;		/* FNT_SITE_* */
	uint8_t form;		/* arch classification (opaque here) */
	uint8_t len;		/* bytes the arch owns at addr */
	/*
	 * Which fnt_ops slots want this site (bit 0: the built-in tracer).
	 * Written under fnt__lock; read on the hot path with relaxed loads:
	 * a stale read calls or skips one callback around a change, which is
	 * the same race any live toggle has.
	 */
	_Atomic uint32_t want;
	/*
	 * An entry site: 1 while every exit site of its function is enabled,
	 * so that its calls' returns need not be hooked (the exit sites
	 * report them).  Set by the engine after a batch, read by the hooks.
	 */
	_Atomic uint8_t exits_live;
};

/* One executable range of an object, with its protection at load. */
struct fnt_xseg {
	uintptr_t lo, hi;
	int prot;
};

struct fnt_object {
	uint32_t id;
	char *path;
	uintptr_t bias;
	void *handle;		/* the rtld link_map, to match la_objclose */
	struct fnt_site *sites;	/* sorted by addr */
	uint32_t nsites;
	/*
	 * Exit sites (a NOP before each return and tail jump, from
	 * __return_loc), sorted by addr; exit_of[i] is the index in sites of
	 * the entry of the function exits[i] leaves.  Named like that entry.
	 * Only exits with an entry are kept.
	 */
	struct fnt_site *exits;
	uint32_t *exit_of;
	/* For an exit site before a direct tail jump to a site of this
	 * object: that entry's index + 1; else 0. */
	uint32_t *tail_to;
	uint32_t nexits;
	uint32_t *xhash;	/* as hash, for exits */
	uint32_t xhmask;
	uint32_t *hash;		/* site index + 1 by address hash, 0 = empty */
	uint32_t hmask;
	char *strs;		/* names (from the ELF reader), owned */
	struct fnt_xseg xsegs[4];
	int nxsegs;
	void *arch;		/* the arch layer's per-object state */
	uint8_t build_id[64];
	size_t build_id_len;
	int refused;		/* 1: no site of this object is patched */
	struct fnt_object *next;
};

/*
 * The fnt_ops slots whose ops has an exit callback (bit per slot).  Kept by
 * the runtime's fnt__ops_publish(); the engine enables exit sites only for
 * functions such an ops wants, and keeps them enabled while any exists: a
 * call in flight may have been entered with its return left unhooked.
 */
extern _Atomic uint32_t fnt__exit_ops;

/* The patch lock: serializes every change of records and code. */
extern pthread_mutex_t fnt__lock;
/*
 * Non-zero while the runtime's own work runs on this thread: start-up,
 * fork handlers, object load and unload, the API.  That work may call
 * functions the program defines and compiled with the tracing flags (its
 * own malloc or getenv); the hooks skip those calls, which are not the
 * program's.
 */
extern __thread int fnt__in_runtime;

/* Takes and drops fnt__lock, as the runtime's own work. */
static inline void fnt__lock_take(void)
{
	fnt__in_runtime++;
	pthread_mutex_lock(&fnt__lock);
}

static inline void fnt__lock_drop(void)
{
	pthread_mutex_unlock(&fnt__lock);
	fnt__in_runtime--;
}
/* The kill switch: set once, never cleared (ftrace_disabled).  Read by
 * the trampolines with relaxed loads; see fnt__kill(). */
extern _Atomic int fnt__killed;
extern struct fnt_object *fnt__objects;
/* The anomaly report, once fnt__killed is set. */
extern char fnt__report[1024];

/* Statistics, updated under fnt__lock unless noted. */
struct fnt_stats {
	uint64_t batches;
	_Atomic uint64_t traps;		/* from the trap handler */
	_Atomic uint64_t recursion_skips; /* from the hot path */
	_Atomic uint64_t depth_overflows; /* from the hot path */
};
extern struct fnt_stats fnt__stats;

/* Reports an anomaly once and disables patching for good.  Callers hold
 * fnt__lock.  phase names what was being done ("enable", "disable", ...). */
void fnt__site_bug(const struct fnt_object *obj, const struct fnt_site *site, int err,
		   const char *phase, const uint8_t *expected, const uint8_t *actual, size_t len);
/* Disables patching for good with a free-form reason. */
void fnt__kill(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline const char *fnt__site_name(const struct fnt_object *o, const struct fnt_site *s)
{
	return o->strs + s->name;
}

/* The slot of addr in an object's site tables (object.c builds them). */
static inline uint32_t fnt__addr_hash(uintptr_t addr, uintptr_t bias, uint32_t mask)
{
	return (uint32_t)(((addr - bias) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* The index of the site at addr among sites, through its open-addressing
 * table (index + 1 per slot, 0 empty), lock-free.  -1 if none. */
static inline int32_t fnt__hash_find(const uint32_t *hash, uint32_t mask,
				     const struct fnt_site *sites, uintptr_t bias, uintptr_t addr)
{
	uint32_t h = fnt__addr_hash(addr, bias, mask);

	for (;;) {
		uint32_t i = hash[h];

		if (!i)
			return -1;
		if (sites[i - 1].addr == addr)
			return (int32_t)(i - 1);
		h = (h + 1) & mask;
	}
}

/* The index of the site at addr in obj, lock-free.  -1 if none. */
static inline int32_t fnt__site_index(const struct fnt_object *o, uintptr_t addr)
{
	return fnt__hash_find(o->hash, o->hmask, o->sites, o->bias, addr);
}

/* The index of the exit site at addr in obj, lock-free.  -1 if none. */
static inline int32_t fnt__exit_index(const struct fnt_object *o, uintptr_t addr)
{
	return o->xhash ? fnt__hash_find(o->xhash, o->xhmask, o->exits, o->bias, addr) : -1;
}

/* Finds the site at addr in obj, lock-free.  NULL if none. */
static inline struct fnt_site *fnt__site_find(const struct fnt_object *o, uintptr_t addr)
{
	int32_t i = fnt__site_index(o, addr);

	return i < 0 ? NULL : &o->sites[i];
}

/* Builds obj->hash.  Returns 0 or -ENOMEM. */
int fnt__object_index(struct fnt_object *o);

/*
 * Registers the object mapped at bias from path: reads its tables,
 * verifies the file is the one mapped, classifies and (when quiescent)
 * converts its sites, and applies the wanted states.  quiescent means no
 * thread can be running the object's code (rtld-audit la_objopen, or a
 * single-threaded process).  Returns 0, or -errno (the object then has
 * no records).
 */
int fnt__object_add(const char *path, uintptr_t bias, void *handle, int quiescent);
/* Releases the records of the object with this rtld handle. */
void fnt__object_remove(void *handle);

/* The engine: brings every site to its wanted state.  Returns 0 or -errno. */
int fnt__update(void);

/* The engine, for one object nobody can be running (la_objopen).  Returns 0 or -errno. */
int fnt__update_quiescent(struct fnt_object *o);

/* Sets (set=1) or clears bit in the want mask of the sites matching filter
 * (NULL: all), in object only (NULL: all).  Returns 0 or -EINVAL with err. */
int fnt__mark(struct fnt_object *only, const char *filter, uint32_t bit, int set, char *err,
	      size_t errlen);

#endif
