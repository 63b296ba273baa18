/*
 * workload.c - the per-call workloads of bench/run.sh, one program built in
 * every flavour (untraced, fntrace sites, gcc -pg, XRay sleds).
 *
 *   workload SHAPE ITERATIONS [THREADS]
 *
 * SHAPE:
 *   tree  a small call tree: a -> 2 b -> 4 c, 7 short calls per iteration
 *   rec   deep recursion: rec(REC_DEPTH) down to rec(0), REC_DEPTH+1 calls
 *   many  every one of NFUNCS distinct generated functions once (gen_many.c,
 *         made by bench/run.sh), NFUNCS calls per iteration
 *
 * Each thread times its own loop with CLOCK_MONOTONIC (wall) and
 * CLOCK_THREAD_CPUTIME_ID, so start-up, thread creation and writing the
 * trace file at exit are outside the figure.  Prints one line:
 *   calls=<traced calls per thread> wall_ns=<mean loop wall time per call>
 *   cpu_ns=<mean loop thread CPU time per call> flush_ms=<XRay FDR flush>
 *
 * Built with -DWITH_XRAY, and run with xray_mode=xray-fdr in XRAY_OPTIONS,
 * it initializes FDR mode with XRAY_FDR_OPTIONS before the threads start,
 * and finalizes and flushes the log to its file after the timed loops.
 * With clang 14, xray_mode=xray-fdr only selects the mode: it is never
 * initialized (nothing is recorded, the handlers return at once) and never
 * flushed unless the program does both.  The flush time is printed apart.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WITH_XRAY
/* From compiler-rt's xray_log_interface.h, which is C++ only; both return
 * an enum, an int in the C ABI. */
int __xray_log_init_mode(const char *mode, const char *config);
int __xray_log_finalize(void);
int __xray_log_flushLog(void);
#endif

#define NOINLINE __attribute__((noinline))
#ifndef REC_DEPTH
#define REC_DEPTH 500
#endif
#ifndef NFUNCS
#define NFUNCS 4000
#endif

/* Per thread: a shared counter would bounce its cache line between the
 * threads and make the 2-thread runs measure that instead of the tracers. */
static __thread volatile long sink;

NOINLINE void c(void) { sink++; }
NOINLINE void b(void) { c(); c(); }
NOINLINE void a(void) { b(); b(); }

/* Not a tail call: the increment after the call keeps every frame alive. */
NOINLINE void rec(int n)
{
	if (n > 0)
		rec(n - 1);
	sink++;
}

extern int (*const many_tab[NFUNCS])(int);

static int shape;	/* 0 tree, 1 rec, 2 many */
static long iters;
static double wall_ns[64], cpu_ns[64];

static double ts(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *run(void *arg)
{
	double w0 = ts(CLOCK_MONOTONIC), c0 = ts(CLOCK_THREAD_CPUTIME_ID);
	int x = (int)(long)arg;

	switch (shape) {
	case 0:
		for (long i = 0; i < iters; i++)
			a();
		break;
	case 1:
		for (long i = 0; i < iters; i++)
			rec(REC_DEPTH);
		break;
	default:
		for (long i = 0; i < iters; i++)
			for (int f = 0; f < NFUNCS; f++)
				x = many_tab[f](x);
		sink += x;
		break;
	}
	cpu_ns[(long)arg] = ts(CLOCK_THREAD_CPUTIME_ID) - c0;
	wall_ns[(long)arg] = ts(CLOCK_MONOTONIC) - w0;
	return NULL;
}

int main(int argc, char **argv)
{
	static const long per_iter[] = { 7, REC_DEPTH + 1, NFUNCS };
	int nthreads = argc > 3 ? atoi(argv[3]) : 1;
	pthread_t t[64];
	double w = 0, cpu = 0, flush_ms = 0, calls;

	if (argc < 3 || nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "usage: workload tree|rec|many ITERATIONS [THREADS]\n");
		return 2;
	}
	shape = !strcmp(argv[1], "tree") ? 0 : !strcmp(argv[1], "rec") ? 1 :
		!strcmp(argv[1], "many") ? 2 : -1;
	if (shape < 0) {
		fprintf(stderr, "workload: unknown shape %s\n", argv[1]);
		return 2;
	}
	iters = atol(argv[2]);
#ifdef WITH_XRAY
	{
		const char *o = getenv("XRAY_OPTIONS"), *fo = getenv("XRAY_FDR_OPTIONS");
		int st;

		if (o && strstr(o, "xray-fdr") &&
		    (st = __xray_log_init_mode("xray-fdr", fo ? fo : "")) != 2) {
			fprintf(stderr, "workload: XRay FDR init failed (status %d)\n", st);
			return 1;
		}
	}
#endif
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, run, (void *)(long)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
#ifdef WITH_XRAY
	{
		const char *o = getenv("XRAY_OPTIONS");

		if (o && strstr(o, "xray-fdr")) {
			double f0 = ts(CLOCK_MONOTONIC);

			__xray_log_finalize();
			__xray_log_flushLog();
			flush_ms = (ts(CLOCK_MONOTONIC) - f0) / 1e6;
		}
	}
#endif
	calls = (double)iters * per_iter[shape];
	for (int i = 0; i < nthreads; i++) {
		w += wall_ns[i] / nthreads;
		cpu += cpu_ns[i] / nthreads;
	}
	printf("calls=%.0f wall_ns=%.3f cpu_ns=%.3f flush_ms=%.1f\n", calls, w / calls,
	       cpu / calls, flush_ms);
	return 0;
}
