/*
 * recorder.c - the in-process side of `fntrace record` and of a recording
 * started from outside (`fntrace record -p`, through the agent).
 *
 * A recording is a session: it attaches to a shared region (named by
 * FNTRACE_SHM at start-up, or passed by the agent), registers the
 * built-in tracer's callbacks (function or function_graph), describes every
 * object the runtime knows into the region's metadata area, and patches the
 * wanted sites with fnt_enable()/fnt_disable().  It uses the public API of
 * fntrace.h only, but for one internal call: fnt__set_builtin(), which
 * installs its callbacks as vector-free (called without saving the
 * extended state; everything they run is built -mgeneral-regs-only and
 * calls no libc routine that uses vector registers) and names the direct
 * path (direct.c) that does what they do for sites no other ops wants.
 * That path reads the state of rec_hot.h, which only this file writes.
 *
 * Per-thread state lives in one __thread struct (initial-exec TLS: no
 * allocation, no lock on access).  A thread takes a ring at its first event
 * and gives it back from a pthread key destructor at exit; a thread that
 * never returns it (exit(), a crash, SIGKILL) leaves a ring the fntrace
 * process drains once the process is gone.
 *
 * Trouble never stops the program: the recorder logs one line and stops
 * recording.
 *
 * Sessions begin and end while every thread runs.  Each has a number
 * (gen), kept in the owner word (below) while it lasts and 0 otherwise; a
 * thread's writer belongs to the session whose number it holds, so after
 * an end nobody touches the old region, and at the next begin every
 * thread takes a ring of the new one.  The end, on the agent's thread:
 *
 *   agent                                 a traced thread
 *   -----                                 ---------------
 *   stopping = 1 (waiting writers give up;
 *     not yet if the reader drains: below)
 *   every site a NOP again, quiesce       hooks already inside finish
 *   built-in callbacks detached, quiesce  no callback of ours runs now
 *   *owner = 0 (seq_cst)                  exit destructor: closers++ (seq_cst),
 *   wait until closers == 0                 then reads *owner: 0, no write
 *   unmap the region
 */
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fntrace.h"
#include "ring/clock.h"
#include "ring/ring.h"
#include "runtime/rec_hot.h"
#include "runtime/recorder.h"
#include "runtime/runtime.h"
#include "ctl/proto.h"
#include "util/env.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/sys.h"

/* function_graph with --time-threshold keeps entry times on a per-thread
 * stack this deep; deeper calls are not timed. */
#define THRESH_STACK 512

static struct fnt_shm_hdr *shm;
/* The region's layout and settings, copied and checked once at attach:
 * any traced process can rewrite the shared header at any moment. */
static struct fnt_shm_layout lay;
static int rec_on;		/* 0 until set up, and after trouble */
static int gen;			/* sessions begun in this process */
/* The ring writers' stop word (ring.h): set when the session is ending
 * or a writer gave up; read by waiting writers. */
static int stopping;
/* Exit destructors running now: the end waits for them (see above). */
static int closers;
static int key_made;
static int session_kind;	/* enum fnt_rec_kind while a session lasts */
/* The tracer now: the region's, until fntrace ctl --tracer changes it
 * (the events say what they are, so the reader takes either). */
static uint32_t cur_tracer;
static char cur_filter[FNT_REC_FILTER_MAX], cur_notrace[FNT_REC_FILTER_MAX];
static uint32_t image_id;
static uint64_t thresh;
static int my_pid;
static pthread_key_t exit_key;
static uint64_t skips_base;	/* the runtime's recursion_skips when this process began */
static uint64_t skips_at_fork;	/* read by the forking thread, before the fork */
__thread struct fnt_rec_thread fnt__rec_self;
/*
 * The running session's number in the process that set it up, 0 between
 * sessions and in any child it did not see being made: the page holding
 * it is wiped by the kernel in every new process (MADV_WIPEONFORK),
 * however it was made (fork(), a raw clone, a clone whose fork handlers
 * never ran).  A ring writer is used only while it holds the number read
 * here, so a child never writes into a ring of its parent's; the fork
 * handler sets it again once the child has rings of its own.
 */
static int owner_fallback;
struct fnt_rec_session fnt__rec = { .owner = &owner_fallback };
/* This image's records in the objects area, so that unload and fork need
 * not scan the records of every process. */
#define MY_OBJS_MAX 4096
static uint32_t my_objs[MY_OBJS_MAX];
static uint32_t n_my_objs;

static int gettid_(void)
{
	return (int)fnt__sys(SYS_gettid);
}

static void stop(const char *why)
{
	if (__atomic_exchange_n(&rec_on, 0, __ATOMIC_RELAXED))
		fnt__log("recording stopped: %s", why);
}

static void thread_exit(void *p)
{
	struct fnt_rec_thread *t = p;

	/* seq_cst, both: pairs with the end's store of *owner and its load
	 * of closers (a Dekker pair: one of the two sees the other). */
	__atomic_fetch_add(&closers, 1, __ATOMIC_SEQ_CST);
	if (t->w.slot && t->gen && t->gen == __atomic_load_n(fnt__rec.owner, __ATOMIC_SEQ_CST))
		fnt__ring_writer_close(&t->w);
	__atomic_fetch_sub(&closers, 1, __ATOMIC_RELEASE);
	t->keyed = 0;
	/* The threshold's entry times (thresh_entry) go with the thread; a
	 * traced call later in its teardown maps them again (and sets the
	 * key again).  NULL first: thresh_exit then ignores the call. */
	if (t->stack) {
		uint64_t *st = t->stack;

		t->stack = NULL;
		munmap(st, THRESH_STACK * sizeof(uint64_t));
	}
}

/* A writer gave up waiting (stall limit, reader gone): the others stop
 * waiting too, and the agent ends the session. */
static void stalled(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	fnt__agent_wake();
}

static void writer_opened(struct fnt_rec_thread *t)
{
	t->w.stop = &stopping;
	t->w.on_stall = stalled;
	t->gen = *fnt__rec.owner;
}

/* Lossless mode, every ring taken (or no memory for a new one): rings of
 * exited threads come back, backed, as soon as the reader has drained
 * them, so wait for that a while (not forever: every ring may belong to a
 * live thread).  Returns 0, or the last -errno of fnt__ring_writer_open(). */
static int wait_ring(struct fnt_rec_thread *t)
{
	int err = -EBUSY;

	for (int i = 0; i < 100; i++) {
		struct timespec to = { 0, 2000000 };
		uint32_t seq = __atomic_load_n(&shm->drained, __ATOMIC_ACQUIRE);

		__atomic_fetch_add(&shm->waiters, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&shm->kick, 1, __ATOMIC_RELEASE);
		fnt__sys(SYS_futex, &shm->kick, FUTEX_WAKE, 1, NULL, NULL, 0);
		fnt__sys(SYS_futex, &shm->drained, FUTEX_WAIT, seq, &to, NULL, 0);
		__atomic_fetch_sub(&shm->waiters, 1, __ATOMIC_SEQ_CST);
		err = fnt__ring_writer_open(&t->w, shm, &lay, my_pid, gettid_(), image_id);
		if (err == 0)
			return 0;
		if (__atomic_load_n(&stopping, __ATOMIC_RELAXED))
			break;
	}
	return err;
}

static int open_writer(struct fnt_rec_thread *t);

/* Slow path: the thread's first event (or first since its ring went back).
 * Returns 0, or -errno: the caller counts its event(s) lost (also when a
 * signal handler's call comes while this very thread is opening one). */
static int open_thread(struct fnt_rec_thread *t)
{
	int err;

	if (!__atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		return -ENODEV;
	if (t->opening)
		return -EBUSY;
	t->opening = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	err = open_writer(t);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->opening = 0;
	return err;
}

static int open_writer(struct fnt_rec_thread *t)
{
	int err;

	/* A process made without our fork handlers: its events are lost,
	 * counted in the region it shares with its parent. */
	if (!*fnt__rec.owner)
		return -ECHILD;
	if (t->gen != *fnt__rec.owner) {
		/* The first attempt in this session: a writer of an earlier
		 * one is forgotten (its region is gone).  The number is taken
		 * now, not at success, so that a thread that finds no ring
		 * keeps its retry count (and waits once, not at every event). */
		memset(&t->w, 0, sizeof(t->w));
		t->retry = 0;
		t->gen = *fnt__rec.owner;
	}
	/* No ring was free: retry every 1024 events only (a scan of the
	 * slots each time would be slow). */
	if (t->retry && (++t->retry & 1023))
		return -EBUSY;
	err = fnt__ring_writer_open(&t->w, shm, &lay, my_pid, gettid_(), image_id);
	if ((err == -EBUSY || err == -ENOMEM) && !t->retry && lay.mode == FNT_MODE_LOSSLESS)
		err = wait_ring(t);
	if (err == 0)
		writer_opened(t);
	if (err < 0) {
		t->nomem = err == -ENOMEM;
		if (!t->retry && t->nomem) {
			static int said;

			__atomic_fetch_add(&shm->nomem_threads, 1, __ATOMIC_RELAXED);
			/* Once per process: the cause is the machine's, and the
			 * fntrace process sums it up at the end. */
			if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
				fnt__log("no room in /dev/shm for a ring of %lu KB (thread %d): the "
					 "events of threads without a ring are lost (counted); use a "
					 "smaller --buffer-size or enlarge /dev/shm",
					 (unsigned long)(lay.ring_words * 8 / 1024), gettid_());
		} else if (!t->retry) {
			static int said;

			/* Once per process; the fntrace process counts the loss. */
			if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
				fnt__log("no free ring for thread %d (all %u rings are taken, see "
					 "FNTRACE_RINGS): the events of threads without a ring are "
					 "lost (counted)", gettid_(), lay.nslots);
		}
		t->retry = 1;
		return err;
	}
	t->retry = 0;
	if (!t->keyed) {
		/* The destructor runs again if a traced call reopens the ring
		 * during thread teardown (glibc re-runs non-NULL keys). */
		pthread_setspecific(exit_key, t);
		t->keyed = 1;
	}
	return 0;
}

/* Has the thread a ring?  If not, n events are lost (an entry whose exit
 * will not be hooked either counts 2). */
static inline int ready(struct fnt_rec_thread *t, unsigned n)
{
	if (__builtin_expect(fnt__rec_ready(t), 1) || open_thread(t) == 0)
		return 1;
	if (__atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		__atomic_fetch_add(t->nomem ? &shm->lost_nomem : &shm->lost_noslot, n,
				   __ATOMIC_RELAXED);
	return 0;
}

static inline int encodable(const struct fnt_call *c, unsigned n)
{
	if (__builtin_expect(c->object_id <= FNT_EV_OBJ_MAX && c->site_index <= FNT_EV_IDX_MAX, 1))
		return 1;
	fnt_local_add(&fnt__rec_self.w.slot->lost, n);
	return 0;
}

static int func_entry(const struct fnt_call *c, void *data)
{
	struct fnt_rec_thread *t = &fnt__rec_self;

	if (!ready(t, 1) || !encodable(c, 1))
		return FNT_SKIP_EXIT;
	fnt_ring_emit(&t->w, FNT_EV_FUNC, c->object_id, c->site_index,
		      fnt_clock_read(fnt__rec.clock), c->parent_ip);
	return FNT_SKIP_EXIT;
}

static int graph_entry(const struct fnt_call *c, void *data)
{
	struct fnt_rec_thread *t = &fnt__rec_self;

	uint32_t md = __atomic_load_n(&fnt__rec.max_depth, __ATOMIC_RELAXED);

	if (md && c->depth >= md)
		return FNT_SKIP_EXIT;
	if (!ready(t, 2) || !encodable(c, 2))
		return FNT_SKIP_EXIT;
	if (__builtin_expect(c->depth >= FNT_REC_GRAPH_MAX_DEPTH, 0)) {
		fnt_ring_emit(&t->w, FNT_EV_FUNC, c->object_id, c->site_index,
			      fnt_clock_read(fnt__rec.clock), c->parent_ip);
		return FNT_SKIP_EXIT;
	}
	fnt_ring_emit(&t->w, FNT_EV_ENTRY, c->object_id, c->site_index,
		      fnt_clock_read(fnt__rec.clock), 0);
	return 0;
}

static void graph_exit(const struct fnt_call *c, void *data)
{
	struct fnt_rec_thread *t = &fnt__rec_self;
	unsigned type = (c->flags & FNT_CALL_UNWOUND) ? FNT_EV_UNWOUND : FNT_EV_EXIT;

	if (!ready(t, 1))
		return;
	fnt_ring_emit(&t->w, type, c->object_id, c->site_index, fnt_clock_read(fnt__rec.clock), 0);
}

/* function_graph with a threshold: nothing at entry but the time; at exit,
 * one record if the call lasted long enough (ftrace's tracing_thresh). */
static int thresh_entry(const struct fnt_call *c, void *data)
{
	struct fnt_rec_thread *t = &fnt__rec_self;

	uint32_t md = __atomic_load_n(&fnt__rec.max_depth, __ATOMIC_RELAXED);

	if ((md && c->depth >= md) || c->depth >= THRESH_STACK)
		return FNT_SKIP_EXIT;
	if (!ready(t, 1) || !encodable(c, 1))
		return FNT_SKIP_EXIT;
	if (__builtin_expect(!t->stack, 0)) {
		/* mmap, not malloc: we may be in a signal handler. */
		void *p = mmap(NULL, THRESH_STACK * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return FNT_SKIP_EXIT;
		t->stack = p;
	}
	t->stack[c->depth] = fnt_clock_read(fnt__rec.clock);
	return 0;
}

static void thresh_exit(const struct fnt_call *c, void *data)
{
	struct fnt_rec_thread *t = &fnt__rec_self;
	uint64_t now = fnt_clock_read(fnt__rec.clock), d;

	if (!t->stack || c->depth >= THRESH_STACK || !ready(t, 1))
		return;
	/* 0: the call began before the threshold was set (fntrace ctl). */
	if (!t->stack[c->depth])
		return;
	d = now - t->stack[c->depth];
	t->stack[c->depth] = 0;
	if (d < __atomic_load_n(&thresh, __ATOMIC_RELAXED) || (c->flags & FNT_CALL_UNWOUND))
		return;
	if (d > FNT_EV_DUR_MASK)
		d = FNT_EV_DUR_MASK;
	fnt_ring_emit(&t->w, FNT_EV_EXIT_DUR, c->object_id, c->site_index, now,
		      ((uint64_t)(c->depth & 0xff) << 48) | d);
}

static void copy_str(char *dst, const char *src, size_t n)
{
	/* Bounded: src may be a record in the shared region, whose NUL any
	 * traced process may have overwritten. */
	size_t l = src ? strnlen(src, n) : 0;

	if (l >= n)
		l = n - 1;
	memcpy(dst, src ? src : "", l);
	dst[l] = 0;
}

/*
 * Claims the next record of a metadata area (count, of max records of size
 * bytes at offset area): reserves the record's memory first, then takes
 * its index, so that every index below the count is backed and the reader,
 * which reads up to the count, never touches a hole.  Returns the index,
 * -ENOSPC when the area is full, or -ENOMEM when /dev/shm is.
 */
static int claim(uint32_t *count, uint32_t max, uint64_t area, size_t size)
{
	uint32_t i = __atomic_load_n(count, __ATOMIC_RELAXED);

	for (;;) {
		if (i >= max)
			return -ENOSPC;
		if (fnt__shm_reserve(shm, area + (uint64_t)i * size, size) < 0)
			return -ENOMEM;
		if (__atomic_compare_exchange_n(count, &i, i + 1, 0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return (int)i;
	}
}

/* Appends a record to the objects area.  Returns its index, -ENOSPC or
 * -ENOMEM (see claim()). */
static int add_object(uint32_t image, uint32_t id, const char *path, uint64_t bias,
		      uint32_t nsites, const uint8_t *bid, size_t bidlen)
{
	int i = claim(&shm->nobjects, FNT_SHM_MAX_OBJECTS, lay.objects_off,
		      sizeof(struct fnt_shm_object));
	struct fnt_shm_object *o;

	if (i < 0)
		return i;
	o = &fnt_shm_objects(shm, &lay)[i];
	o->image = image;
	o->obj_id = id;
	o->bias = bias;
	o->nsites = nsites;
	if (bidlen > sizeof(o->build_id))
		bidlen = sizeof(o->build_id);
	o->build_id_len = (uint32_t)bidlen;
	if (bidlen)
		memcpy(o->build_id, bid, bidlen);
	copy_str(o->path, path, sizeof(o->path));
	/* Pairs with the fntrace process's acquire load of ->ready. */
	__atomic_store_n(&o->ready, 1, __ATOMIC_RELEASE);
	if (image == image_id && n_my_objs < MY_OBJS_MAX)
		my_objs[n_my_objs++] = (uint32_t)i;
	return i;
}

static void object_hook(const struct fnt_object_info *obj, int loaded, void *data)
{
	char real[PATH_MAX];
	const char *path = obj->path;
	struct fnt_shm_object *objs = fnt_shm_objects(shm, &lay);
	int err;

	if (loaded) {
		/* The fntrace process reads the file later, maybe from another
		 * directory: give it an absolute path. */
		if (path && path[0] && path[0] != '/' && realpath(path, real))
			path = real;
		if ((!path || !path[0])) {
			ssize_t l = readlink("/proc/self/exe", real, sizeof(real) - 1);

			real[l > 0 ? l : 0] = 0;
			path = real;
		}
		err = add_object(image_id, obj->id, path, obj->bias, obj->nsites, obj->build_id,
				 obj->build_id_len);
		if (err < 0)
			stop(err == -ENOMEM ? "no room in /dev/shm to describe an object"
					    : "too many objects");
		return;
	}
	for (uint32_t k = n_my_objs; k-- > 0;) {
		struct fnt_shm_object *o = &objs[my_objs[k]];

		if (o->obj_id == obj->id && !o->unloaded) {
			__atomic_store_n(&o->unloaded, 1, __ATOMIC_RELEASE);
			break;
		}
	}
}

/* Objects without sites (libc, ...) are described too, under ids the
 * runtime never gives, so the reader can name callers in them. */
#define UNTRACED_ID_BASE 0x80000000u

static int add_untraced(struct dl_phdr_info *info, size_t size, void *data)
{
	uint32_t *n = data;
	char exe[PATH_MAX];
	const char *path = info->dlpi_name;

	if (!path || !path[0]) {
		ssize_t l;

		if (*n != 0)
			return 0;	/* the vDSO */
		l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[l > 0 ? l : 0] = 0;
		path = exe;
	}
	if (path[0] == '/' && strstr(path, "libfntrace") == NULL)
		add_object(image_id, UNTRACED_ID_BASE + *n, path, info->dlpi_addr, 0, NULL, 0);
	(*n)++;
	return 0;
}

/* Describes this process image.  Returns its id, -ENOSPC or -ENOMEM. */
static int add_image(uint32_t parent)
{
	int i = claim(&shm->nimages, FNT_SHM_MAX_IMAGES, lay.images_off,
		      sizeof(struct fnt_shm_image));
	struct fnt_shm_image *im;
	ssize_t l;

	if (i < 0)
		return i;
	im = &fnt_shm_images(shm, &lay)[i];
	im->pid = my_pid;
	im->parent = parent;
	l = readlink("/proc/self/exe", im->exe, sizeof(im->exe) - 1);
	im->exe[l > 0 ? l : 0] = 0;
	/* Pairs with the fntrace process's acquire load of ->ready. */
	__atomic_store_n(&im->ready, 1, __ATOMIC_RELEASE);
	return i;
}

/* Calls the runtime did not report because a callback was running on the
 * thread (a signal handler's calls, say) are lost events: count them, at
 * exit, as the runtime counts them. */
static uint64_t runtime_skips(void)
{
	/* Not fnt_status(): that takes the patch lock, which exit must
	 * never wait for (the agent may hold it, ending a recording). */
	return atomic_load_explicit(&fnt__stats.recursion_skips, memory_order_relaxed);
}

/* Called by the runtime's fork preparation before it takes its lock (any
 * fork: fork(), or a clone() that makes a process). */
void fnt__recorder_before_fork(void)
{
	if (shm && __atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		skips_at_fork = runtime_skips();
}

/* Calls the runtime skipped while this session ran are its lost events. */
static void count_skips(void)
{
	uint64_t n = runtime_skips() - skips_base;

	skips_base += n;
	if (n)
		__atomic_fetch_add(&shm->lost_noslot, n * (cur_tracer == FNT_TRACER_GRAPH ? 2 : 1),
				   __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void recorder_fini(void)
{
	if (!shm || !__atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		return;
	count_skips();
}

/* After exec, rings taken by the image this process ran before are
 * orphans (exec ended its threads): hand them to the reader now rather
 * than when the process exits. */
static void retire_previous_image(void)
{
	uint32_t used = fnt__ring_slots_used(shm, &lay);

	for (uint32_t i = 0; i < used; i++) {
		struct fnt_shm_slot *s = fnt_shm_slot(shm, &lay, i);

		/* Acquire pairs with the release store of ->pid at open. */
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == FNT_SLOT_OWNED &&
		    __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) == my_pid && s->image != image_id)
			/* Release pairs with the reader's acquire of ->state. */
			__atomic_store_n(&s->state, FNT_SLOT_RETIRED, __ATOMIC_RELEASE);
	}
}

/* Sets owner up (see above), once per process.  Without MADV_WIPEONFORK
 * (Linux < 4.14) a child made without the fork handlers is not told
 * apart. */
static void own_rings(void)
{
	void *p;

	if (fnt__rec.owner != &owner_fallback)
		return;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, 4096, MADV_WIPEONFORK)) {
		munmap(p, 4096);
		fnt__dbg(1, "no MADV_WIPEONFORK: children made by raw clones are not told apart");
		return;
	}
	fnt__rec.owner = p;
}

/* The built-in callbacks for the session's tracer and threshold. */
static void callbacks(fnt_entry_fn *entry, fnt_exit_fn *exit_fn)
{
	*exit_fn = NULL;
	if (cur_tracer == FNT_TRACER_FUNCTION) {
		*entry = func_entry;
	} else if (__atomic_load_n(&thresh, __ATOMIC_RELAXED)) {
		*entry = thresh_entry;
		*exit_fn = thresh_exit;
	} else {
		*entry = graph_entry;
		*exit_fn = graph_exit;
	}
}

/* The direct path that does what callbacks() gives (runtime.h). */
static int direct_kind(void)
{
	if (cur_tracer == FNT_TRACER_FUNCTION)
		return FNT_DIRECT_FUNC;
	if (__atomic_load_n(&thresh, __ATOMIC_RELAXED))
		return FNT_DIRECT_NONE;
	return FNT_DIRECT_GRAPH;
}

static void copy_filter(char *dst, const char *src)
{
	copy_str(dst, src, FNT_REC_FILTER_MAX);
}

/*
 * Begins a session in the region just attached (shm, lay): describes the
 * process and its objects, installs the callbacks and patches the sites
 * the filters select.  Returns 0 or -errno, *why naming the cause; on
 * failure nothing is patched and the region is the caller's to unmap.
 */
static int begin(int kind, const char *filter, const char *notrace, const char **why)
{
	fnt_entry_fn entry;
	fnt_exit_fn exit_fn;
	int err, id;

	my_pid = getpid();
	own_rings();
	fnt__rec.clock = (int)lay.clock;
	cur_tracer = lay.tracer;
	__atomic_store_n(&fnt__rec.max_depth, lay.depth, __ATOMIC_RELAXED);
	__atomic_store_n(&thresh, lay.thresh_ticks, __ATOMIC_RELAXED);
	if (!key_made) {
		if (pthread_key_create(&exit_key, thread_exit) != 0)
			return *why = "no pthread key", -EAGAIN;
		key_made = 1;
	}
	n_my_objs = 0;
	id = add_image(~0u);
	if (id < 0)
		return *why = id == -ENOMEM ? "no room in /dev/shm to describe the process"
					    : "too many processes", id;
	image_id = (uint32_t)id;
	__atomic_store_n(&stopping, 0, __ATOMIC_RELAXED);
	gen = gen + 1 > 0 ? gen + 1 : 1;
	/* seq_cst: pairs with the exit destructors' load (see above). */
	__atomic_store_n(fnt__rec.owner, gen, __ATOMIC_SEQ_CST);
	rec_on = 1;
	session_kind = kind;
	copy_filter(cur_filter, filter);
	copy_filter(cur_notrace, notrace);
	retire_previous_image();
	if (lay.tracer == FNT_TRACER_FUNCTION) {
		uint32_t n = 0;

		dl_iterate_phdr(add_untraced, &n);
	}
	err = fnt_set_object_hook(object_hook, NULL);
	if (err < 0)
		goto fail_on;
	callbacks(&entry, &exit_fn);
	/* Vector-free by construction (see docs/design.md): called from the
	 * hooks without saving the extended state. */
	err = fnt__set_builtin(entry, exit_fn, NULL, 1, direct_kind());
	if (err < 0)
		goto fail_hook;
	skips_base = runtime_skips();
	err = fnt__builtin_refilter(filter && filter[0] ? filter : NULL,
				    notrace && notrace[0] ? notrace : NULL);
	if (err < 0)
		goto fail_tracer;
	return 0;

fail_tracer:
	fnt__builtin_detach();
fail_hook:
	fnt_set_object_hook(NULL, NULL);
fail_on:
	rec_on = 0;
	session_kind = FNT_REC_NONE;
	__atomic_store_n(fnt__rec.owner, 0, __ATOMIC_SEQ_CST);
	*why = fnt__strerror(err);
	return err;
}

void fnt__recorder_init(void)
{
	const char *path = fnt__env(FNT_ENV_SHM);
	const char *why = NULL;
	int err;

	if (!path || !path[0])
		return;
	err = fnt__shm_attach(path, &shm, &lay, &why);
	if (err < 0) {
		fnt__log("cannot attach the recording buffers %s: %s", path,
			 why ? why : strerror(-err));
		return;
	}
	/* --no-follow-fork: a child exec'd something. */
	if (lay.follow_fork || getpid() == lay.root_pid) {
		err = begin(FNT_REC_RECORD, fnt__env(FNT_ENV_FILTER), fnt__env(FNT_ENV_NOTRACE), &why);
		if (err == 0)
			return;
		fnt__log("cannot record: %s", why);
		/* The region stays mapped if anything may be in it. */
		if (rec_on)
			return;
	}
	fnt__shm_unmap(shm, &lay);
	shm = NULL;
}

int fnt__recorder_start(int fd, const char *filter, const char *notrace, const char **why)
{
	int err;

	*why = NULL;
	if (shm)
		return *why = "a recording is running", -EBUSY;
	err = fnt__shm_attach_fd(fd, &shm, &lay, why);
	if (err < 0) {
		shm = NULL;
		if (!*why)
			*why = fnt__strerror(err);
		return err;
	}
	err = begin(FNT_REC_LIVE, filter, notrace, why);
	if (err < 0) {
		fnt__shm_unmap(shm, &lay);
		shm = NULL;
	}
	return err;
}

/* Called with the agent's thread: ends the session (see the timeline at
 * the top).  Every site the session enabled is a NOP again when it
 * returns, and no thread of the program touches the region any more.
 * drained: the fntrace process drains until this returns (a STOP it
 * asked for), so a lossless writer waiting for room keeps waiting, gets
 * it and loses nothing; the writers' own limits (reader gone, drain
 * timeout) still hold.  Else waiting writers give up at once. */
int fnt__recorder_stop(int drained)
{
	int err;

	if (!shm)
		return 0;
	if (!drained)
		__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	/* A kernel's ftrace_disabled: if patching was killed, sites stay as
	 * they are, and the trampolines skip every callback. */
	err = fnt_disable(NULL);
	if (err == -ENODEV)
		err = 0;
	fnt__builtin_detach();
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	fnt_set_object_hook(NULL, NULL);
	if (rec_on)
		count_skips();
	rec_on = 0;
	session_kind = FNT_REC_NONE;
	/* seq_cst: pairs with the exit destructors' increment of closers. */
	__atomic_store_n(fnt__rec.owner, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&closers, __ATOMIC_SEQ_CST))
		fnt__sys(SYS_sched_yield);
	/* The writers' words are all committed or given up: tell the reader. */
	__atomic_fetch_add(&shm->kick, 1, __ATOMIC_RELEASE);
	fnt__sys(SYS_futex, &shm->kick, FUTEX_WAKE, 1, NULL, NULL, 0);
	fnt__shm_unmap(shm, &lay);
	shm = NULL;
	return err;
}

int fnt__recorder_stopping(void)
{
	return shm && __atomic_load_n(&stopping, __ATOMIC_RELAXED);
}

int fnt__recorder_set(const char *filter, const char *notrace, const uint32_t *depth,
		      const uint64_t *thresh_ticks, const uint32_t *tracer, const char **why)
{
	fnt_entry_fn entry, e2;
	fnt_exit_fn exit_fn, x2;
	int err = 0;

	*why = NULL;
	if (!shm || !rec_on)
		return *why = "nothing is being recorded", -ENOENT;
	if (tracer && *tracer != FNT_TRACER_FUNCTION && *tracer != FNT_TRACER_GRAPH)
		return *why = "unknown tracer", -EINVAL;
	callbacks(&entry, &exit_fn);
	if (tracer)
		cur_tracer = *tracer;
	if (depth)
		__atomic_store_n(&fnt__rec.max_depth, *depth, __ATOMIC_RELAXED);
	if (thresh_ticks)
		__atomic_store_n(&thresh, *thresh_ticks, __ATOMIC_RELAXED);
	callbacks(&e2, &x2);
	if (e2 != entry) {
		/*
		 * Another tracer, or a threshold turned on or off: other
		 * callbacks.  Calls in flight keep their shadow frames;
		 * their exits reach the new exit callback, if any, which
		 * tells them apart: thresh_exit finds no entry time for them
		 * (a stack slot of 0 is "no entry"), graph_exit writes an
		 * exit the reader matches against an entry or ignores.  Calls
		 * in flight when function_graph gives way to function get no
		 * exit: the reader counts them, without a duration.
		 */
		err = fnt__set_builtin(e2, x2, NULL, 1, direct_kind());
		if (err < 0)
			return *why = fnt__strerror(err), err;
	}
	if (filter || notrace) {
		const char *f = filter ? filter : cur_filter, *n = notrace ? notrace : cur_notrace;

		err = fnt__builtin_refilter(f[0] ? f : NULL, n[0] ? n : NULL);
		if (err < 0)
			return *why = fnt__strerror(err), err;
		copy_filter(cur_filter, f);
		copy_filter(cur_notrace, n);
	}
	return 0;
}

int fnt__recorder_describe(char *buf, size_t cap, uint32_t *len)
{
	static const char *modes[] = { "lossless", "overwrite", "drop" };
	static const char *kinds[] = { "none", "record", "live" };
	char v[32];

	if (!shm || !rec_on)
		return fnt__ctl_put(buf, cap, len, "state", "dormant");
	fnt__ctl_put(buf, cap, len, "state", "recording");
	fnt__ctl_put(buf, cap, len, "by", kinds[session_kind]);
	fnt__ctl_put_u64(buf, cap, len, "consumer_pid", (uint64_t)(lay.reader_pid > 0 ? lay.reader_pid : 0));
	fnt__ctl_put(buf, cap, len, "tracer",
		     cur_tracer == FNT_TRACER_FUNCTION ? "function" : "function_graph");
	fnt__ctl_put(buf, cap, len, "mode", lay.mode <= FNT_MODE_DROP ? modes[lay.mode] : "?");
	fnt__ctl_put_u64(buf, cap, len, "clock", lay.clock);
	fnt__ctl_put(buf, cap, len, "filter", cur_filter);
	fnt__ctl_put(buf, cap, len, "notrace", cur_notrace);
	fnt__ctl_put_u64(buf, cap, len, "depth", __atomic_load_n(&fnt__rec.max_depth, __ATOMIC_RELAXED));
	fnt__ctl_put_u64(buf, cap, len, "thresh_ticks", __atomic_load_n(&thresh, __ATOMIC_RELAXED));
	fnt__format(v, sizeof(v), "%d", image_id);
	return fnt__ctl_put(buf, cap, len, "image", v);
}

int fnt__recorder_kind(void)
{
	return shm && rec_on ? session_kind : FNT_REC_NONE;
}

void fnt__recorder_thread_reset(void)
{
	if (fnt__rec_self.w.slot)
		fnt__ring_writer_recover(&fnt__rec_self.w);
}

void fnt__recorder_fork_child(void)
{
	struct fnt_shm_object *objs;
	uint32_t parent = image_id, n;
	int id;

	if (!shm || !rec_on)
		return;
	/* The parent's ring is not ours: forget it before any event. */
	memset(&fnt__rec_self.w, 0, sizeof(fnt__rec_self.w));
	fnt__rec_self.retry = 0;
	fnt__rec_self.keyed = 0;
	my_pid = getpid();
	if (!lay.follow_fork) {
		rec_on = 0;
		return;
	}
	/* The parent's skips are the parent's.  Not fnt_status() here: the
	 * runtime calls us from its fork handler, its lock not ours to take. */
	skips_base = skips_at_fork;
	id = add_image(parent);
	if (id < 0) {
		stop("too many processes");
		return;
	}
	image_id = (uint32_t)id;
	/* Rings from now on are this process's own. */
	*fnt__rec.owner = gen;
	/* The child starts with the parent's objects, under its own image:
	 * object ids are per process and the child's next dlopen gets an id
	 * the parent may give to another object. */
	objs = fnt_shm_objects(shm, &lay);
	n = n_my_objs;
	n_my_objs = 0;
	for (uint32_t k = 0; k < n; k++) {
		/* my_objs[] is the parent's list (our copy of its memory); it is
		 * refilled from the front, never faster than it is read. */
		struct fnt_shm_object *o = &objs[my_objs[k]];

		if (o->unloaded)
			continue;
		if (add_object(image_id, o->obj_id, o->path, o->bias, o->nsites, o->build_id,
			       o->build_id_len) < 0) {
			stop("too many objects");
			return;
		}
	}
}
