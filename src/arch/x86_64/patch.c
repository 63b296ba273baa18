/*
 * patch.c - live code patching on x86-64 with the int3 protocol, and the
 * SIGTRAP handler that makes it safe (seed 003).
 *
 * A batch of sites, sorted by address, goes through three phases, each
 * ended by a cross-thread sync (membarrier SYNC_CORE, see sync.c):
 *
 *   1. write int3 (cc) on the first byte of every site      sync
 *   2. write the tail bytes (1..4) of every site            sync
 *   3. write the new first byte of every site               sync
 *
 * A thread that executes a site during the batch either runs the old
 * instruction, the new one, or hits the int3.  The handler finds the site
 * by binary search of ip-1 in the batch descriptor, on which it holds a
 * reference, and emulates the NEW instruction (a call pushes the return
 * address and jumps; a NOP skips).  There is no global "current site".
 *
 *   patcher                       thread T                  handler (on T)
 *   -------                       --------                  --------------
 *   refs = 1, gen++ (publish)
 *   site[0] = cc ; sync
 *                                 executes cc ----------->  g = gen
 *   site[1..4] = new ; sync                                 get ref (refs 1->2)
 *   site[0] = new[0] ; sync                                 bsearch(ip-1): found
 *   drop ref (2->1) ...                                     emulate new, put ref
 *   ... wait refs == 0            resumes in the callee
 *
 * Late handler: if the handler only gets to run after the batch ended
 * (refs was 0, or the site is in none of the batches it sees), it reads
 * the byte at ip-1.  Not cc: the breakpoint is gone, so it resumes AT the
 * site, which now holds a whole valid instruction.  Still cc and no new
 * batch was published since it first looked (gen unchanged): the int3 is
 * not ours, and the caller passes the trap on.  Otherwise it looks again.
 *
 * Every byte is read and compared before it is written.  A surprise is
 * reported with fnt__site_bug(), which disables patching for good; the
 * descriptor of an interrupted batch then stays published ("frozen") so
 * that int3s left behind keep being emulated.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "arch/x86_64/x86.h"
#include "util/env.h"
#include "util/log.h"

_Atomic long fnt__trap_delay_ns;
long fnt__trap_hold_ns;

struct desc {
	/* 0: no batch.  The patcher sets 1 to publish and drops it at the end;
	 * handlers take extra references with inc-not-zero (acquire, pairs
	 * with the release in publish()). */
	_Atomic long refs;
	struct fnt_change *vec;	/* owned copy, sorted by addr */
	_Atomic unsigned char *dead; /* per entry: object gone (after a freeze) */
	size_t n;
};

static struct desc desc;
/* Bumped (release) after refs = 1 on each publish; see the late-handler
 * argument above. */
static _Atomic unsigned long gen;
static int frozen;
/* Once frozen: the references that are not a handler running now (the
 * patcher's own, or ones given up for lost in unpublish()). */
static long frozen_refs = 1;

/* How long unpublish() waits for the handlers' references. */
#define UNPUBLISH_WAIT_S 5

/* --- writing text ------------------------------------------------------ */

/* "mprotect": the object's text is RWX during an update (default);
 * "procmem": writes go through /proc/self/mem, text stays read-only. */
static int use_procmem = -1;

/*
 * The /proc/self/mem descriptor of procmem writes.  It lives only from
 * text_writable(o, 1) to text_writable(o, 0), one object's update, never
 * across updates: a program may close every descriptor it did not open
 * (close_range) and open a file of its own, which then gets the same
 * number, and a write through the old number would land in that file
 * (the e1000e lesson: a handle that no longer means what it meant).  So
 * its identity (device and inode, recorded when it was opened) is checked
 * again before every use, and a descriptor that changed is forgotten, not
 * closed (the number now belongs to the program), and /proc/self/mem is
 * opened anew.  Living only within an update also keeps it out of a
 * fork's child, where it would still name the parent's memory: fork waits
 * for fnt__lock (atfork_prepare), which every update holds.
 *
 *   update                         program thread
 *   ------                         --------------
 *   open -> fd 5, (dev, ino) saved
 *                                  close_range(3, ~0): fd 5 closed
 *                                  open("data") -> fd 5
 *   fstat(5): other (dev, ino)
 *     -> forget 5, open -> fd 6
 *   pwrite(6)                      "data" untouched
 *
 * What remains is the instant between the fstat and the pwrite: a thread
 * that closes descriptors it does not own while another thread is in
 * fnt_enable() is a program bug this cannot fix (docs/design.md).
 */
static int memfd = -1;
static dev_t mem_dev;
static ino_t mem_ino;

static int mem_open(void)
{
	struct stat st;
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -EPERM;
	if (fstat(fd, &st)) {
		close(fd);
		return -EPERM;
	}
	memfd = fd;
	mem_dev = st.st_dev;
	mem_ino = st.st_ino;
	return 0;
}

/* Does memfd still name the file it was opened as? */
static int mem_is_ours(void)
{
	struct stat st;

	return memfd >= 0 && !fstat(memfd, &st) && st.st_dev == mem_dev && st.st_ino == mem_ino;
}

/* Returns 0 with memfd naming /proc/self/mem, or -EPERM. */
static int mem_get(void)
{
	if (mem_is_ours())
		return 0;
	if (memfd >= 0)
		fnt__dbg(1, "descriptor %d is not /proc/self/mem any more (closed by the program?): "
			    "opening it again", memfd);
	memfd = -1;
	return mem_open();
}

static void mem_put(void)
{
	if (mem_is_ours())
		close(memfd);
	memfd = -1;
}

static void pick_method(void)
{
	const char *m;

	if (use_procmem >= 0)
		return;
	m = fnt__env("FNTRACE_WRITE");
	use_procmem = m && !strcmp(m, "procmem");
}

int fnt__x86_text_writable(struct fnt_object *o, int on)
{
	pick_method();
	if (use_procmem) {
		if (!on)
			mem_put();
		else if (mem_get())
			return -EPERM;
	}
	for (int i = 0; i < o->nxsegs; i++) {
		uintptr_t lo = o->xsegs[i].lo & ~(uintptr_t)4095;
		uintptr_t hi = (o->xsegs[i].hi + 4095) & ~(uintptr_t)4095;
		/* Never drop PROT_EXEC: other threads are running this text. */
		int prot = on ? PROT_READ | PROT_WRITE | PROT_EXEC : o->xsegs[i].prot;

		/*
		 * Both calls fail with ENOMEM where a page of the range is not
		 * mapped: the object's text is gone, and reading a site would
		 * fault.  That is checked before any byte is read.
		 */
		if (use_procmem ? msync((void *)lo, hi - lo, MS_ASYNC) :
				  mprotect((void *)lo, hi - lo, prot))
			return errno == ENOMEM ? -EFAULT : -EPERM;
	}
	return 0;
}

/* Writes len bytes at addr.  Returns 0 or -EPERM. */
static int poke(uintptr_t addr, const uint8_t *b, size_t len)
{
	if (use_procmem > 0) {
		if (mem_get() || pwrite(memfd, b, len, (off_t)addr) != (ssize_t)len)
			return -EPERM;
		return 0;
	}
	if (len == 1) {
		/* A single aligned-or-not byte store cannot tear. */
		__atomic_store_n((uint8_t *)addr, b[0], __ATOMIC_RELAXED);
		return 0;
	}
	memcpy((void *)addr, b, len);
	return 0;
}

static const char *phase_name(int phase, int enable)
{
	static const char *const names[2][4] = {
		{ "verifying before disable", "disable: writing int3", "disable: writing the tail",
		  "disable: writing the first byte" },
		{ "verifying before enable", "enable: writing int3", "enable: writing the tail",
		  "enable: writing the first byte" },
	};
	return names[!!enable][phase];
}

/*
 * Reads and compares the site's bytes with what phase expects:
 *   0, 1: the old instruction;  2: int3 + old tail;  3: int3 + new tail.
 */
static int check(const struct fnt_change *c, int phase)
{
	uint8_t exp[FNT_MAX_INSN];
	const uint8_t *p = (const uint8_t *)c->addr;

	memcpy(exp, phase == 3 ? c->new : c->old, c->len);
	if (phase >= 2)
		exp[0] = X86_INT3;
	if (memcmp(p, exp, c->len)) {
		fnt__site_bug(c->obj, c->site, -EINVAL, phase_name(phase, c->enable), exp, p, c->len);
		return -EINVAL;
	}
	return 0;
}

/* --- the batch descriptor ---------------------------------------------- */

static int get_desc(void)
{
	long r = atomic_load_explicit(&desc.refs, memory_order_relaxed);

	while (r > 0) {
		/* acquire: pairs with the release store in publish(), so the
		 * vector is seen whole. */
		if (atomic_compare_exchange_weak_explicit(&desc.refs, &r, r + 1,
							  memory_order_acquire, memory_order_relaxed))
			return 1;
	}
	return 0;
}

static void put_desc(void)
{
	/* release: our reads of the vector happen before the patcher, who
	 * waits for 0 with an acquire load, frees it. */
	atomic_fetch_sub_explicit(&desc.refs, 1, memory_order_release);
}

static int publish(const struct fnt_change *c, size_t n)
{
	desc.vec = malloc(n * sizeof(*c));
	desc.dead = calloc(n, 1);
	if (!desc.vec || !desc.dead) {
		free(desc.vec);
		free((void *)desc.dead);
		desc.vec = NULL;
		desc.dead = NULL;
		return -ENOMEM;
	}
	memcpy(desc.vec, c, n * sizeof(*c));
	desc.n = n;
	/* release: pairs with the acquire in get_desc(). */
	atomic_store_explicit(&desc.refs, 1, memory_order_release);
	/* release: pairs with the acquire loads of gen in the handler. */
	atomic_fetch_add_explicit(&gen, 1, memory_order_release);
	return 0;
}

/*
 * Drops the patcher's reference and waits for the handlers' ones.  A
 * handler holds its reference for a binary search, with every signal that
 * could leave it by a jump blocked (sa_mask, signals.c), so the wait is
 * short.  Should a reference still be lost (a fault signal sent with
 * kill(2) whose handler jumps, or a thread stopped inside the handler), the
 * wait gives up after UNPUBLISH_WAIT_S seconds instead of hanging the
 * program's fnt_disable(): the descriptor is then kept for good (frozen),
 * as after an anomaly, and patching stops with a message.
 */
static int unpublish(void)
{
	struct timespec t0, t;
	long r;

	put_desc();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* acquire: pairs with the release in put_desc() of every handler. */
	while ((r = atomic_load_explicit(&desc.refs, memory_order_acquire)) != 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > UNPUBLISH_WAIT_S) {
			frozen_refs = r;
			return -ETIMEDOUT;
		}
		sched_yield();
	}
	free(desc.vec);
	free((void *)desc.dead);
	desc.vec = NULL;
	desc.dead = NULL;
	desc.n = 0;
	return 0;
}

/* --- the protocol ------------------------------------------------------ */

/*
 * One phase over the whole batch, each write preceded by its check:
 *   1: int3 on the first byte;  2: the new tail;  3: the new first byte.
 */
static int run_phase(const struct fnt_change *c, size_t n, int phase)
{
	static const uint8_t int3 = X86_INT3;

	for (size_t i = 0; i < n; i++) {
		int ret = check(&c[i], phase);

		if (ret)
			return ret;
		if (phase == 1)
			ret = poke(c[i].addr, &int3, 1);
		else if (phase == 2)
			ret = poke(c[i].addr + 1, c[i].new + 1, c[i].len - 1u);
		else
			ret = poke(c[i].addr, c[i].new, 1);
		if (ret)
			return ret;
	}
	return 0;
}

int fnt__x86_apply_live(struct fnt_change *c, size_t n)
{
	int ret, tid, failed_sync = 0;

	if (!n)
		return 0;
	if (frozen)
		return -ENODEV;
	ret = fnt__x86_threads_trappable(&tid);
	if (ret) {
		fnt__log("thread %d blocks SIGTRAP: an int3 would kill the process, so no int3 "
			 "is written (%zu site changes not made)", tid, n);
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		ret = check(&c[i], 0);
		if (ret)
			return ret;
	}
	ret = publish(c, n);
	if (ret)
		return ret;

	for (int phase = 1; phase <= 3; phase++) {
		ret = run_phase(c, n, phase);
		if (ret)
			goto fail_freeze;
		ret = fnt__x86_sync();
		if (ret) {
			failed_sync = 1;
			goto fail_freeze;
		}
	}
	if (unpublish()) {
		/* Every site is complete: only the descriptor cannot go. */
		frozen = 1;
		fnt__kill("%ld SIGTRAP handler reference(s) to the batch descriptor were not "
			  "dropped within %d s (a handler left by a jump, or a stopped thread); the "
			  "descriptor is kept and patching stops", frozen_refs, UNPUBLISH_WAIT_S);
	}
	return 0;

fail_freeze:
	/*
	 * Some sites may still hold an int3.  Patching is off for good
	 * (fnt__site_bug or the caller's report killed it), so the descriptor
	 * is never released: the handler keeps emulating those sites.
	 */
	if (failed_sync)
		fnt__kill("the int3 protocol could not complete (%s failed: %s); %zu sites in "
			  "flight are emulated from now on", fnt__x86_sync_name(), strerror(-ret), n);
	else if (ret == -EPERM)
		fnt__kill("the int3 protocol could not complete (text write failed); %zu sites in "
			  "flight are emulated from now on", n);
	frozen = 1;
	return ret;
}

int fnt__x86_apply_quiescent(struct fnt_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = check(&c[i], 0);

		if (!ret)
			ret = poke(c[i].addr, c[i].new, c[i].len);
		if (ret)
			return ret;
	}
	return 0;
}

void fnt__x86_forget_object(struct fnt_object *o)
{
	if (!frozen)
		return;
	for (size_t i = 0; i < desc.n; i++)
		if (desc.vec[i].obj == o)
			atomic_store_explicit(&desc.dead[i], 1, memory_order_relaxed);
	/* Wait out handlers that may have read the entry before it died.
	 * acquire: pairs with the release in put_desc(). */
	while (atomic_load_explicit(&desc.refs, memory_order_acquire) > frozen_refs)
		sched_yield();
}

/* --- the trap handler -------------------------------------------------- */

static const struct fnt_change *lookup(uintptr_t addr)
{
	size_t lo = 0, hi = desc.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (desc.vec[mid].addr == addr)
			return atomic_load_explicit(&desc.dead[mid], memory_order_relaxed) ?
				       NULL : &desc.vec[mid];
		if (desc.vec[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void spin_ns(long ns)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ns);
}

uintptr_t fnt__x86_context_sp(const void *uctx)
{
	return (uintptr_t)((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_RSP];
}

/*
 * The return addresses of the trampolines' calls into C (trampoline.S),
 * and where they lie: both trampolines push %rbp at arg - 8, align the
 * stack down to 16 and reserve their save area (64 bytes at the entry, 16
 * at the return) before the call pushes its return address.
 */
extern char fnt__tramp_entry_rh[], fnt__tramp_entry_rd[];
extern char fnt__tramp_return_rh[], fnt__tramp_return_rd[];
extern char fnt__tramp_exit_rh[], fnt__tramp_exit_rd[];
extern char fnt__tramp_tail_rh[], fnt__tramp_tail_rd[];

uintptr_t fnt__x86_hook_ret_slot(int kind, uintptr_t arg, uintptr_t ret[2])
{
	uintptr_t rbp = arg - 8;

	if (kind == FNT_TRAMP_ENTRY || kind == FNT_TRAMP_TAIL) {
		/* The tail site's trampoline is the entry's, with other hooks. */
		ret[0] = (uintptr_t)(kind == FNT_TRAMP_ENTRY ? fnt__tramp_entry_rh : fnt__tramp_tail_rh);
		ret[1] = (uintptr_t)(kind == FNT_TRAMP_ENTRY ? fnt__tramp_entry_rd : fnt__tramp_tail_rd);
		return (rbp & ~(uintptr_t)15) - 64 - 8;
	}
	/* The return's and the exit site's save two registers. */
	ret[0] = (uintptr_t)(kind == FNT_TRAMP_EXIT ? fnt__tramp_exit_rh : fnt__tramp_return_rh);
	ret[1] = (uintptr_t)(kind == FNT_TRAMP_EXIT ? fnt__tramp_exit_rd : fnt__tramp_return_rd);
	return (rbp & ~(uintptr_t)15) - 16 - 8;
}

int fnt__x86_trap(siginfo_t *si, void *uctx)
{
	ucontext_t *uc = uctx;
	greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t addr = (uintptr_t)g[REG_RIP] - 1;
	long delay;

	/* Only an int3 executed by this thread can be ours, never a kill(2). */
	if (si->si_code != SI_KERNEL)
		return 0;
	delay = atomic_load_explicit(&fnt__trap_delay_ns, memory_order_relaxed);
	if (delay)
		spin_ns(delay);
	for (;;) {
		unsigned long g1 = atomic_load_explicit(&gen, memory_order_acquire);
		const struct fnt_change *c;
		uint8_t b;

		/*
		 * Between get_desc() and put_desc() nothing may fault or leave:
		 * only our own memory is read, and every signal whose handler
		 * could jump out is blocked (sa_mask, signals.c).  The write to
		 * the thread's stack, which could fault, comes after.
		 */
		if (get_desc()) {
			c = lookup(addr);
			if (c && fnt__trap_hold_ns)
				spin_ns(fnt__trap_hold_ns);
			if (c) {
				int enable = c->enable;
				uintptr_t target = c->target;

				put_desc();
				if (enable) {
					g[REG_RSP] -= 8;
					*(uint64_t *)g[REG_RSP] = addr + 5;
					g[REG_RIP] = (greg_t)target;
				} else {
					g[REG_RIP] = (greg_t)(addr + 5);
				}
				atomic_fetch_add_explicit(&fnt__stats.traps, 1, memory_order_relaxed);
				return 1;
			}
			put_desc();
		}
		b = __atomic_load_n((const uint8_t *)addr, __ATOMIC_RELAXED);
		if (b != X86_INT3) {
			/* The breakpoint is already gone: run what is there now. */
			g[REG_RIP] = (greg_t)addr;
			atomic_fetch_add_explicit(&fnt__stats.traps, 1, memory_order_relaxed);
			return 1;
		}
		if (atomic_load_explicit(&gen, memory_order_acquire) == g1)
			return 0;
	}
}
