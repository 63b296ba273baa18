/*
 * sync.c - the cross-thread sync of the int3 protocol, and the check that
 * every thread can take a SIGTRAP (seeds 002 and 004).
 *
 * After a code write, every other thread must execute a serializing
 * instruction before it can be trusted to see the new bytes.  The kernel
 * does it with an IPI running sync_core(); user space gets the same from
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE), which IPIs every
 * CPU running a thread of this process and returns to user space through
 * a core-serializing path (about 0.2 us here).
 *
 * Where that is unavailable (old kernels, or FNTRACE_SYNC=signal), every
 * thread is sent a signal and the patcher waits for each handler to
 * acknowledge: returning from a signal handler goes through sigreturn, an
 * iret, which serializes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64/x86.h"
#include "util/env.h"
#include "util/log.h"
#include "util/sys.h"

/* 1: membarrier; 0: the signal sync.  Goes from 1 to 0 at most once per
 * process (a seccomp filter appeared, or membarrier failed); changed only
 * by the patcher, which holds fnt__lock. */
static int use_membarrier;
/* FNTRACE_SYNC=membarrier: the user vouches that no filter kills it. */
static int forced_membarrier;
/* The signal sync's handler is installed. */
static int sig_ready;
static _Atomic long acks;

/* The fallback's signal; documented in docs/design.md. */
#define SYNC_SIG (SIGRTMAX - 3)

void fnt__x86_needed_signals(sigset_t *set)
{
	sigaddset(set, SIGTRAP);
	/* The fallback sync waits for every thread's handler. */
	sigaddset(set, SYNC_SIG);
}

/* libc's convention (-1 and errno), which the callers report. */
static int membarrier(int cmd)
{
	long r = fnt__sys(__NR_membarrier, cmd, 0, 0);

	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

static void ack(int sig, siginfo_t *si, void *uc)
{
	/* release: pairs with the acquire poll in the patcher. */
	atomic_fetch_add_explicit(&acks, 1, memory_order_release);
}

/*
 * The seccomp mode of the calling thread (0 none, 1 strict, 2 filter), or
 * -1 if it cannot be read.  A filter may kill the process on any syscall
 * it names, and the program may never make membarrier itself, so the
 * runtime must not be the first to try (a probe kills as surely as a
 * real call).  Filters are per thread, and the one that matters is the
 * patcher's (the thread calling membarrier), so its own status file is
 * read.  Not prctl(PR_GET_SECCOMP): that is a syscall a filter may kill
 * as well, and one hardly any program makes.  open, read and close are
 * made by every libc (stdio, dlopen); a filter that kills on them would
 * kill the program's own libc first.
 */
static int seccomp_mode(void)
{
	char path[64], buf[4096];
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", (long)fnt__sys(SYS_gettid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nSeccomp:");
	return p ? atoi(p + 9) : -1;
}

static int signal_sync_init(void)
{
	struct sigaction sa;

	if (sig_ready)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ack;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	/* A handler of the program's that interrupted ack() before its
	 * increment and left with siglongjmp would lose the ack, and the
	 * sync would time out: nothing but faults and SIGTRAP (which must
	 * stay deliverable) may interrupt it. */
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGTRAP);
	sigdelset(&sa.sa_mask, SIGSEGV);
	sigdelset(&sa.sa_mask, SIGBUS);
	sigdelset(&sa.sa_mask, SIGILL);
	sigdelset(&sa.sa_mask, SIGFPE);
	sigdelset(&sa.sa_mask, SIGSYS);
	if (sigaction(SYNC_SIG, &sa, NULL)) {
		int err = -errno;

		fnt__log("cannot install the signal sync's handler for signal %d: %s", SYNC_SIG,
			 strerror(-err));
		return err;
	}
	sig_ready = 1;
	return 0;
}

const char *fnt__x86_sync_name(void)
{
	return use_membarrier ? "membarrier(PRIVATE_EXPEDITED_SYNC_CORE)" :
				"the signal sync (signal SIGRTMAX-3 to every thread)";
}

int fnt__x86_sync_init(void)
{
	const char *m = fnt__env("FNTRACE_SYNC");
	int q, sc;

	use_membarrier = 0;
	sig_ready = 0;	/* a fork's child: installed again, which is harmless */
	forced_membarrier = m && !strcmp(m, "membarrier");
	sc = forced_membarrier ? 0 : seccomp_mode();
	if (m && !strcmp(m, "signal")) {
		fnt__dbg(1, "FNTRACE_SYNC=signal: syncing with signal %d", SYNC_SIG);
	} else if (sc != 0) {
		fnt__dbg(1, "%s: membarrier is never called (a filter may kill it); syncing with "
			    "signal %d", sc == 2 ? "a seccomp filter is installed" :
						   "the seccomp mode is unknown", SYNC_SIG);
	} else {
		q = membarrier(MEMBARRIER_CMD_QUERY);
		if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
		    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0) {
			use_membarrier = 1;
			return 0;
		}
		fnt__dbg(1, "membarrier SYNC_CORE unavailable: syncing with signal %d", SYNC_SIG);
	}
	return signal_sync_init();
}

/* Calls fn(tid, arg) for every thread of the process; stops at non-zero. */
static int each_thread(int (*fn)(int tid, void *arg), void *arg)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid > 0)
			ret = fn(tid, arg);
	}
	closedir(d);
	return ret;
}

static int kick(int tid, void *arg)
{
	long *sent = arg;

	if (tid == (int)fnt__sys(SYS_gettid))
		return 0;
	if (fnt__sys(SYS_tgkill, getpid(), tid, SYNC_SIG) == 0)
		(*sent)++;
	/* ESRCH: the thread exited; it needs no sync. */
	return 0;
}

/* From membarrier to signals for the rest of the process; why says why. */
static int fall_back(const char *why)
{
	int ret = signal_sync_init();

	if (ret)
		return ret;
	use_membarrier = 0;
	fnt__log("%s; syncing with signal %d from now on", why, SYNC_SIG);
	return 0;
}

int fnt__x86_sync(void)
{
	struct timespec t0, t;
	long sent = 0;
	int ret;

	/*
	 * A seccomp filter may have been installed after start-up (or by
	 * another thread with TSYNC), so the mode is read again before every
	 * membarrier: once it is 2 it stays 2 (filters are never removed),
	 * and the switch to signals is for good.  A membarrier that fails
	 * did not sync anything; the signal sync does it instead.
	 */
	if (use_membarrier && !forced_membarrier && seccomp_mode() != 0) {
		ret = fall_back("a seccomp filter appeared on this thread: membarrier is not "
				"called any more (a filter may kill it)");
		if (ret)
			return ret;
	}
	if (use_membarrier) {
		char why[160];

		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
			return 0;
		snprintf(why, sizeof(why), "membarrier(PRIVATE_EXPEDITED_SYNC_CORE) failed: %s",
			 strerror(errno));
		ret = fall_back(why);
		if (ret)
			return ret;
	}

	atomic_store_explicit(&acks, 0, memory_order_relaxed);
	each_thread(kick, &sent);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* acquire: pairs with the release in ack(). */
	while (atomic_load_explicit(&acks, memory_order_acquire) < sent) {
		/* A thread that exited between the kick and its handler
		 * never acks; after a second, recount who is left. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 2)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* The SigBlk of the last thread found blocking SIGTRAP. */
static unsigned long long last_blk;

/* SigBlk in /proc/self/task/TID/status: is SIGTRAP blocked? */
static int trappable(int tid, void *arg)
{
	char path[64], buf[2048];
	unsigned long long blk;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* exited */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "SigBlk:");
	if (!p)
		return 0;
	blk = strtoull(p + 7, NULL, 16);
	if (blk & (1ull << (SIGTRAP - 1))) {
		*(int *)arg = tid;
		last_blk = blk;
		return -EDEADLK;
	}
	return 0;
}

/*
 * glibc's own windows block every signal (its internal "all" set): the
 * kernel leaves SIGKILL and SIGSTOP out, and glibc's sigfillset leaves out
 * its two internal signals (32 and 33).
 */
static int glibc_window(unsigned long long blk)
{
	return (blk | 1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1) | 1ull << 31 | 1ull << 32) ==
	       ~0ull;
}

/*
 * Every libc entry point that installs a mask is interposed (signals.c),
 * so a thread found with SIGTRAP blocked got there by a path we cannot
 * see: a syscall instruction of the program's own, or a handler installed
 * that way.  This scan sees a moment, not a guarantee: the same thread may
 * block SIGTRAP again right after it, and an int3 it then executes kills
 * the process (the kernel forces a blocked SIGTRAP to its default action;
 * no handler of ours runs).  So the first sight of such a mask refuses
 * live patching for good, with a message: the outcome for the class is a
 * clear refusal once it has shown itself.  Before that, a program whose
 * raw masks never were seen is traced at that risk (docs/design.md).
 *
 * Only glibc's own windows (every signal blocked for a few instructions
 * in pthread_create and a few other places, during which that thread runs
 * no traced code) are waited out, for up to 100 ms, and not held against
 * the program.
 */
static int raw_tid;

int fnt__x86_threads_trappable(int *tid)
{
	int ret = 0;

	if (raw_tid) {
		*tid = raw_tid;
		return -EDEADLK;
	}
	for (int tries = 0; tries < 200; tries++) {
		ret = each_thread(trappable, tid);
		if (ret != -EDEADLK)
			return ret;
		if (!glibc_window(last_blk))
			break;
		usleep(500);
	}
	raw_tid = *tid;
	fnt__log("thread %d blocks SIGTRAP (SigBlk %016llx) by a path that bypasses libc (a raw "
		 "syscall?); such a thread can block it again at any instant, when an int3 would "
		 "kill the process, so live patching is refused from now on", raw_tid, last_blk);
	return ret;
}
