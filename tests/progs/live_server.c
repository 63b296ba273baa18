/*
 * live_server.c - a server-like program for e2e/live_server: recordings
 * begin and end from outside (fntrace record -p) while its threads work
 * and wait.
 *
 *   live_server FIFO         serve until a byte is read from FIFO
 *   live_server --ref N0 N1  the reference: worker 0 does exactly N0
 *                            iterations, worker 1 N1, nothing else
 *
 * Threads (named, so the test can list them in /proc/PID/task):
 *   worker0, worker1  call traced functions in a tight loop (integer, SSE,
 *                     varargs, struct-by-value, recursive and indirect
 *                     calls), each folding every result into a checksum,
 *                     in bursts of BATCH iterations, at most one every
 *                     16 ms (clock_nanosleep to the next one: never
 *                     EINTR either); they stop at a batch boundary once
 *                     told to stop, and the checksum depends on the number
 *                     of iterations only, so a run with the same counts
 *                     (--ref, unthrottled) must give the same checksum
 *   reader            blocked in read() on FIFO (its byte is the stop
 *                     request); read() must never fail with EINTR
 *   sleeper           nanosleep(20 ms) in a loop: never EINTR, never
 *                     shorter than asked (CLOCK_MONOTONIC)
 *   futex             FUTEX_WAIT without timeout on a word set only at
 *                     the end: must not return before (EINTR or spurious)
 *   main              blocked in pthread_join of the reader
 *
 * Output: "worker W iters N sum X" per worker, "checksum X",
 * "eintr=N short_sleeps=N spurious=N sleeps=N".  The exit status is 1
 * (with a line on stderr) if any of eintr, short_sleeps, spurious is not 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* BATCH iterations at full speed (a burst that fills a ring of 1 MB about
 * half), then a sleep until the next PERIOD_NS: BATCH per PERIOD_NS at
 * most, so the machine stays usable and the reference run short. */
#define BATCH 2048
#define PERIOD_NS 16000000L
#define SLEEP_NS 20000000L

struct big {
	uint64_t a, b, c, d;
	double e;
};

static volatile int stop_req;
static int futex_word;
static long eintr, short_sleeps, spurious, sleeps;
static int fifo_fd = -1;

NOINLINE uint64_t w_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);

	x ^= (x >> 29) + c * 3 + (d << 7) + (e ^ f) * 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 31);
}

/* Eight SSE arguments: the trampoline must keep every one of them. */
NOINLINE double w_fmix(double a, double b, double c, double d, double e, double f, double g,
		       double h)
{
	return a * 1.0000001 + b * 0.5 - c * 0.25 + d / 3.0 + e * f - g + h * 1e-3;
}

/* Varargs with doubles: %al holds the number of vector registers used. */
NOINLINE uint64_t w_va(int n, ...)
{
	va_list ap;
	double s = 0;
	uint64_t bits;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += va_arg(ap, double) * (i + 1);
	va_end(ap);
	memcpy(&bits, &s, sizeof(bits));
	return bits;
}

NOINLINE struct big w_struct(struct big in, uint64_t k)
{
	struct big o = { in.b ^ k, in.c + in.a, in.d * 5 + 1, in.a ^ in.d, in.e * 0.75 + (double)(k & 7) };

	return o;
}

NOINLINE uint64_t w_rec(uint64_t x, int depth)
{
	if (depth == 0)
		return x * 2654435761u;
	return w_rec(x + (uint64_t)depth, depth - 1) ^ ((uint64_t)depth << 40);
}

NOINLINE uint64_t w_leaf(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 0x7f4a7c15;
}

NOINLINE uint64_t w_leaf2(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 31 + 7;
}

static uint64_t (*const table[2])(uint64_t) = { w_leaf, w_leaf2 };

static uint64_t dbits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

/* One iteration of worker w: a pure function of (w, i, s). */
NOINLINE uint64_t w_iter(int w, uint64_t i, uint64_t s)
{
	struct big b = { s, i, (uint64_t)w, s ^ i, (double)(i % 1000) };
	double f;

	s = w_mix(s, i, (uint64_t)w, s >> 3, i * i, s + 1);
	f = w_fmix((double)(s & 0xffff), (double)i, 1.5, 2.5, (double)w, 0.125, 3.0, (double)(i & 63));
	s ^= dbits(f);
	s += w_va(4, (double)(i & 255), 0.5, (double)w, f);
	b = w_struct(b, s);
	s ^= b.a + b.b + b.c + b.d + dbits(b.e);
	s = w_rec(s, 6);
	s = table[i & 1](s);
	/* Some untraced work between the calls. */
	for (int k = 0; k < 64; k++)
		s = s * 6364136223846793005ull + 1442695040888963407ull;
	return s;
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

struct worker {
	int w;
	long want;	/* --ref: exactly this many; else -1 */
	long iters;
	uint64_t sum;
	pthread_t th;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	uint64_t s = 0x1234567 + (uint64_t)wk->w;
	struct timespec next, now;
	long i = 0;
	char name[16];
	int err;

	snprintf(name, sizeof(name), "worker%d", wk->w);
	pthread_setname_np(pthread_self(), name);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (wk->want >= 0 ? i == wk->want : (i % BATCH == 0 && stop_req))
			break;
		s = w_iter(wk->w, (uint64_t)i, s);
		i++;
		if (i % BATCH || wk->want >= 0)
			continue;
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ns_between(&next, &now) > 50000000L) {
			next = now;	/* far behind: no burst to catch up */
			continue;
		}
		if (ns_between(&now, &next) <= 0)
			continue;
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		if (err) {
			__atomic_fetch_add(&eintr, 1, __ATOMIC_RELAXED);
			fprintf(stderr, "live_server: clock_nanosleep failed: %s\n", strerror(err));
		}
	}
	wk->iters = i;
	wk->sum = s;
	return NULL;
}

static void *reader_main(void *arg)
{
	char c;

	pthread_setname_np(pthread_self(), "reader");
	for (;;) {
		ssize_t r = read(fifo_fd, &c, 1);

		if (r == 1)
			break;
		if (r < 0 && errno == EINTR) {
			__atomic_fetch_add(&eintr, 1, __ATOMIC_RELAXED);
			fprintf(stderr, "live_server: read() failed with EINTR\n");
			continue;
		}
		fprintf(stderr, "live_server: read() returned %zd (%s)\n", r, r < 0 ? strerror(errno) : "EOF");
		exit(3);
	}
	stop_req = 1;
	return NULL;
}

static void *sleeper_main(void *arg)
{
	pthread_setname_np(pthread_self(), "sleeper");
	while (!stop_req) {
		struct timespec req = { 0, SLEEP_NS }, rem, t0, t1;
		long d;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (nanosleep(&req, &rem) < 0) {
			__atomic_fetch_add(&eintr, 1, __ATOMIC_RELAXED);
			fprintf(stderr, "live_server: nanosleep failed: %s (%ld ns left)\n",
				strerror(errno), rem.tv_nsec);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		d = ns_between(&t0, &t1);
		if (d < SLEEP_NS) {
			short_sleeps++;
			fprintf(stderr, "live_server: nanosleep(%ld ns) slept %ld ns\n", SLEEP_NS, d);
		}
		sleeps++;
	}
	return NULL;
}

static void *futex_main(void *arg)
{
	pthread_setname_np(pthread_self(), "futex");
	while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
		long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);

		if (r < 0 && errno == EINTR) {
			__atomic_fetch_add(&eintr, 1, __ATOMIC_RELAXED);
			fprintf(stderr, "live_server: FUTEX_WAIT failed with EINTR\n");
		} else if (r < 0 && errno != EAGAIN) {
			fprintf(stderr, "live_server: FUTEX_WAIT: %s\n", strerror(errno));
			exit(3);
		} else if (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
			/* Nobody wakes the word before it is set. */
			spurious++;
			fprintf(stderr, "live_server: FUTEX_WAIT returned %ld before its wake\n", r);
		}
	}
	return NULL;
}

static void start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(th, NULL, fn, arg);

	if (err) {
		fprintf(stderr, "live_server: pthread_create: %s\n", strerror(err));
		exit(2);
	}
}

static uint64_t report(struct worker *wk)
{
	uint64_t all = 0;

	for (int w = 0; w < 2; w++) {
		printf("worker %d iters %ld sum %016" PRIx64 "\n", w, wk[w].iters, wk[w].sum);
		all = all * 1000003 ^ wk[w].sum;
	}
	printf("checksum %016" PRIx64 "\n", all);
	return all;
}

int main(int argc, char **argv)
{
	struct worker wk[2] = { { .w = 0, .want = -1 }, { .w = 1, .want = -1 } };
	pthread_t rd, sl, fx;

	if (argc == 4 && strcmp(argv[1], "--ref") == 0) {
		wk[0].want = atol(argv[2]);
		wk[1].want = atol(argv[3]);
		for (int w = 0; w < 2; w++)
			start(&wk[w].th, worker_main, &wk[w]);
		for (int w = 0; w < 2; w++)
			pthread_join(wk[w].th, NULL);
		report(wk);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: live_server FIFO | live_server --ref N0 N1\n");
		return 2;
	}
	/* O_RDWR: open() does not wait for a writer; read() does. */
	fifo_fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0) {
		perror(argv[1]);
		return 2;
	}
	for (int w = 0; w < 2; w++)
		start(&wk[w].th, worker_main, &wk[w]);
	start(&rd, reader_main, NULL);
	start(&sl, sleeper_main, NULL);
	start(&fx, futex_main, NULL);
	printf("ready\n");
	fflush(stdout);
	pthread_join(rd, NULL);
	for (int w = 0; w < 2; w++)
		pthread_join(wk[w].th, NULL);
	pthread_join(sl, NULL);
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(fx, NULL);
	report(wk);
	printf("eintr=%ld short_sleeps=%ld spurious=%ld sleeps=%ld\n", eintr, short_sleeps, spurious,
	       sleeps);
	if (eintr || short_sleeps || spurious) {
		fprintf(stderr, "live_server: FAILED: %ld EINTR, %ld short sleeps, %ld spurious futex "
				"returns\n", eintr, short_sleeps, spurious);
		return 1;
	}
	return 0;
}
