/*
 * runtime.c - start-up of libfntrace.so and the lifecycle of objects.
 *
 * The same file is loaded twice by 'fntrace record': as LD_PRELOAD (the
 * "main copy", which does everything) and as LD_AUDIT (the "audit copy",
 * which ld.so loads into a namespace of its own, with its own libc).  The
 * audit copy does one thing: it forwards la_objopen and la_objclose to the
 * main copy.  Why rtld-audit rather than interposing dlopen/dlclose:
 *
 *   - la_objopen runs after an object is mapped and before it is relocated
 *     or any of its constructors run, for dlopen'ed objects and for every
 *     dependency they pull in, whoever calls dlopen (libc's NSS too);
 *   - la_objclose runs after the object's destructors and before its
 *     memory is unmapped, only when it really goes (not for a dlclose that
 *     drops one reference of several), and for dependencies unloaded with it.
 *
 * A wrapped dlopen only sees an object after its constructors ran, in
 * threads we cannot stop, and a wrapped dlclose cannot know what will be
 * unmapped.  Those are exactly seed 000's failure.
 *
 * The two copies find each other without any symbol lookup: they are the
 * same file, so the main copy's rendezvous block lies at the same offset
 * from its load address as the audit copy's own.  The audit copy learns
 * the main copy's load address from la_objopen (same device and inode).
 *
 * Objects loaded at start-up (before the main copy could run) are taken
 * from the link map in the main copy's constructor; their sites are
 * converted only if the process still has a single thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "arch/arch.h"
#include "core/core.h"
#include "ctl/proto.h"
#include "runtime/runtime.h"
#include "util/env.h"
#include "util/errors.h"
#include "util/log.h"

/* The block the audit copy calls through. */
struct rendezvous {
	/* 1 once the main copy is initialized (release, pairs with the
	 * acquire load in the audit copy); 0 again when the process exits. */
	_Atomic int ready;
	void (*objopen)(struct link_map *map);
	void (*objclose)(struct link_map *map);
	/* Set by the audit copy when it found us. */
	_Atomic int audited;
};

__attribute__((visibility("hidden"))) struct rendezvous fnt__rv;

static fnt_object_fn object_hook;
static void *object_hook_data;

int fnt__begin(void)
{
	fnt__lock_take();
	if (atomic_load_explicit(&fnt__killed, memory_order_relaxed)) {
		fnt__lock_drop();
		return -ENODEV;
	}
	return 0;
}

void fnt__end(void)
{
	fnt__lock_drop();
}

void fnt__notify_object(struct fnt_object *o, int loaded)
{
	struct fnt_object_info info = {
		.id = o->id, .path = o->path, .bias = o->bias, .build_id = o->build_id,
		.build_id_len = o->build_id_len, .nsites = o->nsites,
	};

	if (object_hook)
		object_hook(&info, loaded, object_hook_data);
}

FNT_EXPORT int fnt_set_object_hook(fnt_object_fn fn, void *data)
{
	fnt__lock_take();
	object_hook = fn;
	object_hook_data = data;
	for (struct fnt_object *o = fnt__objects; o; o = o->next)
		fnt__notify_object(o, 1);
	fnt__lock_drop();
	return 0;
}

static int known(void *handle)
{
	for (struct fnt_object *o = fnt__objects; o; o = o->next)
		if (o->handle == handle)
			return 1;
	return 0;
}

/* Registers one object; the caller holds fnt__lock. */
static void add(struct link_map *map, int quiescent)
{
	char exe[4096];
	const char *path = map->l_name;
	ssize_t n;

	if (known(map))
		return;
	if (!path || !*path) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return;
		exe[n] = 0;
		path = exe;
	}
	if (fnt__object_add(path, map->l_addr, map, quiescent))
		return;
	/* The new object is at the head of the list. */
	if (fnt__apply_wants(fnt__objects) || (quiescent ? fnt__update_quiescent(fnt__objects) : fnt__update()))
		fnt__dbg(1, "could not enable the sites of %s", path);
	fnt__notify_object(fnt__objects, 1);
}

/*
 * Attached to a running process, the runtime has no LD_AUDIT: a dlclose()
 * could unmap an object under its records.  So it traces only objects that
 * stay mapped for good: the program, the objects it was linked with (the
 * closure of DT_NEEDED from the program: loaded at start-up, never
 * unloaded) and objects marked NODELETE.
 */
static const char *dyn_str(const ElfW(Dyn) *d, ElfW(Addr) strtab, ElfW(Sxword) tag, int i)
{
	for (; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == tag && !i--)
			return (const char *)(strtab + d->d_un.d_val);
	return NULL;
}

static ElfW(Addr) dyn_val(const ElfW(Dyn) *d, ElfW(Sxword) tag)
{
	for (; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == tag)
			return d->d_un.d_val;
	return 0;
}

/* The string table of map: the dynamic linker relocates DT_STRTAB in place,
 * but not in a read-only dynamic section (the vDSO's), which keeps the
 * offset from the load address. */
static ElfW(Addr) strtab_of(struct link_map *map)
{
	ElfW(Addr) a = dyn_val(map->l_ld, DT_STRTAB);

	return a && a < map->l_addr ? a + map->l_addr : a;
}

/* Is name (a DT_NEEDED entry) map's soname or file name? */
static int names(struct link_map *map, const char *name)
{
	ElfW(Addr) strtab = strtab_of(map);
	const char *so = strtab ? dyn_str(map->l_ld, strtab, DT_SONAME, 0) : NULL;
	const char *base = map->l_name ? strrchr(map->l_name, '/') : NULL;

	return (so && !strcmp(so, name)) || (base && !strcmp(base + 1, name)) ||
	       (map->l_name && !strcmp(map->l_name, name));
}

#define PERM_MAX 1024
static struct link_map *perm[PERM_MAX];
static int nperm;

static int is_perm(struct link_map *map)
{
	for (int i = 0; i < nperm; i++)
		if (perm[i] == map)
			return 1;
	return 0;
}

/* Does a permanent object need map? */
static int needed(struct link_map *map)
{
	for (int i = 0; i < nperm; i++) {
		ElfW(Addr) strtab = strtab_of(perm[i]);
		const char *n;

		for (int k = 0; strtab && (n = dyn_str(perm[i]->l_ld, strtab, DT_NEEDED, k)); k++)
			if (names(map, n))
				return 1;
	}
	return 0;
}

/* The permanent objects, to a fixed point (the link map is short). */
static void find_permanent(void)
{
	int more = 1;

	nperm = 0;
	perm[nperm++] = _r_debug.r_map;
	while (more) {
		more = 0;
		for (struct link_map *m = _r_debug.r_map; m && nperm < PERM_MAX; m = m->l_next)
			if (!is_perm(m) &&
			    ((dyn_val(m->l_ld, DT_FLAGS_1) & DF_1_NODELETE) || needed(m))) {
				perm[nperm++] = m;
				more = 1;
			}
	}
}

static void audit_objopen(struct link_map *map)
{
	fnt__lock_take();
	/* Mapped, not relocated, no constructor run: nobody runs it. */
	add(map, 1);
	fnt__lock_drop();
}

/*
 * Set once exit() has begun unloading.  ld.so's _dl_fini runs each
 * object's destructors and then its la_objclose, the main program first
 * (it keeps the main map at the head of its order), while other threads
 * still run traced code and later destructors may call any traced
 * function.  Nothing is unmapped at exit, so nothing may be released:
 * the main program's la_objclose is the sign, since dlclose never closes
 * it.  An atexit() handler of ours would come too late: ours is
 * registered before _dl_fini is, so it runs after it.
 */
static _Atomic int exiting;

static void audit_objclose(struct link_map *map)
{
	if (map == _r_debug.r_map)
		atomic_store_explicit(&exiting, 1, memory_order_relaxed);
	if (atomic_load_explicit(&exiting, memory_order_relaxed))
		return;
	fnt__lock_take();
	for (struct fnt_object *o = fnt__objects; o; o = o->next)
		if (o->handle == map)
			fnt__notify_object(o, 0);
	fnt__object_remove(map);
	fnt__lock_drop();
}

/*
 * The dynamic linker's debugger hook (arch rbrk_prepare), for an attached
 * runtime.  Timeline:
 *
 *   start():  the hook's bytes are checked and the call that replaces them
 *             is made ready (state PREPARED); HELLO shows both
 *   fntrace:  stops every other thread, checks the old bytes, writes the
 *             call, lets them go, says ARM
 *   ARM:      the bytes are checked again (state ARMED); objects there
 *             now that may be unloaded stay left out (see fnt__rtld_arm)
 *   a dlopen: RT_ADD, then RT_CONSISTENT once its objects are mapped and
 *             before their constructors run: new objects are added
 *   a dlclose: RT_DELETE before anything is unmapped: which objects go is
 *             not said, so every one that may be unloaded is removed; at
 *             RT_CONSISTENT the ones still there are added back
 *
 * The handler runs on the thread that loads or unloads, inside the dynamic
 * linker with its lock held, where LD_AUDIT's callbacks run too.
 */
enum { RBRK_NONE, RBRK_PREPARED, RBRK_ARMED };
static struct {
	uintptr_t at;
	uint8_t old[5], new_[5];
	void *page;
	int state;
	struct link_map *gone[PERM_MAX];	/* removed at the last RT_DELETE */
	int ngone;
	struct link_map *old_maps[PERM_MAX];	/* there when it was armed */
	int nold;
} rbrk;

static void rbrk_prepare(void)
{
	int r;

	rbrk.at = _r_debug.r_brk;
	if (!rbrk.at)
		return;
	r = fnt__arch.rbrk_prepare(rbrk.at, (const uint8_t *)rbrk.at, 16, rbrk.old, rbrk.new_,
				   &rbrk.page);
	if (r < 0) {
		fnt__dbg(1, "attached: the dynamic linker's hook at %#lx is not one we know (%s): "
			 "objects loaded later are not traced", (unsigned long)rbrk.at,
			 fnt__strerror(r));
		return;
	}
	rbrk.state = RBRK_PREPARED;
}

void fnt__rtld_describe(char *b, uint32_t cap, uint32_t *len)
{
	char v[80];

	if (rbrk.state == RBRK_ARMED) {
		fnt__ctl_put(b, cap, len, "rbrk", "armed");
	} else if (rbrk.state == RBRK_PREPARED) {
		snprintf(v, sizeof(v), "%lx %02x%02x%02x%02x%02x %02x%02x%02x%02x%02x",
			 (unsigned long)rbrk.at, rbrk.old[0], rbrk.old[1], rbrk.old[2], rbrk.old[3],
			 rbrk.old[4], rbrk.new_[0], rbrk.new_[1], rbrk.new_[2], rbrk.new_[3],
			 rbrk.new_[4]);
		fnt__ctl_put(b, cap, len, "rbrk", v);
	}
}

/* Under the dynamic linker's write lock (dl_iterate_phdr holds it, and a
 * dlclose unlinks and unmaps under it): the objects there now. */
static int snapshot(struct dl_phdr_info *info, size_t size, void *arg)
{
	rbrk.nold = 0;
	for (struct link_map *m = _r_debug.r_map; m && rbrk.nold < PERM_MAX; m = m->l_next)
		rbrk.old_maps[rbrk.nold++] = m;
	return 1;
}

/*
 * Objects that were there before the hook was armed stay untraced if they
 * may be unloaded: a dlclose of one may have passed its RT_DELETE before
 * (unheard) and be about to unmap it.  Those loaded from now on are seen
 * whole, from RT_ADD to their RT_DELETE.
 */
int fnt__rtld_arm(const char **why)
{
	if (rbrk.state != RBRK_PREPARED) {
		*why = rbrk.state == RBRK_ARMED ? "the hook is armed already" : "no hook prepared";
		return -EINVAL;
	}
	if (memcmp((const void *)rbrk.at, rbrk.new_, 5) != 0) {
		*why = "the dynamic linker's hook does not hold the call";
		return -EINVAL;
	}
	fnt__lock_take();
	dl_iterate_phdr(snapshot, NULL);
	__atomic_store_n(&rbrk.state, RBRK_ARMED, __ATOMIC_RELEASE);
	fnt__lock_drop();
	return 0;
}

static int rbrk_old(struct link_map *map)
{
	for (int i = 0; i < rbrk.nold; i++)
		if (rbrk.old_maps[i] == map)
			return 1;
	return 0;
}

static int rbrk_gone(struct link_map *map)
{
	for (int i = 0; i < rbrk.ngone; i++)
		if (rbrk.gone[i] == map)
			return 1;
	return 0;
}

__attribute__((visibility("hidden"))) void fnt__rbrk_hit(void)
{
	int saved = errno;

	if (__atomic_load_n(&rbrk.state, __ATOMIC_ACQUIRE) != RBRK_ARMED ||
	    atomic_load_explicit(&exiting, memory_order_relaxed))
		return;
	fnt__in_runtime++;
	fnt__lock_take();
	if (_r_debug.r_state == RT_DELETE) {
		struct fnt_object *o;

		/* Collected first: removing changes the list. */
		rbrk.ngone = 0;
		for (o = fnt__objects; o && rbrk.ngone < PERM_MAX; o = o->next)
			if (o->handle && !is_perm(o->handle))
				rbrk.gone[rbrk.ngone++] = o->handle;
		for (int i = 0; i < rbrk.ngone; i++) {
			for (o = fnt__objects; o; o = o->next)
				if (o->handle == rbrk.gone[i])
					fnt__notify_object(o, 0);
			fnt__object_remove(rbrk.gone[i]);
		}
	} else if (_r_debug.r_state == RT_CONSISTENT) {
		/* New objects are not running yet; those removed at RT_DELETE
		 * that are still here may be. */
		for (struct link_map *map = _r_debug.r_map; map; map = map->l_next)
			if (is_perm(map) || !rbrk_old(map))
				add(map, !rbrk_gone(map));
		rbrk.ngone = 0;
	}
	fnt__lock_drop();
	fnt__in_runtime--;
	errno = saved;
}

static int nthreads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 2;	/* unknown: assume the worst */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void at_exit(void)
{
	/* The audit copy forwards nothing more (see exiting above). */
	atomic_store_explicit(&exiting, 1, memory_order_relaxed);
	atomic_store_explicit(&fnt__rv.ready, 0, memory_order_release);
	fnt__agent_exit();
}

void fnt__fork_prepare(void)
{
	fnt__recorder_before_fork();
	/* No fork in the middle of a batch: the child would inherit a held
	 * lock and a published descriptor with no patcher to finish it. */
	fnt__lock_take();
}

void fnt__fork_parent(void)
{
	fnt__lock_drop();
}

void fnt__fork_child(void)
{
	pthread_mutexattr_t a;

	/*
	 * Not an unlock: the owner recorded in a recursive mutex is the
	 * parent thread's id, and this thread has a new one, so unlocking
	 * would fail with EPERM.  Nobody else exists to hold it: start over.
	 */
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&fnt__lock, &a);
	pthread_mutexattr_destroy(&a);
	/* Still the runtime's work until the end of this handler. */
	/* membarrier registration belongs to the mm, which is new. */
	fnt__arch.init();
	fnt__hooks_fork_child();
	fnt__recorder_fork_child();
	/* The lock taken in fnt__fork_prepare() was made anew, not dropped. */
	fnt__in_runtime--;
}

/* fork()'s child handler: a raw clone that makes a process runs
 * fnt__fork_child() alone (clone.c), since only fork() leaves libc able to
 * start a thread in the child. */
static void atfork_child(void)
{
	fnt__fork_child();
	fnt__in_runtime++;
	fnt__agent_fork_child();
	fnt__in_runtime--;
}

/* Which namespace is this copy in?  LM_ID_BASE for the main copy. */
static Lmid_t my_lmid(struct link_map **self)
{
	Dl_info info;
	struct link_map *lm = NULL;
	Lmid_t id = LM_ID_BASE;

	if (dladdr1((void *)&my_lmid, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm) {
		*self = lm;
		if (dlinfo(lm, RTLD_DI_LMID, &id))
			id = LM_ID_BASE;
	}
	return id;
}

static void start(void)
{
	struct link_map *map;
	const char *dbg, *delay;
	int ret, quiescent;

	fnt__env_init();
	dbg = fnt__env("FNTRACE_DEBUG");
	if (dbg)
		fnt__verbose = atoi(dbg);
	/* Test hook (seed 003): make the trap handler slow, so that traps
	 * outlive the batch that caused them. */
	delay = fnt__env("FNTRACE_TEST_TRAP_DELAY_NS");
	if (delay)
		fnt__trap_delay_ns = atol(delay);
	fnt__hooks_init();
	ret = fnt__arch.init();
	if (!ret)
		ret = fnt__signals_init();
	if (ret) {
		fnt__kill("cannot prepare live patching: %s", fnt__strerror(ret));
		return;
	}
	pthread_atfork(fnt__fork_prepare, fnt__fork_parent, atfork_child);
	atexit(at_exit);

	fnt__lock_take();
	fnt__rv.objopen = audit_objopen;
	fnt__rv.objclose = audit_objclose;
	/* release: pairs with the acquire in la_objopen of the audit copy. */
	atomic_store_explicit(&fnt__rv.ready, 1, memory_order_release);
	quiescent = nthreads() == 1;
	if (fnt__attached) {
		find_permanent();
		rbrk_prepare();
	}
	for (map = _r_debug.r_map; map; map = map->l_next)
		if (!fnt__attached || is_perm(map))
			add(map, quiescent);
		else
			fnt__dbg(1, "attached: %s may be unloaded without a word to the runtime "
				 "(no LD_AUDIT): not traced", map->l_name);
	fnt__lock_drop();
	if (!atomic_load_explicit(&fnt__rv.audited, memory_order_relaxed))
		fnt__dbg(1, "not loaded as LD_AUDIT: objects loaded later by dlopen are not traced");
	fnt__recorder_init();
	fnt__agent_init();
}

__attribute__((constructor)) static void init(void)
{
	struct link_map *self = NULL;

	if (my_lmid(&self) != LM_ID_BASE)
		return;		/* the audit copy: see la_objopen below */
	fnt__in_runtime++;
	fnt__attach_detect();
	start();
	fnt__in_runtime--;
}

/* Weak defaults: the recorder (recorder.c) overrides them when present. */
__attribute__((weak)) void fnt__recorder_init(void)
{
}

__attribute__((weak)) void fnt__recorder_fork_child(void)
{
}

__attribute__((weak)) void fnt__recorder_before_fork(void)
{
}

/* --- the audit copy ---------------------------------------------------- */

static struct rendezvous *peer;
static dev_t my_dev;
static ino_t my_ino;

FNT_EXPORT unsigned int la_version(unsigned int version)
{
	struct link_map *self = NULL;
	struct stat st;

	my_lmid(&self);
	if (self && !stat(self->l_name, &st)) {
		my_dev = st.st_dev;
		my_ino = st.st_ino;
	}
	return version < LAV_CURRENT ? version : LAV_CURRENT;
}

FNT_EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	struct link_map *self = NULL;
	struct stat st;

	*cookie = (uintptr_t)map;
	if (lmid != LM_ID_BASE)
		return 0;
	if (!peer && map->l_name && *map->l_name && !stat(map->l_name, &st) &&
	    st.st_dev == my_dev && st.st_ino == my_ino) {
		my_lmid(&self);
		if (self) {
			peer = (struct rendezvous *)(map->l_addr +
						     ((uintptr_t)&fnt__rv - self->l_addr));
			/* Mapped, not yet initialized: a plain store is all it takes. */
			atomic_store_explicit(&peer->audited, 1, memory_order_relaxed);
		}
		return 0;
	}
	/* acquire: pairs with the release in the main copy's init(). */
	if (peer && atomic_load_explicit(&peer->ready, memory_order_acquire))
		peer->objopen(map);
	return 0;
}

FNT_EXPORT unsigned int la_objclose(uintptr_t *cookie)
{
	if (peer && atomic_load_explicit(&peer->ready, memory_order_acquire))
		peer->objclose((struct link_map *)*cookie);
	return 0;
}
