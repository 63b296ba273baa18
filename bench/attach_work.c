/*
 * attach_work.c - the workload of bench/attach.sh's pause figure: threads
 * that watch their own clock while fntrace attaches to their process.
 *
 *   attach_work WORKERS BUSY_US SLEEP_US loop|wait
 *
 * WORKERS threads each loop: read CLOCK_MONOTONIC and the thread's context
 * switch counts (getrusage RUSAGE_THREAD), call the traced function work(),
 * for BUSY_US; then sleep SLEEP_US (nanosleep; 0: never sleep), and again.
 * The gap between two iterations, less the sleep asked for, is how long
 * the thread did not run when it meant to; each thread keeps its largest
 * since the last reset, in two kinds:
 *
 *   blocked  the thread waited for something (a voluntary context switch
 *            beyond its own sleep: a lock, a ptrace stop, a page);
 *   cpu      it was runnable but had no CPU (preempted, woken late, or the
 *            virtual CPU was not running).
 *
 * With "loop" the main thread runs the same loop (its figure is the
 * hijacked thread's: fntrace attaches through the main thread) and a
 * control thread reads the commands; with "wait" the main thread reads
 * them itself, blocked in read() between two.  Commands, one byte each on
 * stdin:
 *
 *   r   reset every thread's maxima (the window starts)
 *   p   print one line per thread, then "end":
 *         thread I TID main|worker max_us M at S blocked_us B at SB cpu_us C
 *                over_1ms K iters N
 *       (M: the largest gap of either kind since the reset, S: when it
 *       began, CLOCK_MONOTONIC seconds; B, SB: the same of the largest
 *       blocked gap; C: the largest gap waiting for a CPU; K: how many
 *       gaps were longer than 1 ms)
 *   q   exit
 *
 * Prints "ready" once every thread is looping.  Built with clang
 * -fpatchable-function-entry=5 (and, in bench/attach.sh, linked with the
 * 100,000 functions of bench/gen_sites.py, which nothing calls).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MAXT 64

struct slot {
	_Atomic long max_ns, max_at, blocked_ns, blocked_at, cpu_ns, iters, over_1ms;
	int tid, is_main;
	char pad[64];
};

static struct slot slots[MAXT];
static int nslots;
static long busy_ns, sleep_ns;
static atomic_uint gen;		/* bumped by 'r' */
static atomic_int started;
static volatile long sink;

NOINLINE void work(void)
{
	sink++;
}

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The thread's voluntary context switches so far. */
static long vol_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

static void raise_max(_Atomic long *m, long v)
{
	if (v > atomic_load_explicit(m, memory_order_relaxed))
		atomic_store_explicit(m, v, memory_order_relaxed);
}

NOINLINE static void run_loop(struct slot *s)
{
	unsigned my_gen = atomic_load(&gen);
	long prev, vol0, phase, slept = 0, iters = 0;

	s->tid = (int)syscall(SYS_gettid);
	/* nanosleep's default slack (50 us) would count as a late wake-up. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	atomic_fetch_add(&started, 1);
	vol0 = vol_switches();
	prev = phase = now_ns();
	for (;;) {
		long t, vol, gap, extra_vol;
		unsigned g;

		t = now_ns();
		vol = vol_switches();
		gap = t - prev - slept;
		extra_vol = vol - vol0 - (slept ? 1 : 0);
		g = atomic_load_explicit(&gen, memory_order_relaxed);
		if (g != my_gen) {
			my_gen = g;
			iters = 0;
			gap = 0;
		} else if (gap > atomic_load_explicit(&s->max_ns, memory_order_relaxed)) {
			atomic_store_explicit(&s->max_ns, gap, memory_order_relaxed);
			atomic_store_explicit(&s->max_at, prev + slept, memory_order_relaxed);
		}
		if (gap > 0 && extra_vol > 0 &&
		    gap > atomic_load_explicit(&s->blocked_ns, memory_order_relaxed)) {
			atomic_store_explicit(&s->blocked_ns, gap, memory_order_relaxed);
			atomic_store_explicit(&s->blocked_at, prev + slept, memory_order_relaxed);
		} else if (gap > 0 && extra_vol <= 0) {
			raise_max(&s->cpu_ns, gap);
		}
		if (gap > 1000000)
			atomic_fetch_add_explicit(&s->over_1ms, 1, memory_order_relaxed);
		atomic_store_explicit(&s->iters, ++iters, memory_order_relaxed);
		prev = t;
		vol0 = vol;
		slept = 0;
		work();
		if (sleep_ns && t - phase >= busy_ns) {
			struct timespec ts = { sleep_ns / 1000000000L, sleep_ns % 1000000000L };

			nanosleep(&ts, NULL);
			slept = sleep_ns;
			phase = now_ns();
		}
	}
}

static void *worker(void *arg)
{
	run_loop(arg);
	return NULL;
}

static void reset(void)
{
	/* The threads zero their own counters when they see the new
	 * generation; the maxima are zeroed here (a gap seen between the two
	 * is at most one iteration's). */
	for (int i = 0; i < nslots; i++) {
		atomic_store(&slots[i].max_ns, 0);
		atomic_store(&slots[i].max_at, 0);
		atomic_store(&slots[i].blocked_ns, 0);
		atomic_store(&slots[i].blocked_at, 0);
		atomic_store(&slots[i].cpu_ns, 0);
		atomic_store(&slots[i].over_1ms, 0);
	}
	atomic_fetch_add(&gen, 1);
}

static void print(void)
{
	for (int i = 0; i < nslots; i++)
		printf("thread %d %d %s max_us %.1f at %.6f blocked_us %.1f at %.6f cpu_us %.1f "
		       "over_1ms %ld iters %ld\n", i, slots[i].tid, slots[i].is_main ? "main" : "worker",
		       atomic_load(&slots[i].max_ns) / 1e3, atomic_load(&slots[i].max_at) / 1e9,
		       atomic_load(&slots[i].blocked_ns) / 1e3, atomic_load(&slots[i].blocked_at) / 1e9,
		       atomic_load(&slots[i].cpu_ns) / 1e3, atomic_load(&slots[i].over_1ms),
		       atomic_load(&slots[i].iters));
	printf("end\n");
	fflush(stdout);
}

/* Reads the commands until 'q' or the end of stdin. */
static void *control(void *arg)
{
	char c;

	while (read(0, &c, 1) == 1) {
		if (c == 'r')
			reset();
		else if (c == 'p')
			print();
		else if (c == 'q')
			break;
	}
	exit(0);
	return arg;
}

int main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 3;
	int loop = argc > 4 ? strcmp(argv[4], "wait") != 0 : 1;
	pthread_t th;

	busy_ns = (argc > 2 ? atol(argv[2]) : 100) * 1000L;
	sleep_ns = (argc > 3 ? atol(argv[3]) : 400) * 1000L;
	if (workers < 0 || workers > MAXT - 1) {
		fprintf(stderr, "attach_work: 0 to %d workers\n", MAXT - 1);
		return 2;
	}
	nslots = workers + loop;
	for (int i = 0; i < workers; i++)
		if (pthread_create(&th, NULL, worker, &slots[i + loop]) != 0) {
			perror("pthread_create");
			return 1;
		}
	if (loop && pthread_create(&th, NULL, control, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	while (atomic_load(&started) < workers)
		usleep(1000);
	if (!loop) {
		printf("ready\n");
		fflush(stdout);
		control(NULL);
	}
	slots[0].is_main = 1;
	printf("ready\n");
	fflush(stdout);
	run_loop(&slots[0]);
	return 0;
}
