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
 *
 * The "abandon" rounds: a second worker's callback raises SIGUSR1, whose
 * handler leaves the hook with setcontext() (as a green-thread scheduler
 * may; the runtime sees the longjmp family, not this); the worker then
 * makes no traced call until told to.  fnt_disable() and fnt_unregister_ops() must still
 * return (the guard the jump left behind is found dead), and the worker
 * must be traced again afterwards.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))

NOINL int t_q(int x) { __asm__ volatile(""); return x + 1; }
NOINL int t_j(int x) { __asm__ volatile(""); return x + 2; }

static _Atomic int inside, slow, stop;
static _Atomic long calls;

/* The abandon rounds' state: jump (the callback should jump), jumped
 * (the handler did), resume (the worker may call t_j again). */
static _Atomic int jump, jumped, resume, go;
static _Atomic long jcalls;
static pthread_t jumper;
static ucontext_t jctx;

static void on_usr1(int sig)
{
	setcontext(&jctx);
}

/* In a callback on the jumper thread: leave the hook for good. */
static void maybe_jump(void)
{
	if (!pthread_equal(pthread_self(), jumper))
		return;
	jcalls++;
	if (jump) {
		jump = 0;
		raise(SIGUSR1);
	}
}

static void dwell(void)
{
	maybe_jump();
	if (pthread_equal(pthread_self(), jumper))
		return;
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

/* Waits in a frame that covers where the hook's frames were (its words
 * overwritten), unlike a wait from jump_worker's own frame. */
static NOINL void deep_wait(void)
{
	struct timespec ms = { 0, 1000000 };
	volatile char pad[2048];

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = (char)i;
	while (!resume && !stop)
		nanosleep(&ms, NULL);
	(void)pad[0];
}

static _Atomic int deep;

static void *jump_worker(void *arg)
{
	struct timespec ms = { 0, 1000000 };
	volatile int back = 0;
	long s = 0;

	while (!go)
		nanosleep(&ms, NULL);
	getcontext(&jctx);
	if (back) {
		/* Out of the hook, its guard left behind: no traced call
		 * until the main thread has disabled. */
		jumped = 1;
		if (deep)
			deep_wait();
		while (!resume && !stop)
			nanosleep(&ms, NULL);
		resume = 0;
	}
	back = 1;
	while (!stop)
		s += t_j((int)s);
	return (void *)s;
}

static void *watchdog(void *arg)
{
	/* A loop on the clock: our signals (the signal sync's, a probe)
	 * cut a sleep short. */
	for (time_t end = time(NULL) + 60; time(NULL) < end;)
		sleep(1);
	printf("FAILED: hung for 60 s (an abandoned guard was waited for)\n");
	fflush(stdout);
	_exit(1);
}

static int on_jump_entry(const struct fnt_call *c, void *data)
{
	maybe_jump();
	return FNT_SKIP_EXIT;
}

/*
 * mode: "disable" (the built-in tracer on t_j) or "unregister" (an ops of
 * its own).  The jumper leaves a hook of t_j with siglongjmp and then
 * makes no traced call; disabling must return all the same.  Returns the
 * number of failures.
 */
static int abandon_round(const char *mode, int r)
{
	struct fnt_ops ops = { .filter = "t_j", .entry = on_jump_entry };
	struct timespec ms = { 0, 1000000 };
	int ret, failures = 0;
	long before;

	ret = !strcmp(mode, "disable") ? fnt_enable("t_j") : fnt_register_ops(&ops);
	if (ret) {
		fprintf(stderr, "abandon %s: %s\n", mode, fnt_strerror(ret));
		return 1;
	}
	jumped = 0;
	jump = 1;
	for (int i = 0; !jumped; i++) {
		if (i > 10000) {
			printf("abandon round %d: the callback never jumped\n", r);
			return 1;
		}
		nanosleep(&ms, NULL);
	}
	ret = !strcmp(mode, "disable") ? fnt_disable("t_j") : fnt_unregister_ops(&ops);
	if (ret) {
		fprintf(stderr, "abandon %s: %s\n", mode, fnt_strerror(ret));
		return 1;
	}
	/* The jumper is traced again: its guard was given back. */
	if (fnt_register_ops(&ops)) {
		fprintf(stderr, "abandon %s: cannot register again\n", mode);
		return 1;
	}
	before = jcalls;
	resume = 1;
	for (int i = 0; jcalls == before; i++) {
		if (i > 10000) {
			printf("abandon round %d (%s): the jumper is never traced again\n", r, mode);
			failures++;
			break;
		}
		nanosleep(&ms, NULL);
	}
	if (fnt_unregister_ops(&ops)) {
		fprintf(stderr, "abandon %s: cannot unregister\n", mode);
		return 1;
	}
	return failures;
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

	struct sigaction sa;
	pthread_t j, w;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		perror("sigaction");
		return 1;
	}
	pthread_create(&w, NULL, watchdog, NULL);
	pthread_create(&j, NULL, jump_worker, NULL);
	jumper = j;
	go = 1;
	for (int r = 0; r < 10; r++) {
		deep = r & 1;
		failures += abandon_round("disable", r);
		failures += abandon_round("unregister", r);
	}
	stop = 1;
	pthread_join(t, NULL);
	pthread_join(j, NULL);
	if (calls == 0) {
		printf("no callback ran: nothing was tested\n");
		failures++;
	}
	printf(failures ? "FAILED\n" : "OK\n");
	return failures != 0;
}
