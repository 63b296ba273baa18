/*
 * hijack.h - running raw system calls on a thread of another process
 * (x86-64, ptrace), leaving the thread exactly as it was: its registers,
 * its vector state, its signal mask and alternate stack, and a system call
 * it was blocked in (restarted as the kernel restarts it after a stop).
 * Used by fntrace to attach (src/cli/attach.c).
 *
 * Should fntrace die while it holds the thread, the thread still gets its
 * state back: it runs `syscall; ret` into the C library's signal restorer
 * with a signal frame of its own state, written below its red zone first.
 */
#ifndef FNT_ARCH_X86_64_HIJACK_H
#define FNT_ARCH_X86_64_HIJACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

struct fnt_hijack {
	int pid, tid, memfd;
	int seized;
	int passed;		/* a signal was passed on before T stopped */
	struct user_regs_struct orig;
	uint64_t mask;		/* the thread's blocked signals */
	uint8_t *xstate;	/* its XSAVE area (NT_X86_XSTATE) */
	size_t xlen;
	uint64_t gadget;	/* `syscall; ret` in the target */
	uint64_t restorer;	/* its C library's rt_sigreturn restorer */
	uint64_t stack_lo;	/* the mapping its stack pointer lies in */
};

/* Seizes tid of pid and stops it (the others run on).  gadget and restorer
 * are addresses in the target (attach.c finds them).  Returns 0 or -errno,
 * with one line in err. */
int fnt__hijack_begin(struct fnt_hijack *h, int pid, int tid, uint64_t gadget,
		      uint64_t restorer, char *err, size_t cap);
/* Runs one system call on the stopped thread, which stops again after it
 * in its own state.  Returns 0 with the call's result in *ret, or -errno
 * (the thread is then as it was, if it can be). */
int fnt__hijack_syscall(struct fnt_hijack *h, long nr, const long args[6], long *ret, char *err,
			size_t cap);
/* Lets the thread go on as it was.  Safe after a failed begin. */
void fnt__hijack_end(struct fnt_hijack *h);
/* Reads and writes the target's memory (through /proc/PID/mem, which also
 * writes pages mapped without write permission).  Return 0 or -errno. */
int fnt__hijack_read(struct fnt_hijack *h, uint64_t addr, void *buf, size_t len);
int fnt__hijack_write(struct fnt_hijack *h, uint64_t addr, const void *buf, size_t len);
/* Where the stopped thread is: its instruction pointer and, if it is in a
 * system call, the call's number (else -1). */
uint64_t fnt__hijack_ip(const struct fnt_hijack *h);
long fnt__hijack_in_syscall(const struct fnt_hijack *h);
/* 1 if the stopped thread's stack pointer lies in a writable mapping with
 * room below it for the way back (a signal frame); a thread that borrows
 * %rsp for data has none at that moment. */
int fnt__hijack_has_stack(struct fnt_hijack *h);
/* Lets the thread run a moment and stops it again (to find it elsewhere).
 * Returns 0 or -errno. */
int fnt__hijack_reseat(struct fnt_hijack *h, int usec, char *err, size_t cap);

/* Writes n bytes at addr in pid while every thread but those named skip
 * (their comm) is stopped, after checking that the bytes there are old and
 * that no stopped thread's instruction pointer lies inside them (past
 * their first byte).  Returns 0 or -errno with one line in err. */
int fnt__poke_stopped(int pid, const char *skip, uint64_t addr, const uint8_t *old,
		      const uint8_t *new_, size_t n, char *err, size_t cap);

#endif
