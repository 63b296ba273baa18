/*
 * masks.c - every libc path that installs a signal mask, while the main
 * thread toggles tracing (issue 8, item 7).  Without the wrappers the
 * worker runs traced code with SIGTRAP blocked and an int3 kills the
 * process; with them every toggle succeeds and nobody dies.
 *
 * usage: masks MODE ROUNDS
 *   coro:      a makecontext coroutine whose uc_sigmask is full, entered
 *              and left with swapcontext, calls traced functions;
 *   setctx:    getcontext, fill uc_sigmask, setcontext, call, repeat;
 *   sigsuspend, pselect, ppoll, epoll: the worker waits with a full
 *              mask (but SIGUSR1); a SIGUSR1 handler calls traced code;
 *   jmpbuf:    the mask saved by sigsetjmp gains SIGTRAP before
 *              siglongjmp restores it;
 *   bsd:       sigblock, sigsetmask, sighold, sigset(SIG_HOLD) of SIGTRAP;
 *   syscall:   syscall(SYS_rt_sigprocmask) blocking SIGTRAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)

NOINL int t_work(int x) { __asm__ volatile(""); return x * 11 + 4; }

static const char *mode;
static _Atomic int stop, ready;
static _Atomic long bad, calls;

static void burst(void)
{
	for (int i = 0; i < 200; i++)
		if (t_work(i) != i * 11 + 4)
			bad++;
	calls++;
}

static ucontext_t main_ctx, coro_ctx;

static void coro(void)
{
	for (;;) {
		burst();
		swapcontext(&coro_ctx, &main_ctx);
	}
}

static void on_usr1(int sig)
{
	burst();
}

static void full_but_usr1(sigset_t *m)
{
	sigfillset(m);
	sigdelset(m, SIGUSR1);
}

static void *worker(void *arg)
{
	static __thread char stack[65536];
	sigset_t m;
	struct timespec ts = { 0, 1000000 };
	int ep = epoll_create1(0);

	ready = 1;
	while (!stop) {
		if (!strcmp(mode, "coro")) {
			if (!coro_ctx.uc_stack.ss_sp) {
				getcontext(&coro_ctx);
				coro_ctx.uc_stack.ss_sp = stack;
				coro_ctx.uc_stack.ss_size = sizeof(stack);
				coro_ctx.uc_link = NULL;
				makecontext(&coro_ctx, coro, 0);
			}
			sigfillset(&coro_ctx.uc_sigmask);
			swapcontext(&main_ctx, &coro_ctx);
		} else if (!strcmp(mode, "setctx")) {
			volatile int n = 0;
			ucontext_t uc;

			getcontext(&uc);
			if (n++ < 10) {
				burst();
				sigfillset(&uc.uc_sigmask);
				setcontext(&uc);
			}
			sigemptyset(&m);
			pthread_sigmask(SIG_SETMASK, &m, NULL);
		} else if (!strcmp(mode, "sigsuspend")) {
			full_but_usr1(&m);
			sigsuspend(&m);
		} else if (!strcmp(mode, "pselect")) {
			full_but_usr1(&m);
			pselect(0, NULL, NULL, NULL, &ts, &m);
		} else if (!strcmp(mode, "ppoll")) {
			full_but_usr1(&m);
			ppoll(NULL, 0, &ts, &m);
		} else if (!strcmp(mode, "epoll")) {
			struct epoll_event ev;

			full_but_usr1(&m);
			epoll_pwait(ep, &ev, 1, 1, &m);
		} else if (!strcmp(mode, "jmpbuf")) {
			sigjmp_buf env;

			if (!sigsetjmp(env, 1)) {
				sigaddset(&env[0].__saved_mask, SIGTRAP);
				siglongjmp(env, 1);
			}
			burst();
		} else if (!strcmp(mode, "bsd")) {
			int old = sigblock(sigmask(SIGTRAP));

			burst();
			sigsetmask(~0);
			burst();
			sigsetmask(old);
			sighold(SIGTRAP);
			burst();
			sigrelse(SIGTRAP);
			sigset(SIGTRAP, SIG_HOLD);
			burst();
			sigrelse(SIGTRAP);
		} else if (!strcmp(mode, "syscall")) {
			unsigned long k = 1ul << (SIGTRAP - 1);

			syscall(SYS_rt_sigprocmask, SIG_BLOCK, &k, NULL, 8);
			burst();
			syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &k, NULL, 8);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 300;
	struct sigaction sa;
	struct fnt_status st;
	pthread_t th;

	mode = argc > 1 ? argv[1] : "coro";
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	pthread_create(&th, NULL, worker, NULL);
	while (!ready)
		usleep(1000);
	for (int r = 0; r < rounds; r++) {
		int ret = fnt_enable("t_*");

		if (!ret)
			ret = fnt_disable(NULL);
		if (ret) {
			printf("round %d: %s\n", r, fnt_strerror(ret));
			return 1;
		}
		pthread_kill(th, SIGUSR1);
	}
	stop = 1;
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	fnt_status(&st);
	printf("%s: rounds=%d calls=%ld traps=%lu bad=%ld\n", mode, rounds, (long)calls,
	       (unsigned long)st.traps, (long)bad);
	CHECK(!bad && calls > 0 && !st.disabled);
	printf("OK\n");
	return 0;
}
