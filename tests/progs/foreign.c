/*
 * foreign.c - traps and masks that are not ours (seeds 002, 003, 004).
 *
 * usage: foreign handler|signal|default|masks|rawmask
 *   handler: the program's own SA_SIGINFO SIGTRAP handler gets every
 *            literal int3 and every raise(SIGTRAP), while another thread
 *            toggles tracing (so our handler is busy with our own traps).
 *   signal:  the same with signal(2).
 *   default: no handler: a literal int3 kills the process with SIGTRAP,
 *            exactly as without fntrace (the caller checks the status).
 *   masks:   workers block every signal and call traced functions while
 *            the main thread toggles: nobody is killed.
 *   rawmask: a thread blocks SIGTRAP with a raw syscall (bypassing the
 *            wrappers): enabling is refused with -EDEADLK and a message,
 *            and stays refused once it unblocks (it could block again).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)

NOINL int t_work(int x) { __asm__ volatile(""); return x * 7 + 1; }

static _Atomic int stop;
static _Atomic long my_traps, my_kills, worker_sum_bad;

static void on_trap_info(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code == SI_KERNEL)
		my_traps++;
	else
		my_kills++;
}

static void on_trap_plain(int sig)
{
	my_traps++;
}

static void *toggler(void *arg)
{
	while (!stop) {
		fnt_enable("t_*");
		fnt_disable("t_*");
	}
	return NULL;
}

static void *caller(void *arg)
{
	while (!stop)
		for (int i = 0; i < 1000; i++)
			if (t_work(i) != i * 7 + 1)
				worker_sum_bad++;
	return NULL;
}

static void *masked_caller(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	return caller(arg);
}

static _Atomic int raw_blocked, raw_release;

/* A syscall instruction of our own: not even libc's syscall() sees it. */
static long raw_sigprocmask(long how, const unsigned long *set)
{
	register long r10 __asm__("r10") = 8;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"((long)SYS_rt_sigprocmask), "D"(how), "S"(set), "d"(0L), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static void *raw_blocker(void *arg)
{
	unsigned long mask = 1ul << (SIGTRAP - 1);

	raw_sigprocmask(SIG_BLOCK, &mask);
	raw_blocked = 1;
	while (!raw_release)
		usleep(1000);
	raw_sigprocmask(SIG_UNBLOCK, &mask);
	raw_blocked = 2;
	while (!stop)
		usleep(1000);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "handler";
	pthread_t th[4];
	struct fnt_status st;

	if (!strcmp(mode, "handler") || !strcmp(mode, "signal")) {
		if (!strcmp(mode, "handler")) {
			struct sigaction sa, old;

			memset(&sa, 0, sizeof(sa));
			sa.sa_sigaction = on_trap_info;
			sa.sa_flags = SA_SIGINFO;
			CHECK(sigaction(SIGTRAP, &sa, NULL) == 0);
			/* The program sees its own handler installed. */
			CHECK(sigaction(SIGTRAP, NULL, &old) == 0);
			CHECK(old.sa_sigaction == on_trap_info);
		} else {
			CHECK(signal(SIGTRAP, on_trap_plain) != SIG_ERR);
		}
		pthread_create(&th[0], NULL, toggler, NULL);
		pthread_create(&th[1], NULL, caller, NULL);
		for (int i = 0; i < 1000; i++)
			__asm__ volatile("int3");
		for (int i = 0; i < 100; i++)
			raise(SIGTRAP);
		stop = 1;
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		fnt_status(&st);
		printf("my_traps=%ld my_kills=%ld our_traps=%lu bad=%ld\n", (long)my_traps,
		       (long)my_kills, (unsigned long)st.traps, (long)worker_sum_bad);
		if (!strcmp(mode, "handler")) {
			CHECK(my_traps == 1000 && my_kills == 100);
		} else {
			CHECK(my_traps == 1100);
		}
		CHECK(worker_sum_bad == 0 && !st.disabled);
	} else if (!strcmp(mode, "default")) {
		CHECK(fnt_enable(NULL) == 0);
		printf("about to trap\n");
		fflush(stdout);
		__asm__ volatile("int3");
		printf("survived an int3 with no handler\n");
		return 1;
	} else if (!strcmp(mode, "masks")) {
		sigset_t cur;

		pthread_create(&th[0], NULL, masked_caller, NULL);
		pthread_create(&th[1], NULL, masked_caller, NULL);
		for (int i = 0; i < 2000; i++) {
			CHECK(fnt_enable("t_*") == 0);
			CHECK(fnt_disable("t_*") == 0);
		}
		stop = 1;
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		/* The wrapper let the rest of the mask through. */
		sigfillset(&cur);
		pthread_sigmask(SIG_BLOCK, &cur, NULL);
		pthread_sigmask(SIG_BLOCK, NULL, &cur);
		CHECK(sigismember(&cur, SIGINT) && !sigismember(&cur, SIGTRAP));
		CHECK(worker_sum_bad == 0);
	} else if (!strcmp(mode, "rawmask")) {
		int ret;

		pthread_create(&th[0], NULL, raw_blocker, NULL);
		pthread_create(&th[1], NULL, caller, NULL);
		while (raw_blocked != 1)
			usleep(1000);
		ret = fnt_enable("t_*");
		printf("enable with a thread blocking SIGTRAP: %s\n", fnt_strerror(ret));
		CHECK(ret == -EDEADLK);
		fnt_status(&st);
		CHECK(st.enabled == 0 && !st.disabled);
		raw_release = 1;
		while (raw_blocked != 2)
			usleep(1000);
		/* Refused for good: the thread may block it again at any time. */
		CHECK(fnt_enable("t_*") == -EDEADLK);
		fnt_status(&st);
		CHECK(st.enabled == 0);
		stop = 1;
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		CHECK(worker_sum_bad == 0);
	}
	printf("OK\n");
	return 0;
}
