/*
 * errno_keep.c - the tracer never changes errno.  A traced function that
 * reads errno (a logger called right after a failed syscall) must see the
 * syscall's errno, and its caller must see what it left, even though the
 * callbacks here clobber errno on entry and on exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fntrace.h"

#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); return 1; } } while (0)

__attribute__((noinline)) int log_errno(void)
{
	__asm__ volatile("");
	return errno;
}

__attribute__((noinline)) void set_errno(int e)
{
	__asm__ volatile("");
	errno = e;
}

static long entries, exits;

static int on_entry(const struct fnt_call *c, void *d)
{
	entries++;
	errno = 999;
	return 0;
}

static void on_exit_cb(const struct fnt_call *c, void *d)
{
	exits++;
	errno = 998;
}

int main(void)
{
	struct fnt_ops ops = { .filter = "log_errno,set_errno", .entry = on_entry, .exit = on_exit_cb };

	CHECK(fnt_register_ops(&ops) == 0);
	for (int i = 0; i < 100; i++) {
		CHECK(read(-1, NULL, 0) < 0 && errno == EBADF);
		CHECK(log_errno() == EBADF);	/* the entry hook kept it */
		CHECK(errno == EBADF);		/* the exit hook kept it */
		set_errno(EAGAIN);
		CHECK(errno == EAGAIN);		/* what the function left */
	}
	CHECK(fnt_unregister_ops(&ops) == 0);
	printf("entries=%ld exits=%ld\n", entries, exits);
	CHECK(entries == 200 && exits == 200);
	printf("OK\n");
	return 0;
}
