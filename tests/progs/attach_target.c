/*
 * attach_target.c - a process that fntrace attaches to (e2e/attach_refuse,
 * attach_malloc, attach_faults).  It is started without fntrace, so it has
 * no runtime until an attach loads one.  Its threads make traced calls and
 * check their own results: anything an attach (or an attach cut short)
 * damages in a thread shows as a mismatch.
 *
 *   attach_target [-t N] [-m|-M] [-z|-Z] [-T] [-B] -p FILE
 *       main and N other threads (2 by default) loop in rounds until
 *       SIGHUP.  A round makes traced calls (work: step, mix) and runs a
 *       register-heavy loop (rbx, r8-r15 and xmm0-xmm15 live, the carry
 *       flag carried across iterations), and checks both against their
 *       first results; with -m it also churns malloc, calloc, realloc and
 *       free over a pool of blocks of many sizes (beyond the tcache and
 *       up to mmap'ed ones), checking every block's contents before it is
 *       freed; with -M a round is that churn alone (a tight loop of
 *       malloc and free, and a traced call of c_work per operation); with
 *       -z the main thread also sleeps 200 us per round, with -Z 100 ms
 *       (nanosleep must return 0: nothing signals it but SIGHUP).  Thread
 *       k (main is 0) adds 1 to the k-th uint64 of FILE (a shared mapping
 *       of 64 of them) per good round.  A mismatch: one line on stderr and
 *       exit status 3.  SIGHUP: "rounds R" on stdout, exit 0.
 *   attach_target [-t N] [-B] -f IN OUT
 *       exact counts: "ready" on the FIFO OUT; main waits for "go" on the
 *       FIFO IN (blocked in read), the others at a barrier; main makes
 *       N_MAIN calls of c_main (each calls c_leaf once), every other
 *       thread N_WORK calls of c_work; "done"; waits for "quit"; exit 0.
 *
 *   -T  the last thread is named "trapblocker" and blocks SIGTRAP
 *   -B  every thread blocks SIGINT, SIGTERM, SIGUSR1 and SIGALRM
 *
 * Before it says "ready" (on stdout with -p) it prints "thread NAME TID"
 * for each of its threads (main first): they are all running by then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MAXT 16
#define N_MAIN 1000
#define N_WORK 700
#define WORK_ITERS 200
#define REG_ITERS 20000
#define POOL 48
#define CHURN_OPS 200

static int nthr = 2, churn_on, tight, sleep_on, trapblock, blockmany;
static volatile uint64_t *prog;
static volatile sig_atomic_t quit;
static pthread_barrier_t start_bar, go_bar;
static pid_t tids[MAXT];
static char names[MAXT][16];
static int in_fd = -1, out_fd = -1;
static volatile unsigned long sink;

static void bad(int k, const char *what, unsigned long got, unsigned long want)
{
	char line[200];
	int n = snprintf(line, sizeof(line), "attach_target: thread %d: %s: %lx, expected %lx\n",
			 k, what, got, want);

	if (write(2, line, (size_t)n) < 0)
		_exit(4);
	_exit(3);
}

/* ---- traced calls -------------------------------------------------------- */

NOINLINE unsigned long mix(unsigned long x)
{
	for (int j = 0; j < 32; j++) {
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ul;
		__asm__ volatile("" : "+r"(x) : : "memory");
	}
	return x ^ (x >> 29);
}

NOINLINE unsigned long step(unsigned long x, long i) { return mix(x + (unsigned long)i); }

NOINLINE unsigned long work(long k)
{
	unsigned long h = (unsigned long)k * 0x100000001b3ul + 7;

	for (long i = 0; i < WORK_ITERS; i++)
		h = step(h, i);
	return h;
}

NOINLINE void c_leaf(unsigned long x) { sink += x; }
NOINLINE void c_main(unsigned long x) { c_leaf(x); }
NOINLINE void c_work(unsigned long x) { sink ^= x; }

/* ---- the register-heavy loop -------------------------------------------- */

/* Every register it names is live through the loop and in the result; the
 * carry flag goes from each iteration to the next.  A register or flag an
 * interruption did not put back changes the result. */
NOINLINE uint64_t regloop(uint64_t seed, long n)
{
	uint64_t out;

	__asm__ volatile(
		"movq %[seed], %%r8\n\t"
		"leaq 0x11(%%r8), %%r9\n\t"
		"leaq 0x23(%%r8), %%r10\n\t"
		"leaq 0x35(%%r8), %%r11\n\t"
		"leaq 0x47(%%r8), %%rbx\n\t"
		"leaq 0x59(%%r8), %%r12\n\t"
		"leaq 0x6b(%%r8), %%r13\n\t"
		"leaq 0x7d(%%r8), %%r14\n\t"
		"leaq 0x8f(%%r8), %%r15\n\t"
		"movq %%r8, %%xmm0\n\t"  "pshufd $0x44, %%xmm0, %%xmm0\n\t"
		"movq %%r9, %%xmm1\n\t"  "pshufd $0x14, %%xmm1, %%xmm1\n\t"
		"movq %%r10, %%xmm2\n\t" "pshufd $0x44, %%xmm2, %%xmm2\n\t"
		"movq %%r11, %%xmm3\n\t" "pshufd $0x14, %%xmm3, %%xmm3\n\t"
		"movq %%rbx, %%xmm4\n\t" "pshufd $0x44, %%xmm4, %%xmm4\n\t"
		"movq %%r12, %%xmm5\n\t" "pshufd $0x14, %%xmm5, %%xmm5\n\t"
		"movq %%r13, %%xmm6\n\t" "pshufd $0x44, %%xmm6, %%xmm6\n\t"
		"movq %%r14, %%xmm7\n\t" "pshufd $0x14, %%xmm7, %%xmm7\n\t"
		"movq %%r15, %%xmm8\n\t" "pshufd $0x44, %%xmm8, %%xmm8\n\t"
		"movq %%r8, %%xmm9\n\t"  "pshufd $0x14, %%xmm9, %%xmm9\n\t"
		"movq %%r9, %%xmm10\n\t" "pshufd $0x44, %%xmm10, %%xmm10\n\t"
		"movq %%r10, %%xmm11\n\t" "pshufd $0x14, %%xmm11, %%xmm11\n\t"
		"movq %%r11, %%xmm12\n\t" "pshufd $0x44, %%xmm12, %%xmm12\n\t"
		"movq %%rbx, %%xmm13\n\t" "pshufd $0x14, %%xmm13, %%xmm13\n\t"
		"movq %%r12, %%xmm14\n\t" "pshufd $0x44, %%xmm14, %%xmm14\n\t"
		"movq %%r13, %%xmm15\n\t" "pshufd $0x14, %%xmm15, %%xmm15\n\t"
		"stc\n"
		"1:\n\t"
		"adcq %%r9, %%r8\n\t"
		"adcq %%r10, %%r9\n\t"
		"adcq %%r11, %%r10\n\t"
		"adcq %%rbx, %%r11\n\t"
		"adcq %%r12, %%rbx\n\t"
		"adcq %%r13, %%r12\n\t"
		"adcq %%r14, %%r13\n\t"
		"adcq %%r15, %%r14\n\t"
		"adcq %%r8, %%r15\n\t"
		"paddq %%xmm1, %%xmm0\n\t"
		"paddq %%xmm2, %%xmm1\n\t"
		"paddq %%xmm3, %%xmm2\n\t"
		"paddq %%xmm4, %%xmm3\n\t"
		"paddq %%xmm5, %%xmm4\n\t"
		"paddq %%xmm6, %%xmm5\n\t"
		"paddq %%xmm7, %%xmm6\n\t"
		"paddq %%xmm8, %%xmm7\n\t"
		"paddq %%xmm9, %%xmm8\n\t"
		"paddq %%xmm10, %%xmm9\n\t"
		"paddq %%xmm11, %%xmm10\n\t"
		"paddq %%xmm12, %%xmm11\n\t"
		"paddq %%xmm13, %%xmm12\n\t"
		"paddq %%xmm14, %%xmm13\n\t"
		"paddq %%xmm15, %%xmm14\n\t"
		"pxor %%xmm0, %%xmm15\n\t"
		"pshufd $0x4e, %%xmm15, %%xmm15\n\t"
		"decq %%rcx\n\t"	/* leaves the carry flag alone */
		"jnz 1b\n\t"
		"adcq $0, %%r8\n\t"
		"xorq %%r9, %%r8\n\t"
		"addq %%r10, %%r8\n\t"
		"xorq %%r11, %%r8\n\t"
		"addq %%rbx, %%r8\n\t"
		"xorq %%r12, %%r8\n\t"
		"addq %%r13, %%r8\n\t"
		"xorq %%r14, %%r8\n\t"
		"addq %%r15, %%r8\n\t"
		"pxor %%xmm1, %%xmm0\n\t"
		"paddq %%xmm2, %%xmm0\n\t"
		"pxor %%xmm3, %%xmm0\n\t"
		"paddq %%xmm4, %%xmm0\n\t"
		"pxor %%xmm5, %%xmm0\n\t"
		"paddq %%xmm6, %%xmm0\n\t"
		"pxor %%xmm7, %%xmm0\n\t"
		"paddq %%xmm8, %%xmm0\n\t"
		"pxor %%xmm9, %%xmm0\n\t"
		"paddq %%xmm10, %%xmm0\n\t"
		"pxor %%xmm11, %%xmm0\n\t"
		"paddq %%xmm12, %%xmm0\n\t"
		"pxor %%xmm13, %%xmm0\n\t"
		"paddq %%xmm14, %%xmm0\n\t"
		"pxor %%xmm15, %%xmm0\n\t"
		"movq %%xmm0, %%rax\n\t"
		"pshufd $0x4e, %%xmm0, %%xmm0\n\t"
		"movq %%xmm0, %%rdx\n\t"
		"rolq $17, %%rdx\n\t"
		"xorq %%rax, %%r8\n\t"
		"addq %%rdx, %%r8\n\t"
		"movq %%r8, %%rdi\n\t"
		: "=D"(out), "+c"(n)
		: [seed] "S"(seed)
		: "rax", "rdx", "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
		  "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
	return out;
}

/* ---- malloc churn --------------------------------------------------------- */

struct blk {
	uint64_t *p;
	size_t words;
	uint64_t tag;
};

struct churn {
	struct blk pool[POOL];
	uint64_t rng;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t r)
{
	switch (r & 15) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		return 16 + (r >> 8) % 240;		/* tcache sizes */
	case 6: case 7: case 8: case 9:
		return 256 + (r >> 8) % 800;
	case 10: case 11: case 12: case 13:
		return 1100 + (r >> 8) % 7000;		/* beyond the tcache */
	case 14:
		return 8192 + (r >> 8) % 56000;
	default:
		return (r >> 8) % 8 ? 300 + (r >> 12) % 4000 : 140000 + (r >> 12) % 60000; /* mmap'ed */
	}
}

/* The first words (8 at most, not the last) and the last one of a block
 * hold its tag. */
static NOINLINE void fill(struct blk *b, size_t from)
{
	for (size_t i = from; i < 8 && i + 1 < b->words; i++)
		b->p[i] = b->tag + i;
	b->p[b->words - 1] = ~b->tag;
}

static NOINLINE void check(int k, const struct blk *b, size_t words)
{
	for (size_t i = 0; i < 8 && i < words && i + 1 < b->words; i++)
		if (b->p[i] != b->tag + i)
			bad(k, "malloc block contents", b->p[i], b->tag + i);
	if (words == b->words && b->p[words - 1] != ~b->tag)
		bad(k, "malloc block end", b->p[words - 1], ~b->tag);
}

static void churn(int k, struct churn *c)
{
	for (int op = 0; op < CHURN_OPS; op++) {
		uint64_t r = next(&c->rng);
		struct blk *b = &c->pool[r % POOL];

		r = next(&c->rng);
		c_work(r);
		if (b->p && (r & 7) == 0) {
			/* realloc: the first words stay */
			size_t words = pick_size(r >> 3) / 8 + 1;
			size_t keep = words < b->words ? words : b->words;
			uint64_t *np;

			check(k, b, b->words);
			np = realloc(b->p, words * 8);
			if (!np)
				bad(k, "realloc", 0, words * 8);
			b->p = np;
			check(k, b, keep);
			b->words = words;
			fill(b, 0);
		} else if (b->p) {
			check(k, b, b->words);
			free(b->p);
			b->p = NULL;
		} else {
			b->words = pick_size(r >> 3) / 8 + 1;
			if ((r & 7) == 1) {
				b->p = calloc(b->words, 8);
				if (b->p)
					for (size_t i = 0; i < 8 && i < b->words; i++)
						if (b->p[i])
							bad(k, "calloc not zeroed", b->p[i], 0);
			} else {
				b->p = malloc(b->words * 8);
			}
			if (!b->p)
				bad(k, "malloc", 0, b->words * 8);
			b->tag = next(&c->rng) | 1;
			fill(b, 0);
		}
	}
}

/* ---- threads --------------------------------------------------------------- */

static void block_signals(void)
{
	sigset_t s;

	sigemptyset(&s);
	if (blockmany) {
		sigaddset(&s, SIGINT);
		sigaddset(&s, SIGTERM);
		sigaddset(&s, SIGUSR1);
		sigaddset(&s, SIGALRM);
	}
	if (blockmany && pthread_sigmask(SIG_BLOCK, &s, NULL))
		bad(-1, "pthread_sigmask", 0, 0);
}

static void rounds(int k)
{
	const struct timespec nap = { 0, sleep_on == 2 ? 100000000 : 200000 };
	unsigned long want_w = work(k);
	uint64_t want_r = regloop((uint64_t)k * 0x51ed2701u + 3, REG_ITERS);
	struct churn c = { .rng = 0x853c49e6748fea9bull * (uint64_t)(k + 1) };

	while (!quit) {
		unsigned long w;
		uint64_t rr;

		if (tight) {
			churn(k, &c);
			__atomic_store_n(&prog[k], prog[k] + 1, __ATOMIC_RELAXED);
			continue;
		}
		w = work(k);
		if (w != want_w)
			bad(k, "traced calls' result", w, want_w);
		rr = regloop((uint64_t)k * 0x51ed2701u + 3, REG_ITERS);
		if (rr != want_r)
			bad(k, "register loop's result", rr, want_r);
		if (churn_on)
			churn(k, &c);
		if (sleep_on && k == 0 && nanosleep(&nap, NULL) != 0 && !quit)
			bad(k, errno == EINTR ? "nanosleep failed with EINTR" : "nanosleep failed",
			    (unsigned long)errno, 0);
		__atomic_store_n(&prog[k], prog[k] + 1, __ATOMIC_RELAXED);
	}
}

static void *thread_main(void *arg)
{
	int k = (int)(long)arg;

	tids[k] = gettid();
	if (trapblock && k == nthr) {
		sigset_t s;

		snprintf(names[k], sizeof(names[k]), "trapblocker");
		sigemptyset(&s);
		sigaddset(&s, SIGTRAP);
		pthread_sigmask(SIG_BLOCK, &s, NULL);
	} else {
		snprintf(names[k], sizeof(names[k]), "worker%d", k);
	}
	pthread_setname_np(pthread_self(), names[k]);
	block_signals();
	pthread_barrier_wait(&start_bar);
	if (in_fd >= 0) {
		pthread_barrier_wait(&go_bar);
		for (unsigned long i = 0; i < N_WORK; i++)
			c_work(i);
		return NULL;
	}
	rounds(k);
	return NULL;
}

/* ---- exact counts: the FIFO protocol ----------------------------------- */

static void say(const char *s)
{
	if (write(out_fd, s, strlen(s)) != (ssize_t)strlen(s))
		bad(0, "write", (unsigned long)errno, 0);
}

static void hear(const char *want)
{
	char line[64];
	size_t n = 0;

	for (;;) {
		ssize_t r = read(in_fd, line + n, 1);

		if (r < 0 && errno == EINTR)
			bad(0, "read failed with EINTR", 0, 0);
		if (r <= 0)
			bad(0, "read", (unsigned long)errno, 0);
		if (line[n] == '\n' || ++n == sizeof(line) - 1)
			break;
	}
	line[n] = 0;
	if (strcmp(line, want)) {
		fprintf(stderr, "attach_target: got '%s', expected '%s'\n", line, want);
		exit(2);
	}
}

static void on_hup(int s)
{
	(void)s;
	quit = 1;
}

int main(int argc, char **argv)
{
	const char *pfile = NULL, *in = NULL, *outp = NULL;
	pthread_t th[MAXT];
	long total = 0;
	int opt, fd;

	while ((opt = getopt(argc, argv, "t:mMzZTBp:f:")) != -1) {
		switch (opt) {
		case 't': nthr = atoi(optarg); break;
		case 'm': churn_on = 1; break;
		case 'M': tight = 1; break;
		case 'z': sleep_on = 1; break;
		case 'Z': sleep_on = 2; break;
		case 'T': trapblock = 1; break;
		case 'B': blockmany = 1; break;
		case 'p': pfile = optarg; break;
		case 'f': in = optarg; break;
		default: goto usage;
		}
	}
	if (in) {
		if (optind + 1 != argc)
			goto usage;
		outp = argv[optind];
	} else if (!pfile || optind != argc) {
		goto usage;
	}
	if (nthr < 0 || nthr >= MAXT || (trapblock && nthr < 1))
		goto usage;
	if (in) {
		/* O_RDWR: open() does not wait for the other end. */
		in_fd = open(in, O_RDWR);
		out_fd = open(outp, O_RDWR);
		if (in_fd < 0 || out_fd < 0)
			bad(0, "open the FIFOs", (unsigned long)errno, 0);
	} else {
		fd = open(pfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 64 * 8) < 0)
			bad(0, "progress file", (unsigned long)errno, 0);
		prog = mmap(NULL, 64 * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (prog == MAP_FAILED)
			bad(0, "mmap of the progress file", (unsigned long)errno, 0);
		close(fd);
		signal(SIGHUP, on_hup);
	}
	tids[0] = gettid();
	snprintf(names[0], sizeof(names[0]), "%.15s", program_invocation_short_name);
	block_signals();
	pthread_barrier_init(&start_bar, NULL, (unsigned)nthr + 1);
	pthread_barrier_init(&go_bar, NULL, (unsigned)nthr + 1);
	for (long k = 1; k <= nthr; k++)
		if (pthread_create(&th[k], NULL, thread_main, (void *)k))
			bad(0, "pthread_create", 0, 0);
	pthread_barrier_wait(&start_bar);
	for (int k = 0; k <= nthr; k++)
		printf("thread %s %d\n", names[k], (int)tids[k]);
	if (in) {
		fflush(stdout);
		say("ready\n");
		hear("go");
		pthread_barrier_wait(&go_bar);
		for (unsigned long i = 0; i < N_MAIN; i++)
			c_main(i);
		for (int k = 1; k <= nthr; k++)
			pthread_join(th[k], NULL);
		say("done\n");
		hear("quit");
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	rounds(0);
	for (int k = 1; k <= nthr; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k <= nthr; k++)
		total += (long)prog[k];
	printf("rounds %ld\n", total);
	return 0;
usage:
	fprintf(stderr, "usage: attach_target [-t N] [-m|-M] [-z|-Z] [-T] [-B] -p FILE | "
			"[-t N] [-B] -f IN OUT\n");
	return 2;
}
