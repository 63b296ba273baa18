/*
 * attach.c - the runtime's side of an attach (src/cli/attach.c): knowing
 * that it came into a running process, and taking over the area fntrace
 * mapped there for its loader.
 *
 * The loading thread (N) dlopen()s the runtime, whose constructor runs on
 * N and sees N's name; then N calls fnt__attach_done() and returns.  The
 * area holds the code N returns through and the raw thread R that made N,
 * so it is unmapped only once R has ended (the kernel clears its tid word)
 * and N has been joined, by the agent thread, which never runs there.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "arch/x86_64/inject/inject.h"
#include "runtime/runtime.h"
#include "util/log.h"
#include "util/sys.h"

int fnt__attached;

static struct fnt_inj_params *_Atomic taken;

int fnt__attach_detect(void)
{
	char name[17] = "";

	if (prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && !strcmp(name, FNT_INJ_THREAD_NAME))
		fnt__attached = 1;
	return fnt__attached;
}

FNT_EXPORT void fnt__attach_done(struct fnt_inj_params *p)
{
	if (!fnt__attached || p->magic != FNT_INJ_MAGIC)
		return;
	/* release: pairs with the acquire exchange in fnt__attach_reap(). */
	atomic_store_explicit(&taken, p, memory_order_release);
	__atomic_store_n(&p->state, FNT_INJ_DONE, __ATOMIC_RELEASE);
	fnt__sys(SYS_futex, &p->state, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
	fnt__agent_wake();
}

void fnt__attach_reap(void)
{
	struct fnt_inj_params *p;
	uint64_t area, len;
	pthread_t n;
	int32_t r;

	if (!atomic_load_explicit(&taken, memory_order_relaxed))
		return;
	p = atomic_exchange_explicit(&taken, NULL, memory_order_acquire);
	if (!p)
		return;
	area = p->area;
	len = p->area_len;
	n = (pthread_t)p->n_thread;
	/* R: the kernel zeroes r_tid and wakes the word as R ends. */
	while ((r = __atomic_load_n(&p->r_tid, __ATOMIC_ACQUIRE)) != 0)
		fnt__sys(SYS_futex, &p->r_tid, FUTEX_WAIT, r, NULL, NULL, 0);
	pthread_join(n, NULL);
	if (munmap((void *)area, len) < 0)
		fnt__dbg(1, "attach: cannot unmap the loader's area");
}
