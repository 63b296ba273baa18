/*
 * harm.c - ordinary and hostile program behaviours that a tracer must not
 * turn into a crash, a hang or a corrupted trace (issue 8).  Each mode is
 * one behaviour; the program checks its own results and prints its call
 * counts ("calls NAME N"), so a test can compare them with fntrace report.
 *
 *   harm exit N        4 workers loop in traced calls; main returns after N ms
 *   harm dtor N        a library's destructor calls the executable's traced
 *                      functions at exit, while 2 workers are still in them
 *   harm altlocal N    SA_ONSTACK handlers on an alternate stack that is a
 *                      local array of main (right next to the thread's stack)
 *                      call traced functions: N tgkill'd signals and a SIGPROF
 *                      timer, while main makes traced calls
 *   harm alttls N      the same with a __thread buffer as the alternate stack,
 *                      on 2 threads
 *   harm rawclone N    a raw clone(CLONE_VM|CLONE_THREAD) thread without
 *                      CLONE_SETTLS shares main's TLS; both make N calls
 *   harm getenv N      the program defines its own (traced) getenv and forks N
 *                      times; each child calls traced functions and exits
 *   harm rawfork N     20 children made by clone() without CLONE_VM (no
 *                      fork handlers run) make N traced calls each, then _exit
 *   harm asmfork N     the same with a fork made by a bare syscall
 *                      instruction, which no library sees
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static long n_leaf, n_mid, n_handler, n_child_fn, n_my_getenv;
static volatile long sink;
static volatile int stop_workers;

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

/* Called by the library's destructor at exit (harm_lib.c). */
NOINLINE void from_dtor(void)
{
	mid();
}

static void report(void)
{
	printf("calls leaf %ld\ncalls mid %ld\n", n_leaf, n_mid);
	if (n_handler)
		printf("calls handler %ld\n", n_handler);
	if (n_child_fn)
		printf("calls child_fn %ld\n", n_child_fn);
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void *spin_worker(void *arg)
{
	/* Never stops: exit() comes while it is inside traced calls. */
	for (;;)
		mid();
	return NULL;
}

/* --- alternate signal stacks next to the thread's stack ------------------ */

NOINLINE void handler_fn(int depth)
{
	__atomic_fetch_add(&n_handler, 1, __ATOMIC_RELAXED);
	if (depth)
		handler_fn(depth - 1);
	else
		mid();
}

static long n_timer;

static void on_signal(int sig)
{
	if (sig == SIGPROF)
		__atomic_fetch_add(&n_timer, 1, __ATOMIC_RELAXED);
	handler_fn(3);
}

static __thread char tls_altstack[64 * 1024] __attribute__((aligned(16)));
static volatile int alt_done;

static void install_alt(void *mem, size_t size)
{
	stack_t ss = { .ss_sp = mem, .ss_size = size, .ss_flags = 0 };

	if (sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		exit(2);
	}
}

/* Traced calls on the thread's own stack, interrupted by handlers that run
 * on the alternate stack; n signals are sent to the thread itself. */
static void alt_loop(long n)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	long i, k;

	for (i = 0; i < n; i++) {
		mid();
		syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
		mid();
	}
	/* Then until n timer signals have come: they land anywhere, also
	 * between a traced function's return and its exit hook. */
	for (k = 0; __atomic_load_n(&n_timer, __ATOMIC_RELAXED) < n * 2 && k < 400000000; k++)
		mid();
}

static void *alt_thread(void *arg)
{
	install_alt(tls_altstack, sizeof(tls_altstack));
	alt_loop((long)arg);
	return NULL;
}

static void alt_setup(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
}

static void alt_stop(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_PROF, &it, NULL);
	signal(SIGPROF, SIG_IGN);
}

/* --- raw clone with shared TLS --------------------------------------------- */

static volatile int clone_done;

static long n_clone_child;

static int clone_child(void *arg)
{
	long n = (long)arg;

	for (long i = 0; i < n; i++) {
		mid();
		n_clone_child++;
	}
	__atomic_store_n(&clone_done, 1, __ATOMIC_RELEASE);
	/* Only this thread ends: a raw exit, not glibc's exit(). */
	syscall(SYS_exit, 0);
	return 0;
}

/* --- the program's own getenv ---------------------------------------------- */

/* bash does this: a program may define any libc function, and it is
 * compiled with the tracing flags like the rest. */
NOINLINE char *getenv(const char *name)
{
	extern char **environ;
	size_t l = strlen(name);

	__atomic_fetch_add(&n_my_getenv, 1, __ATOMIC_RELAXED);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
			return *e + l + 1;
	return NULL;
}

NOINLINE void child_fn(void)
{
	n_child_fn++;
	mid();
}

static int rawfork_child(void *arg)
{
	long n = (long)arg;

	for (long i = 0; i < n; i++)
		child_fn();
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 10;
	pthread_t th[4];

	if (strcmp(mode, "exit") == 0) {
		for (int i = 0; i < 4; i++)
			pthread_create(&th[i], NULL, spin_worker, NULL);
		sleep_ms(n);
		/* Returns from main while the workers are inside traced calls. */
		printf("exiting\n");
		return 0;
	} else if (strcmp(mode, "dtor") == 0) {
		void *h = dlopen(argc > 3 ? argv[3] : "./harm_lib.so", RTLD_NOW);
		void (*set)(void (*)(void));

		if (!h) {
			fprintf(stderr, "%s\n", dlerror());
			return 2;
		}
		set = (void (*)(void (*)(void)))dlsym(h, "harm_lib_set");
		set(from_dtor);
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, spin_worker, NULL);
		sleep_ms(n);
		printf("exiting\n");
		return 0;
	} else if (strcmp(mode, "altlocal") == 0) {
		char altstack[64 * 1024] __attribute__((aligned(16)));

		install_alt(altstack, sizeof(altstack));
		alt_setup();
		alt_loop(n);
		alt_stop();
	} else if (strcmp(mode, "alttls") == 0) {
		alt_setup();
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, alt_thread, (void *)n);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		alt_stop();
	} else if (strcmp(mode, "rawclone") == 0) {
		size_t size = 1 << 20;
		char *stk = malloc(size);
		long k = 0;

		/* No CLONE_SETTLS: the child runs with main's %fs. */
		if (clone(clone_child, stk + size, CLONE_VM | CLONE_FS | CLONE_FILES |
			  CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, (void *)n) < 0) {
			perror("clone");
			return 2;
		}
		while (!__atomic_load_n(&clone_done, __ATOMIC_ACQUIRE) || k < n) {
			mid();
			k++;
		}
		/* The child's stack stays allocated: it may still be in its
		 * last syscall.  Its calls (and clone_child's own) are not
		 * main's: they are reported apart. */
		printf("child_calls %ld\n", 2 * n_clone_child + 1);
		n_leaf -= n_clone_child;
		n_mid -= n_clone_child;
	} else if (strcmp(mode, "getenv") == 0) {
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			int st;

			if (p == 0) {
				child_fn();
				_exit(getenv("HARM_NOPE") ? 3 : 0);
			}
			if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0) {
				fprintf(stderr, "child %ld failed\n", i);
				return 2;
			}
			mid();
		}
	} else if (strcmp(mode, "rawfork") == 0) {
		size_t size = 1 << 20;
		char *stk = malloc(size);

		for (long i = 0; i < 20; i++) {
			int st;
			pid_t p = clone(rawfork_child, stk + size, SIGCHLD, (void *)n);

			if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0) {
				fprintf(stderr, "raw child %ld failed\n", i);
				return 2;
			}
			mid();
		}
	} else if (strcmp(mode, "asmfork") == 0) {
		for (long i = 0; i < 5; i++) {
			long p;
			int st;

			/* fork(2) with no library in between. */
			__asm__ volatile("syscall" : "=a"(p) : "0"((long)SYS_fork) : "rcx", "r11", "memory");
			if (p == 0) {
				for (long k = 0; k < n; k++)
					child_fn();
				__asm__ volatile("syscall" : : "a"((long)SYS_exit_group), "D"(0L) : "rcx", "r11", "memory");
			}
			if (p < 0 || waitpid((pid_t)p, &st, 0) != p || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0) {
				fprintf(stderr, "asm child %ld failed\n", i);
				return 2;
			}
			mid();
		}
	} else {
		fprintf(stderr, "usage: harm MODE N\n");
		return 2;
	}
	report();
	return 0;
}
