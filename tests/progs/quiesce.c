/*
 * quiesce.c - when fnt_disable() or fnt_unregister_ops() returns, no entry
 * callback of the removed sites (or ops) is still running or starts later.
 *
 * A worker calls a traced function in a loop; its callback (the entry, or
 * for "unregister-exit" the exit), when told to, stays inside for 5 ms.  The main thread waits until the worker is inside
 * that slow callback, then disables (or unregisters).  The call must not
 * return while the callback runs, and no callback may start afterwards.
 * Without the wait in the runtime, the callback is still inside when the
 * call returns, every time.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))

NOINL int t_q(int x) { __asm__ volatile(""); return x + 1; }

static _Atomic int inside, slow, stop;
static _Atomic long calls;

static void dwell(void)
{
	calls++;
	if (slow) {
		inside = 1;
		usleep(5000);
		inside = 0;
	}
}

static int on_entry(const struct fnt_call *c, void *data)
{
	dwell();
	return FNT_SKIP_EXIT;
}

static int on_entry_quick(const struct fnt_call *c, void *data)
{
	return 0;
}

static void on_exit_slow(const struct fnt_call *c, void *data)
{
	dwell();
}

static void *worker(void *arg)
{
	long s = 0;

	while (!stop)
		s += t_q((int)s);
	return (void *)s;
}

/* mode: "disable", "unregister" or "unregister-exit".  Returns the
 * number of failures. */
static int round_(const char *mode, int r)
{
	struct fnt_ops ops = { .filter = "t_q", .entry = on_entry };

	if (!strcmp(mode, "unregister-exit")) {
		ops.entry = on_entry_quick;
		ops.exit = on_exit_slow;
	}
	struct timespec ts = { 0, 20000000 };
	long before;
	int ret, failures = 0;

	if (!strcmp(mode, "disable"))
		ret = fnt_enable("t_q");
	else
		ret = fnt_register_ops(&ops);
	if (ret) {
		fprintf(stderr, "%s: %s\n", mode, fnt_strerror(ret));
		return 1;
	}
	slow = 1;
	for (long spins = 0; !inside; spins++)
		if (spins > 4000000000l) {
			printf("round %d: the callback never ran\n", r);
			return 1;
		}
	if (!strcmp(mode, "disable"))
		ret = fnt_disable("t_q");
	else
		ret = fnt_unregister_ops(&ops);
	slow = 0;
	if (ret) {
		fprintf(stderr, "%s: %s\n", mode, fnt_strerror(ret));
		return 1;
	}
	if (inside) {
		printf("round %d: %s returned while a callback ran\n", r, mode);
		failures++;
	}
	before = calls;
	nanosleep(&ts, NULL);
	if (calls != before) {
		printf("round %d: %ld callbacks after %s returned\n", r, calls - before, mode);
		failures++;
	}
	return failures;
}

int main(void)
{
	pthread_t t;
	int failures = 0;

	if (fnt_set_builtin_tracer(on_entry, NULL, NULL)) {
		fprintf(stderr, "fnt_set_builtin_tracer failed\n");
		return 1;
	}
	pthread_create(&t, NULL, worker, NULL);
	for (int r = 0; r < 20; r++) {
		failures += round_("disable", r);
		failures += round_("unregister", r);
		failures += round_("unregister-exit", r);
	}
	stop = 1;
	pthread_join(t, NULL);
	if (calls == 0) {
		printf("no callback ran: nothing was tested\n");
		failures++;
	}
	printf(failures ? "FAILED\n" : "OK\n");
	return failures != 0;
}
