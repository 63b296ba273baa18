/*
 * hijack.c - raw system calls on a thread of another process, through
 * ptrace (see hijack.h).  Timeline of one call on thread T:
 *
 *   begin:    SEIZE T; INTERRUPT -> T stops (PTRACE_EVENT_STOP), wherever
 *             it was, perhaps inside a blocking system call (its registers
 *             then say -ERESTART*); its registers, mask and XSAVE area are
 *             read
 *   syscall:  a signal frame of T's own state is written below its red zone
 *             (the way back should fntrace die from here on); T's registers
 *             are set to run `syscall; ret` with that frame as its stack
 *             and orig_rax = -1 (no restart of the call it was in), and
 *             every signal is blocked on T while it runs them (those that
 *             come stay pending and arrive once T runs on)
 *             SYSCALL -> entry stop; SYSCALL -> exit stop: the result
 *             INTERRUPT; CONT -> T stops again before it returns to user
 *             mode, in the kernel's signal path, where its own registers
 *             are put back, its mask first
 *   end:      DETACH: the kernel's restart logic runs on the
 *             registers T had, so a call it was blocked in is restarted
 *             (restart_syscall with the time left, for nanosleep) as after
 *             any stop, and T goes on as if nothing happened
 *
 * If fntrace dies between the setting of the registers and their return,
 * T runs on by itself: the syscall, then `ret` pops the C library's
 * restorer, whose rt_sigreturn restores T's registers (the restart done
 * by hand), XSAVE state and mask from the frame.  Its alternate signal
 * stack is left alone: the frame holds an invalid one, which the kernel
 * refuses and ignores.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86_64/inject/hijack.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define RED_ZONE 128
#define XSTATE_MAX 65536
#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#endif
#define SW_RESERVED 464		/* struct _fpx_sw_bytes in the XSAVE legacy area */
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

static int fail(char *err, size_t cap, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -e;
}

int fnt__hijack_read(struct fnt_hijack *h, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(h->memfd, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int fnt__hijack_write(struct fnt_hijack *h, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(h->memfd, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * Waits for T's next stop.  Returns the stop's kind: 1 an interrupt stop
 * (PTRACE_EVENT_STOP with SIGTRAP), 2 a system-call stop, 3 a group stop
 * (job control stopped the process), or -errno (-ESRCH: T is gone).  A
 * signal-delivery stop is passed on, with its signal, and waited past.
 */
static int next_stop(struct fnt_hijack *h)
{
	for (;;) {
		int st, sig;

		if (waitpid(h->tid, &st, __WALL) < 0)
			return errno == ECHILD ? -ESRCH : -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			h->seized = 0;
			return -ESRCH;
		}
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return sig == SIGTRAP ? 1 : 3;
		if (sig == (SIGTRAP | 0x80))
			return 2;
		/* A signal for T (one that cannot be blocked, or one that came
		 * before we blocked them): T takes it as it would have. */
		h->passed = 1;
		if (ptrace(PTRACE_CONT, h->tid, 0, (void *)(long)sig) < 0)
			return -errno;
	}
}

static int read_state(struct fnt_hijack *h, char *err, size_t cap)
{
	struct iovec iov = { h->xstate, XSTATE_MAX };
	uint32_t sw[12];
	uint64_t xcr0;

	if (ptrace(PTRACE_GETREGS, h->tid, 0, &h->orig) < 0)
		return fail(err, cap, errno, "cannot read the registers of thread %d: %s", h->tid,
			    strerror(errno));
	if (ptrace(PTRACE_GETSIGMASK, h->tid, (void *)8, &h->mask) < 0)
		return fail(err, cap, errno, "cannot read the signal mask of thread %d: %s",
			    h->tid, strerror(errno));
	if (ptrace(PTRACE_GETREGSET, h->tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return fail(err, cap, errno, "cannot read the vector state of thread %d: %s",
			    h->tid, strerror(errno));
	h->xlen = iov.iov_len;
	/* ptrace puts XCR0 in the area's first software bytes; a signal frame
	 * wants struct _fpx_sw_bytes there (magic, sizes, features), and a
	 * second magic word right after the area. */
	memcpy(&xcr0, h->xstate + SW_RESERVED, 8);
	if (h->xlen < 576 || h->xlen + 4 > XSTATE_MAX || !(xcr0 & 3))
		return fail(err, cap, ENOTSUP,
			    "thread %d: unexpected XSAVE layout (%zu bytes): not attaching", h->tid,
			    h->xlen);
	memset(sw, 0, sizeof(sw));
	sw[0] = FP_XSTATE_MAGIC1;
	sw[1] = (uint32_t)h->xlen + 4;
	memcpy(&sw[2], &xcr0, 8);
	sw[4] = (uint32_t)h->xlen;
	memcpy(h->xstate + SW_RESERVED, sw, sizeof(sw));
	return 0;
}

static int stack_mapping(struct fnt_hijack *h)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", h->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	h->stack_lo = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && h->orig.rsp > lo &&
		    h->orig.rsp <= hi && perms[0] == 'r' && perms[1] == 'w') {
			h->stack_lo = lo;
			break;
		}
	}
	fclose(f);
	return h->stack_lo ? 0 : -ENOENT;
}

static int block_all(struct fnt_hijack *h)
{
	uint64_t all = ~0ull;

	return ptrace(PTRACE_SETSIGMASK, h->tid, (void *)8, &all) < 0 ? -errno : 0;
}

/*
 * A few blocking calls fail with EINTR when their thread merely stops (an
 * interrupt stop, as a SIGSTOP would): epoll_wait, semop, sigtimedwait,
 * a socket call with a timeout (signal(7), "Interruption of system calls
 * and library functions by stop signals").  The stop was ours, so the call
 * is made again, with the same arguments (a timeout starts again: a wait
 * may last longer, never shorter).  Not if a signal was delivered first:
 * the EINTR may be its, and the registers then are its handler's.
 */
static void unstop(struct fnt_hijack *h)
{
	if (h->passed || (long)h->orig.orig_rax < 0 || (long)h->orig.rax != -EINTR)
		return;
	h->orig.rax = h->orig.orig_rax;
	h->orig.rip -= 2;
}

int fnt__hijack_begin(struct fnt_hijack *h, int pid, int tid, uint64_t gadget,
		      uint64_t restorer, char *err, size_t cap)
{
	char path[64];
	int r;

	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->tid = tid;
	h->gadget = gadget;
	h->restorer = restorer;
	h->memfd = -1;
	h->xstate = aligned_alloc(64, XSTATE_MAX);
	if (!h->xstate)
		return fail(err, cap, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	h->memfd = open(path, O_RDWR | O_CLOEXEC);
	if (h->memfd < 0)
		return fail(err, cap, errno, "cannot open %s: %s", path, strerror(errno));
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0)
		return fail(err, cap, errno, "cannot trace thread %d of process %d: %s", tid, pid,
			    strerror(errno));
	h->seized = 1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
		return fail(err, cap, errno, "cannot stop thread %d: %s", tid, strerror(errno));
	r = next_stop(h);
	if (r == -ESRCH)
		return fail(err, cap, ESRCH, "thread %d of process %d ended", tid, pid);
	if (r == 3)
		return fail(err, cap, EAGAIN, "process %d is stopped (job control): not attaching",
			    pid);
	if (r != 1)
		return fail(err, cap, r < 0 ? -r : EPROTO, "thread %d did not stop as asked", tid);
	r = read_state(h, err, cap);
	if (r < 0)
		return r;
	unstop(h);
	return 0;
}

int fnt__hijack_has_stack(struct fnt_hijack *h)
{
	return stack_mapping(h) == 0 && h->orig.rsp - RED_ZONE - h->xlen - 4096 > h->stack_lo + 4096;
}

uint64_t fnt__hijack_ip(const struct fnt_hijack *h)
{
	return h->orig.rip;
}

long fnt__hijack_in_syscall(const struct fnt_hijack *h)
{
	return (long)h->orig.orig_rax;
}

int fnt__hijack_reseat(struct fnt_hijack *h, int usec, char *err, size_t cap)
{
	int r;

	if (ptrace(PTRACE_CONT, h->tid, 0, 0) < 0)
		return fail(err, cap, errno, "thread %d: %s", h->tid, strerror(errno));
	usleep(usec);
	if (ptrace(PTRACE_INTERRUPT, h->tid, 0, 0) < 0)
		return fail(err, cap, errno, "cannot stop thread %d: %s", h->tid, strerror(errno));
	r = next_stop(h);
	if (r != 1)
		return fail(err, cap, r == -ESRCH ? ESRCH : EAGAIN,
			    "thread %d %s", h->tid, r == -ESRCH ? "ended" : "did not stop as asked");
	h->passed = 0;
	r = read_state(h, err, cap);
	if (!r)
		unstop(h);
	return r;
}

/*
 * What the kernel would do to a stopped thread's registers as it returns
 * to user mode without running a handler: restart the call it was in.
 * One difference: rt_sigreturn voids the kernel's restart block, so a call
 * that would resume with restart_syscall (nanosleep with the time left) is
 * made again from the start instead (a longer sleep, never an EINTR).
 */
static void restart(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -512:	/* ERESTARTSYS */
	case -513:	/* ERESTARTNOINTR */
	case -514:	/* ERESTARTNOHAND */
	case -516:	/* ERESTART_RESTARTBLOCK */
		r->rax = r->orig_rax;
		r->rip -= 2;
		break;
	}
}

/*
 * Writes the way back (a signal frame of T's own state) below T's red
 * zone.  Returns the stack pointer T runs the call with: the restorer's
 * address, which the gadget's `ret` pops, then the frame.
 */
static int write_frame(struct fnt_hijack *h, uint64_t *sp, char *err, size_t cap)
{
	uint64_t top = h->orig.rsp - RED_ZONE, fp, uc, f;
	struct user_regs_struct r = h->orig;
	size_t len;
	uint8_t *buf;
	ucontext_t *u;
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	greg_t *g;
	int ret;

	fp = (top - (h->xlen + 4)) & ~63ull;
	uc = (fp - sizeof(ucontext_t)) & ~15ull;
	f = uc - 8;
	if (f < h->stack_lo + 4096)
		return fail(err, cap, ENOSPC, "thread %d has no room on its stack", h->tid);
	len = top - f;
	buf = calloc(1, len);
	if (!buf)
		return fail(err, cap, ENOMEM, "out of memory");
	memcpy(buf, &h->restorer, 8);
	u = (ucontext_t *)(buf + (uc - f));
	u->uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	/* Not a valid mode: the kernel leaves the alternate stack alone. */
	u->uc_stack.ss_flags = 3;
	restart(&r);
	g = u->uc_mcontext.gregs;
	g[REG_R8] = (greg_t)r.r8;
	g[REG_R9] = (greg_t)r.r9;
	g[REG_R10] = (greg_t)r.r10;
	g[REG_R11] = (greg_t)r.r11;
	g[REG_R12] = (greg_t)r.r12;
	g[REG_R13] = (greg_t)r.r13;
	g[REG_R14] = (greg_t)r.r14;
	g[REG_R15] = (greg_t)r.r15;
	g[REG_RDI] = (greg_t)r.rdi;
	g[REG_RSI] = (greg_t)r.rsi;
	g[REG_RBP] = (greg_t)r.rbp;
	g[REG_RBX] = (greg_t)r.rbx;
	g[REG_RDX] = (greg_t)r.rdx;
	g[REG_RAX] = (greg_t)r.rax;
	g[REG_RCX] = (greg_t)r.rcx;
	g[REG_RSP] = (greg_t)r.rsp;
	g[REG_RIP] = (greg_t)r.rip;
	g[REG_EFL] = (greg_t)r.eflags;
	g[REG_CSGSFS] = (greg_t)((r.cs & 0xffff) | ((uint64_t)(r.ss & 0xffff) << 48));
	u->uc_mcontext.fpregs = (fpregset_t)fp;
	memcpy(&u->uc_sigmask, &h->mask, 8);
	memcpy(buf + (fp - f), h->xstate, h->xlen);
	memcpy(buf + (fp - f) + h->xlen, &magic2, 4);
	ret = fnt__hijack_write(h, f, buf, len);
	free(buf);
	if (ret < 0)
		return fail(err, cap, -ret, "cannot write to the stack of thread %d: %s", h->tid,
			    strerror(-ret));
	*sp = f;
	return 0;
}

int fnt__hijack_syscall(struct fnt_hijack *h, long nr, const long args[6], long *ret, char *err,
			size_t cap)
{
	struct user_regs_struct r = h->orig, out;
	uint64_t sp = 0;
	int k, e;

	e = write_frame(h, &sp, err, cap);
	if (e < 0)
		return e;
	r.rip = h->gadget;
	r.rsp = sp;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = (uint64_t)args[0];
	r.rsi = (uint64_t)args[1];
	r.rdx = (uint64_t)args[2];
	r.r10 = (uint64_t)args[3];
	r.r8 = (uint64_t)args[4];
	r.r9 = (uint64_t)args[5];
	if (ptrace(PTRACE_SETREGS, h->tid, 0, &r) < 0)
		return fail(err, cap, errno, "cannot set the registers of thread %d: %s", h->tid,
			    strerror(errno));
	/* Every signal waits while T runs the gadget (set after the registers:
	 * should fntrace die in between, T's own mask is what its frame puts
	 * back anyway; and put back before them, below). */
	e = block_all(h);
	if (e < 0) {
		e = -e;
		goto back;
	}
	/* Test hook (e2e/attach_states): fntrace dies holding T, which must
	 * find its way back by the frame alone. */
	if (getenv("FNTRACE_TEST_HIJACK_DIE"))
		kill(getpid(), SIGKILL);
	/* Entry, then exit of the call. */
	for (int i = 0; i < 2; i++) {
		if (ptrace(PTRACE_SYSCALL, h->tid, 0, 0) < 0) {
			e = errno;
			goto back;
		}
		k = next_stop(h);
		if (k != 2) {
			e = k == -ESRCH ? ESRCH : EPROTO;
			goto back;
		}
	}
	if (ptrace(PTRACE_GETREGS, h->tid, 0, &out) < 0) {
		e = errno;
		goto back;
	}
	*ret = (long)out.rax;
	/* Stop T again before it runs a user instruction, in the kernel's
	 * signal path, where its registers go back. */
	if (ptrace(PTRACE_INTERRUPT, h->tid, 0, 0) < 0 || ptrace(PTRACE_CONT, h->tid, 0, 0) < 0) {
		e = errno;
		goto back;
	}
	k = next_stop(h);
	if (k != 1) {
		e = k == -ESRCH ? ESRCH : EPROTO;
		goto back;
	}
	/* The mask first: should fntrace die between the two, T still runs
	 * the gadget and its frame, which restore both. */
	if (ptrace(PTRACE_SETSIGMASK, h->tid, (void *)8, &h->mask) < 0 ||
	    ptrace(PTRACE_SETREGS, h->tid, 0, &h->orig) < 0)
		return fail(err, cap, errno, "cannot restore the state of thread %d: %s",
			    h->tid, strerror(errno));
	return 0;
back:
	/* Wherever T stopped, its own state goes back (if it still is). */
	if (h->seized) {
		ptrace(PTRACE_SETSIGMASK, h->tid, (void *)8, &h->mask);
		ptrace(PTRACE_SETREGS, h->tid, 0, &h->orig);
	}
	return fail(err, cap, e, "thread %d: the system call %ld did not run as planned (%s)",
		    h->tid, nr, strerror(e));
}

void fnt__hijack_end(struct fnt_hijack *h)
{
	if (h->seized) {
		ptrace(PTRACE_DETACH, h->tid, 0, 0);
		h->seized = 0;
	}
	if (h->memfd >= 0)
		close(h->memfd);
	h->memfd = -1;
	free(h->xstate);
	h->xstate = NULL;
}

/* --- a write with the world stopped ------------------------------------ */

#define POKE_MAX_THREADS 4096

static int comm_is(int pid, int tid, const char *name)
{
	char path[64], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return !strcmp(buf, name);
}

/* The state letter of thread tid of pid ('?' when it is gone). */
static char task_state(int pid, int tid)
{
	char path[80], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Has a thread ended (a zombie, dead or gone)?  It runs no more code, and
 * waiting for its stop could wait for ever: a zombie leader is reported
 * only once every other thread is reaped, by us among others. */
static int task_ended(int pid, int tid)
{
	char st = task_state(pid, tid);

	return st == 'Z' || st == 'X' || st == '?';
}

/* One look for tid's interrupt stop: 1 when it stopped or ended, 0 when
 * not yet.  A signal on its way is passed on first; as unstop(), a call
 * the stop failed with EINTR is made again (*passed: a signal was passed,
 * so an EINTR is the program's own). */
static int poll_stop(int pid, int tid, int *passed)
{
	struct user_regs_struct regs;
	int st;
	pid_t w = waitpid(tid, &st, __WALL | WNOHANG);

	if (w == 0)
		return task_ended(pid, tid);
	if (w < 0 || !WIFSTOPPED(st))
		return 1;
	if ((st >> 16) == PTRACE_EVENT_STOP) {
		if (!*passed && ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0 &&
		    (long)regs.orig_rax >= 0 && (long)regs.rax == -EINTR) {
			regs.rax = regs.orig_rax;
			regs.rip -= 2;
			ptrace(PTRACE_SETREGS, tid, 0, &regs);
		}
		return 1;
	}
	*passed = 1;
	ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(st));
	return 0;
}

/* Waits until each of the n threads tids[] whose bit is set in pend[] has
 * stopped or ended.  Polled rather than blocking on one thread, so that no
 * thread's stop waits behind another's exit. */
static void wait_stops(int pid, const int *tids, int n, unsigned char *pend)
{
	unsigned char passed[POKE_MAX_THREADS] = { 0 };

	for (int left = 1; left;) {
		left = 0;
		for (int i = 0; i < n; i++) {
			int p = passed[i];

			if (!(pend[i / 8] & (1u << (i % 8))))
				continue;
			if (poll_stop(pid, tids[i], &p))
				pend[i / 8] &= (unsigned char)~(1u << (i % 8));
			else
				left = 1;
			passed[i] = (unsigned char)p;
		}
		if (left)
			usleep(20);
	}
}

/* Is the process on its way out: no thread left that has not ended?  Its
 * threads then refuse a seize with EPERM, which is no permission problem.
 * (A leader that ended before its threads is a zombie while they run on.) */
static int exiting(int pid)
{
	char path[64];
	struct dirent *d;
	int live = 0;
	DIR *dp;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dp = opendir(path);
	if (!dp)
		return 1;
	while ((d = readdir(dp)))
		if (atoi(d->d_name) > 0 && !task_ended(pid, atoi(d->d_name)))
			live = 1;
	closedir(dp);
	return !live;
}

/*
 * Seizes and stops every thread not yet in held[], until a listing finds
 * no new one; *nheld counts them, also on failure, for the caller to
 * detach.  Returns 0 or -errno (-ESRCH: the process is ending).  Each listing interrupts all its new threads before it waits
 * for any, so every thread's pause is one stop, not the sum of the stops
 * before it.
 */
static int stop_all(int pid, const char *skip, int *held, int *nheldp)
{
	int nheld = *nheldp;

	for (int more = 1; more;) {
		char dir[64];
		struct dirent *d;
		DIR *dp;
		int first = nheld, r = 0;
		/* Threads of this listing the interrupt reached (bit i - first). */
		unsigned char intr[POKE_MAX_THREADS / 8] = { 0 };

		more = 0;
		snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
		dp = opendir(dir);
		if (!dp) {
			*nheldp = nheld;
			return errno == ENOENT ? -ESRCH : -errno;
		}
		while ((d = readdir(dp))) {
			int tid = atoi(d->d_name), have = 0;

			if (tid <= 0 || comm_is(pid, tid, skip) || task_ended(pid, tid))
				continue;
			for (int i = 0; i < nheld && !have; i++)
				have = held[i] == tid;
			if (have)
				continue;
			if (nheld == POKE_MAX_THREADS) {
				r = -E2BIG;
				break;
			}
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
				if (errno == ESRCH)
					continue;	/* it ended */
				r = exiting(pid) ? -ESRCH : -errno;
				break;
			}
			held[nheld++] = tid;
			more = 1;
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0)
				intr[(nheld - 1 - first) / 8] |= 1u << ((nheld - 1 - first) % 8);
		}
		closedir(dp);
		/* Every thread seized in this listing is waited for, also when
		 * the listing failed: the caller detaches them all. */
		wait_stops(pid, held + first, nheld - first, intr);
		*nheldp = nheld;
		if (r < 0)
			return r;
	}
	return 0;
}

int fnt__poke_stopped(int pid, const char *skip, uint64_t addr, const uint8_t *old,
		      const uint8_t *new_, size_t n, char *err, size_t cap)
{
	int *held = calloc(POKE_MAX_THREADS, sizeof(int)), nheld = 0, fd = -1, r = 0;
	uint8_t cur[16];
	char path[64];

	if (!held || n > sizeof(cur)) {
		free(held);
		return fail(err, cap, ENOMEM, "out of memory");
	}
	r = stop_all(pid, skip, held, &nheld);
	if (r == -ESRCH) {
		r = fail(err, cap, ESRCH, "process %d ended", pid);
		goto out;
	}
	if (r < 0) {
		r = fail(err, cap, -r, "cannot stop the threads of process %d: %s", pid,
			 strerror(-r));
		goto out;
	}
	for (int i = 0; i < nheld; i++) {
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, held[i], 0, &regs) == 0 && regs.rip > addr &&
		    regs.rip < addr + n) {
			r = fail(err, cap, EBUSY, "thread %d of process %d is inside %#lx", held[i],
				 pid, (unsigned long)addr);
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, cur, n, (off_t)addr) != (ssize_t)n) {
		r = fail(err, cap, errno ? errno : EIO, "cannot read %#lx in process %d",
			 (unsigned long)addr, pid);
		goto out;
	}
	if (memcmp(cur, old, n)) {
		r = fail(err, cap, EILSEQ, "the bytes at %#lx in process %d are not the expected "
			 "ones: not written", (unsigned long)addr, pid);
		goto out;
	}
	if (pwrite(fd, new_, n, (off_t)addr) != (ssize_t)n ||
	    pread(fd, cur, n, (off_t)addr) != (ssize_t)n || memcmp(cur, new_, n))
		r = fail(err, cap, EIO, "cannot write %#lx in process %d", (unsigned long)addr,
			 pid);
out:
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < nheld; i++)
		ptrace(PTRACE_DETACH, held[i], 0, 0);
	free(held);
	return r;
}
