/*
 * sigstorm.c - a storm of signals whose handlers leave with siglongjmp,
 * aimed at threads that take our SIGTRAP while another thread toggles
 * tracing (issue 8, item 8).  fnt_enable/fnt_disable must neither hang
 * nor give up.
 *
 * usage: sigstorm ROUNDS
 *   Run with FNTRACE_TEST_TRAP_HOLD_NS, which makes the trap handler hold
 *   the batch's reference for that long, so that the storm lands there.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); exit(1); } } while (0)
#define NW 2

NOINL int t_work(int x) { __asm__ volatile(""); return x * 9 + 2; }

static _Atomic int stop, ready;
static _Atomic long jumps, bad;
static __thread sigjmp_buf env;
static __thread volatile sig_atomic_t armed;

static void on_usr1(int sig)
{
	if (armed)
		siglongjmp(env, 1);
}

static void *worker(void *arg)
{
	if (sigsetjmp(env, 1))
		jumps++;
	armed = 1;
	ready++;
	while (!stop)
		for (int i = 0; i < 1000; i++)
			if (t_work(i) != i * 9 + 2)
				bad++;
	armed = 0;
	return NULL;
}

static pthread_t w[NW];

static void *storm(void *arg)
{
	while (!stop) {
		for (int i = 0; i < NW; i++)
			pthread_kill(w[i], SIGUSR1);
		usleep(20);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 300, base = rounds;
	struct sigaction sa;
	struct fnt_status st;
	pthread_t s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_NODEFER;	/* no mask left behind by the jump */
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	for (int i = 0; i < NW; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	while (ready < NW)
		usleep(1000);
	pthread_create(&s, NULL, storm, NULL);
	/* Go on past ROUNDS (up to 50 times as many) until the storm had
	 * traps to land in, so that a quiet machine cannot pass untested. */
	for (int r = 0; r < rounds; r++) {
		if (r == rounds - 1 && rounds < 50 * base) {
			fnt_status(&st);
			if (st.traps < 20)
				rounds += 10;
		}
		int ret = fnt_enable("t_*");

		if (!ret)
			ret = fnt_disable(NULL);
		if (ret) {
			printf("round %d: %s\n", r, fnt_strerror(ret));
			return 1;
		}
	}
	stop = 1;
	pthread_join(s, NULL);
	for (int i = 0; i < NW; i++) {
		pthread_kill(w[i], SIGUSR1);
		pthread_join(w[i], NULL);
	}
	fnt_status(&st);
	printf("rounds=%d jumps=%ld traps=%lu bad=%ld disabled=%d\n", rounds, (long)jumps,
	       (unsigned long)st.traps, (long)bad, st.disabled);
	CHECK(!bad && !st.disabled && jumps > 0 && st.traps >= 20);
	printf("OK\n");
	return 0;
}
