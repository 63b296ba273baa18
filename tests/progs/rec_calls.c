/*
 * rec_calls.c - a program for the recording end-to-end tests.  It counts
 * its own calls and prints the counts ("calls NAME N") on stdout, so a
 * test can compare them with fntrace report.
 *
 *   rec_calls count N       leaf N times, mid N times (each calling leaf)
 *   rec_calls threads T N   T rounds of 4 threads coming and going, N calls each
 *   rec_calls together N    4 threads alive at once: N calls each, then a barrier
 *   rec_calls kill N        N calls, then SIGKILL itself
 *   rec_calls segv N        N calls, then a NULL write
 *   rec_calls abort N       N calls, then abort()
 *   rec_calls fork N        parent and child make N calls each
 *   rec_calls exec N        N calls, then exec "rec_calls count N"
 *   rec_calls longjmp N     N longjmps out of 3 nested traced frames
 *   rec_calls deepjmp N     N jumps out of 21 nested traced frames (deeper
 *                           than the tracer's own stack use), by turns with
 *                           longjmp, _longjmp and siglongjmp; leaf after each
 *   rec_calls signal N      N signals whose handler calls traced functions
 *   rec_calls coro N        two ucontext coroutines swap N times, each in the
 *                           middle of a traced call
 *   rec_calls sigjmp N      signals rain on a loop of traced calls and the
 *                           handler leaves with siglongjmp, N times (often
 *                           out of a hook); then after_jump N times
 *   rec_calls sigstorm N    2 threads make N calls each while signals rain on
 *                           them; the handler makes traced calls (nested writes)
 *   rec_calls deep N        recursion N deep
 *   rec_calls slow N        N quick calls and one of 20 ms (sleeper)
 *   rec_calls pexit N       N threads leave through pthread_exit in a traced frame
 *   rec_calls exit N        N calls, then exit() from a traced frame
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static long n_quitter, n_quit, n_leaf, n_mid, n_thread_fn, n_jump_a, n_jump_b, n_jump_c, n_handler, n_recurse;
static volatile long sink;
static int together;
static jmp_buf jb;

NOINLINE void leaf(void)
{
	__atomic_fetch_add(&n_leaf, 1, __ATOMIC_RELAXED);
	sink++;
}

NOINLINE void mid(void)
{
	__atomic_fetch_add(&n_mid, 1, __ATOMIC_RELAXED);
	leaf();
}

NOINLINE void *thread_fn(void *arg)
{
	long n = (long)arg;

	__atomic_fetch_add(&n_thread_fn, 1, __ATOMIC_RELAXED);
	for (long i = 0; i < n; i++)
		leaf();
	return NULL;
}

NOINLINE void quit_thread(void)
{
	__atomic_fetch_add(&n_quit, 1, __ATOMIC_RELAXED);
	pthread_exit(NULL);
}

NOINLINE void *quitter(void *arg)
{
	__atomic_fetch_add(&n_quitter, 1, __ATOMIC_RELAXED);
	leaf();
	quit_thread();
	return NULL;
}

static void report(void);

/* sigjmp: the handler leaves with siglongjmp, abandoning whatever it
 * interrupted, the tracer's hooks included. */
static sigjmp_buf sjb;
static volatile sig_atomic_t sj_stop, sj_armed;
static long n_jumper, n_after_jump;

NOINLINE void jumper(int sig)
{
	if (sj_stop || !sj_armed)
		return;	/* sjb not set yet, or no longer in use */
	n_jumper++;
	siglongjmp(sjb, 1);
}

NOINLINE void after_jump(void)
{
	n_after_jump++;
	sink++;
}

/* coro: coroutine A is inside co_f when it switches to B, B inside co_g
 * when it switches back, so each one's traced frames are swapped out
 * while the other's return. */
static ucontext_t co_main, co_a, co_b;
static long n_co_f, n_co_g, co_n;

NOINLINE void co_f(long i)
{
	n_co_f++;
	swapcontext(&co_a, &co_b);
	sink += i;
}

NOINLINE void co_g(long i)
{
	n_co_g++;
	swapcontext(&co_b, &co_a);
	sink += i;
}

static void co_run_a(void)
{
	for (long i = 0; i < co_n; i++)
		co_f(i);
}

static void co_run_b(void)
{
	for (long i = 0; i < co_n; i++)
		co_g(i);
	swapcontext(&co_b, &co_main);
}

static void *sj_sender(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;

	while (!sj_stop)
		pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

NOINLINE void quit_process(void)
{
	n_quit++;
	report();
	exit(0);
}

static pthread_barrier_t barrier;
static volatile int storm_done;
static int storm_left = 2;	/* workers still running */

NOINLINE void storm_handler(int sig)
{
	__atomic_fetch_add(&n_handler, 1, __ATOMIC_RELAXED);
	leaf();
}

NOINLINE void *storm_fn(void *arg)
{
	long n = (long)arg;

	__atomic_fetch_add(&n_thread_fn, 1, __ATOMIC_RELAXED);
	sigset_t set;

	for (long i = 0; i < n; i++)
		mid();
	/* No handler in the thread's exit path (STORM_EXIT=1 allows it). */
	if (!getenv("STORM_EXIT")) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	__atomic_fetch_sub(&storm_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

NOINLINE void *together_fn(void *arg)
{
	long n = (long)arg;

	__atomic_fetch_add(&n_thread_fn, 1, __ATOMIC_RELAXED);
	for (long i = 0; i < n; i++)
		leaf();
	pthread_barrier_wait(&barrier);
	return NULL;
}

NOINLINE void jump_c(void)
{
	n_jump_c++;
	longjmp(jb, 1);
}

NOINLINE void jump_b(void)
{
	n_jump_b++;
	jump_c();
	sink++;
}

static long n_dive;
static sigjmp_buf djb;

NOINLINE void dive(int n, int how)
{
	volatile char pad[64];	/* a real frame: the stack really deepens */

	n_dive++;
	pad[0] = (char)n;
	if (n == 0) {
		if (how == 0)
			longjmp(djb, 1);
		else if (how == 1)
			_longjmp(djb, 1);
		siglongjmp(djb, 1);
	}
	dive(n - 1, how);
	sink += pad[0];
}

NOINLINE void jump_a(void)
{
	n_jump_a++;
	jump_b();
	sink++;
}

NOINLINE void handler(int sig)
{
	n_handler++;
	leaf();
}

static long n_sleeper;

NOINLINE void sleeper(void)
{
	n_sleeper++;
	leaf();
	usleep(20000);
}

NOINLINE long recurse(long n)
{
	volatile char frame[16];	/* a real frame: no loop conversion */

	n_recurse++;
	frame[0] = (char)n;
	return n ? recurse(n - 1) + frame[0] : 0;
}

static void report(void)
{
	printf("calls leaf %ld\ncalls mid %ld\n", n_leaf, n_mid);
	if (n_thread_fn)
		printf("calls %s %ld\n", together ? "together_fn" : storm_done ? "storm_fn" : "thread_fn",
		       n_thread_fn);
	if (n_jump_a)
		printf("calls jump_a %ld\ncalls jump_b %ld\ncalls jump_c %ld\n", n_jump_a, n_jump_b,
		       n_jump_c);
	if (n_handler)
		printf("calls %s %ld\n", storm_done ? "storm_handler" : "handler", n_handler);
	if (n_recurse)
		printf("calls recurse %ld\n", n_recurse);
	if (n_dive)
		printf("calls dive %ld\n", n_dive);
	if (n_co_f)
		printf("calls co_f %ld\ncalls co_g %ld\n", n_co_f, n_co_g);
	if (n_after_jump)
		printf("calls after_jump %ld\njumps %ld\n", n_after_jump, n_jumper);
	if (n_sleeper)
		printf("calls sleeper %ld\n", n_sleeper);
	if (n_quitter)
		printf("calls quitter %ld\n", n_quitter);
	if (n_quit)
		printf("calls %s %ld\n", n_quitter ? "quit_thread" : "quit_process", n_quit);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "count";
	long n = argc > 2 ? atol(argv[argc - 1]) : 10;

	if (strcmp(mode, "count") == 0) {
		for (long i = 0; i < n; i++) {
			leaf();
			mid();
		}
	} else if (strcmp(mode, "threads") == 0) {
		long rounds = atol(argv[2]);

		for (long r = 0; r < rounds; r++) {
			pthread_t t[4];

			for (int i = 0; i < 4; i++)
				pthread_create(&t[i], NULL, thread_fn, (void *)n);
			for (int i = 0; i < 4; i++)
				pthread_join(t[i], NULL);
		}
	} else if (strcmp(mode, "sigstorm") == 0) {
		struct sigaction sa;
		pthread_t t[2];
		sigset_t set;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = storm_handler;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, storm_fn, (void *)n);
		/* The main thread only sends: its own calls would race the counts. */
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		/* Until both are done: a pending signal is not queued twice, so
		 * keep sending while they run. */
		while (__atomic_load_n(&storm_left, __ATOMIC_ACQUIRE) > 0) {
			pthread_kill(t[0], SIGUSR1);
			pthread_kill(t[1], SIGUSR1);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		storm_done = 1;
	} else if (strcmp(mode, "together") == 0) {
		pthread_t t[4];

		together = 1;
		pthread_barrier_init(&barrier, NULL, 4);
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, together_fn, (void *)n);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else if (strcmp(mode, "kill") == 0 || strcmp(mode, "segv") == 0 ||
		   strcmp(mode, "abort") == 0) {
		for (long i = 0; i < n; i++)
			mid();
		report();
		if (mode[0] == 'k')
			kill(getpid(), SIGKILL);
		if (mode[0] == 'a')
			abort();
		*(volatile int *)(long)sink = 0;	/* sink is small: a NULL-page write */
	} else if (strcmp(mode, "fork") == 0) {
		pid_t p;

		for (long i = 0; i < n; i++)
			leaf();
		fflush(stdout);
		p = fork();
		if (p == 0) {
			for (long i = 0; i < n; i++)
				mid();
			printf("child ");
			report();
			_exit(0);
		}
		for (long i = 0; i < n; i++)
			mid();
		waitpid(p, NULL, 0);
		printf("parent ");
	} else if (strcmp(mode, "exec") == 0) {
		char num[32];

		for (long i = 0; i < n; i++)
			leaf();
		report();
		snprintf(num, sizeof(num), "%ld", n);
		execl("/proc/self/exe", argv[0], "count", num, (char *)NULL);
		perror("exec");
		return 1;
	} else if (strcmp(mode, "longjmp") == 0) {
		for (long i = 0; i < n; i++) {
			if (setjmp(jb) == 0)
				jump_a();
			leaf();
		}
	} else if (strcmp(mode, "deepjmp") == 0) {
		for (long i = 0; i < n; i++) {
			if (sigsetjmp(djb, 1) == 0)
				dive(20, (int)(i % 3));
			leaf();
		}
	} else if (strcmp(mode, "coro") == 0) {
		static char stack_a[256 * 1024], stack_b[256 * 1024];

		co_n = n;
		getcontext(&co_a);
		co_a.uc_stack.ss_sp = stack_a;
		co_a.uc_stack.ss_size = sizeof(stack_a);
		co_a.uc_link = &co_main;
		makecontext(&co_a, co_run_a, 0);
		getcontext(&co_b);
		co_b.uc_stack.ss_sp = stack_b;
		co_b.uc_stack.ss_size = sizeof(stack_b);
		co_b.uc_link = &co_main;
		makecontext(&co_b, co_run_b, 0);
		swapcontext(&co_main, &co_a);
	} else if (strcmp(mode, "sigjmp") == 0) {
		pthread_t self = pthread_self(), sender;
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = jumper;
		sigaction(SIGUSR2, &sa, NULL);
		pthread_create(&sender, NULL, sj_sender, &self);
		sigsetjmp(sjb, 1);
		sj_armed = 1;
		while (n_jumper < n)
			mid();
		sj_stop = 1;
		pthread_join(sender, NULL);
		for (long i = 0; i < n; i++)
			after_jump();
		/* mid and leaf were cut off anywhere: their counts mean nothing. */
		n_mid = n_leaf = 0;
	} else if (strcmp(mode, "signal") == 0) {
		signal(SIGUSR1, handler);
		for (long i = 0; i < n; i++) {
			mid();
			raise(SIGUSR1);
		}
	} else if (strcmp(mode, "pexit") == 0) {
		for (long i = 0; i < n; i++) {
			pthread_t t;

			pthread_create(&t, NULL, quitter, NULL);
			pthread_join(t, NULL);
		}
	} else if (strcmp(mode, "exit") == 0) {
		for (long i = 0; i < n; i++)
			mid();
		quit_process();
	} else if (strcmp(mode, "slow") == 0) {
		for (long i = 0; i < n; i++)
			mid();
		sleeper();
	} else if (strcmp(mode, "deep") == 0) {
		sink = recurse(n);
	} else {
		fprintf(stderr, "rec_calls: unknown mode %s\n", mode);
		return 2;
	}
	report();
	return 0;
}
