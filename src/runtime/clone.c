/*
 * clone.c - the clones that fork() and pthread_create() do not cover.
 *
 * The runtime's per-thread state lives in TLS, and its fork handlers give
 * a child process rings and records of its own.  Two kinds of clone
 * escape both:
 *
 *   - CLONE_VM without CLONE_SETTLS: a thread (or a vfork child) that runs
 *     with the caller's %fs, so with the caller's thread record and ring
 *     writer.  Two threads writing one ring deadlock the function tracer
 *     and one shadow stack crashes function_graph.  The caller's record is
 *     marked shared: each hook on it then checks the kernel's tid, and the
 *     other thread's calls are counted lost (neither traced nor blocked).
 *   - no CLONE_VM: a new process, made without running the fork handlers
 *     (googletest's "threadsafe" death tests), that would write into the
 *     parent's rings.  The clone runs the runtime's fork preparation and
 *     handlers around it, as fork() does.
 *
 * glibc's clone() and syscall() are interposed for this.  A clone made
 * some other way (inline assembly) is still caught: a hook that finds the
 * guard of a thread with another tid marks the record shared (hooks.c),
 * and the recorder's rings are owned through memory that the kernel wipes
 * in every new process (recorder.c).
 */
#include <dlfcn.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/runtime.h"

typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);
typedef long (*syscall_fn)(long, ...);

/* What the child of a process-making clone() runs first. */
struct start {
	int (*fn)(void *);
	void *arg;
};

static int child_start(void *p)
{
	/* A copy of the parent's frame: the parent may have returned. */
	struct start s = *(struct start *)p;

	fnt__fork_child();
	return s.fn(s.arg);
}

FNT_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static clone_fn real;
	struct start s = { fn, arg };
	pid_t *ptid;
	void *tls;
	pid_t *ctid;
	va_list ap;
	int ret;

	/* glibc reads the three optional arguments whatever the flags say. */
	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!real)
		real = (clone_fn)dlsym(RTLD_NEXT, "clone");
	if (!real)
		return -1;
	if (!(flags & CLONE_VM)) {
		fnt__fork_prepare();
		ret = real(child_start, stack, flags, &s, ptid, tls, ctid);
		fnt__fork_parent();
		return ret;
	}
	if (flags & CLONE_SETTLS)
		return real(fn, stack, flags, arg, ptid, tls, ctid);
	fnt__hooks_share_tls(1);
	ret = real(fn, stack, flags, arg, ptid, tls, ctid);
	/* A vfork child has exec'd or exited by the time we run again. */
	if ((flags & CLONE_VFORK) || ret < 0)
		fnt__hooks_share_tls(0);
	return ret;
}

/*
 * syscall(SYS_clone, flags, stack, ...) and SYS_clone3: the child returns
 * from this very call.  Without CLONE_VM it is a process with a copy of
 * our stack, and runs the fork handlers here; with CLONE_VM and a stack of
 * its own it cannot return into our frame, so only the TLS sharing is
 * marked.  Every other call goes straight through.
 */
/* It reads six arguments whatever the call passed, as the libc wrapper
 * does: the extra ones are whatever lies in their registers or on the
 * caller's stack, never used.  AddressSanitizer (the tests' SAN build
 * links these objects) takes the read on the stack for an underflow. */
__attribute__((no_sanitize("address")))
FNT_EXPORT long syscall(long n, ...)
{
	static syscall_fn real;
	long a[6], flags, ret;
	va_list ap;
	int process;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
	if (!real)
		return -1;
	if (n == SYS_clone)
		flags = a[0];
	else if (n == SYS_clone3 && a[0] && (unsigned long)a[1] >= sizeof(uint64_t))
		flags = (long)((struct clone_args *)a[0])->flags;
	else if (n == SYS_fork)
		flags = 0;
	else
		return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	process = !(flags & CLONE_VM);
	if (process)
		fnt__fork_prepare();
	else if (!(flags & CLONE_SETTLS))
		fnt__hooks_share_tls(1);
	ret = real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (process) {
		if (ret == 0)
			fnt__fork_child();
		else
			fnt__fork_parent();
	} else if (!(flags & CLONE_SETTLS) && ((flags & CLONE_VFORK) || ret < 0)) {
		fnt__hooks_share_tls(0);
	}
	return ret;
}
