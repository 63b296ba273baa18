/*
 * vec_args.c - traced functions taking and returning vectors (__m256, and
 * __m512 where the CPU has AVX-512F) must get and give exact values, however
 * the tracer handles their calls.
 *
 *   vec_args threads T N   T threads alive at once, N calls each (run under
 *                          fntrace record with few rings: the threads that
 *                          find no ring take the tracer's slow paths)
 *   vec_args ops N         registers an fnt_ops whose callbacks clobber every
 *                          vector register, then makes N calls
 *   vec_args builtin N     the same callbacks as the built-in tracer's
 *                          (fnt_set_builtin_tracer, fnt_enable)
 *
 * Every result is compared with the value computed without a call; the
 * program prints "bad256 K" / "bad512 K" (K wrong results) and "avx512 yes|no",
 * and exits 1 if any result was wrong.
 *
 * Build with -mavx2 (vectors are passed in ymm registers only when the
 * whole unit is built for AVX: a target attribute keeps the stack ABI),
 * and with -mavx512f for the __m512 part, on a CPU that has it.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fntrace.h"

#define NOINLINE __attribute__((noinline))

#ifdef __AVX512F__
static const int have512 = 1;
#else
static const int have512 = 0;
#endif
static long bad256, bad512;
static pthread_barrier_t bar;

/* Each lane gets its own value, so a lost upper half shows. */
NOINLINE __m256 vmix256(__m256 a, __m256 b, __m256 c)
{
	return _mm256_add_ps(_mm256_mul_ps(a, b), c);
}

/* Called through a volatile pointer: the compiler cannot see the callee,
 * so it passes every argument in registers as the ABI says. */
static __m256 (*volatile p256)(__m256, __m256, __m256) = vmix256;

static int check256(long i)
{
	float fa[8], fb[8], fc[8], want[8], got[8];
	__m256 r;

	for (int k = 0; k < 8; k++) {
		fa[k] = (float)(i % 97 + k);
		fb[k] = (float)(k + 2);
		fc[k] = (float)(1000 * k + 3);
		want[k] = fa[k] * fb[k] + fc[k];
	}
	r = p256(_mm256_loadu_ps(fa), _mm256_loadu_ps(fb), _mm256_loadu_ps(fc));
	_mm256_storeu_ps(got, r);
	return memcmp(got, want, sizeof(got)) != 0;
}

#ifdef __AVX512F__
NOINLINE __m512 vmix512(__m512 a, __m512 b, __m512 c)
{
	return _mm512_add_ps(_mm512_mul_ps(a, b), c);
}

static __m512 (*volatile p512)(__m512, __m512, __m512) = vmix512;

static int check512(long i)
{
	float fa[16], fb[16], fc[16], want[16], got[16];
	__m512 r;

	for (int k = 0; k < 16; k++) {
		fa[k] = (float)(i % 89 + k);
		fb[k] = (float)(k + 3);
		fc[k] = (float)(1000 * k + 7);
		want[k] = fa[k] * fb[k] + fc[k];
	}
	r = p512(_mm512_loadu_ps(fa), _mm512_loadu_ps(fb), _mm512_loadu_ps(fc));
	_mm512_storeu_ps(got, r);
	return memcmp(got, want, sizeof(got)) != 0;
}

/* Writes every vector register a callback could: zmm0-31 (the upper
 * sixteen have no SSE or AVX alias at all). */
static void clobber512(void)
{
	__asm__ volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
			 "vmovdqa64 %%zmm0, %%zmm1\n\tvmovdqa64 %%zmm0, %%zmm2\n\t"
			 "vmovdqa64 %%zmm0, %%zmm3\n\tvmovdqa64 %%zmm0, %%zmm4\n\t"
			 "vmovdqa64 %%zmm0, %%zmm5\n\tvmovdqa64 %%zmm0, %%zmm6\n\t"
			 "vmovdqa64 %%zmm0, %%zmm7\n\tvmovdqa64 %%zmm0, %%zmm8\n\t"
			 "vmovdqa64 %%zmm0, %%zmm16\n\tvmovdqa64 %%zmm0, %%zmm17\n\t"
			 "vmovdqa64 %%zmm0, %%zmm18\n\tvmovdqa64 %%zmm0, %%zmm31\n\t"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			 "xmm8", "xmm16", "xmm17", "xmm18", "xmm31", "memory");
}
#else
static int check512(long i)
{
	return 0;
}

static void clobber512(void)
{
}
#endif

static void calls(long n)
{
	for (long i = 0; i < n; i++) {
		if (check256(i))
			__atomic_fetch_add(&bad256, 1, __ATOMIC_RELAXED);
		if (have512 && check512(i))
			__atomic_fetch_add(&bad512, 1, __ATOMIC_RELAXED);
	}
}

static void *thread_fn(void *arg)
{
	long n = (long)arg;

	/* The first calls take the tracer's per-thread slow path. */
	calls(1);
	pthread_barrier_wait(&bar);
	calls(n - 1);
	return NULL;
}

/* Writes ymm0-7 and ymm15: every argument register, whole. */
static void clobber256(void)
{
	static const unsigned junk[8] = { 0xdeadbeef, 1, 2, 3, 4, 5, 6, 7 };

	__asm__ volatile("vmovdqu %0, %%ymm0\n\tvpxor %%ymm1, %%ymm1, %%ymm1\n\t"
			 "vmovdqu %%ymm0, %%ymm1\n\tvmovdqu %%ymm0, %%ymm2\n\t"
			 "vmovdqu %%ymm0, %%ymm3\n\tvmovdqu %%ymm0, %%ymm4\n\t"
			 "vmovdqu %%ymm0, %%ymm5\n\tvmovdqu %%ymm0, %%ymm6\n\t"
			 "vmovdqu %%ymm0, %%ymm7\n\tvmovdqu %%ymm0, %%ymm15\n\t"
			 :: "m"(junk) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
			 "xmm7", "xmm15", "memory");
}

static long n_entry, n_exit;

static int on_entry(const struct fnt_call *c, void *data)
{
	n_entry++;
	if (have512)
		clobber512();
	clobber256();
	return 0;
}

static void on_exit_cb(const struct fnt_call *c, void *data)
{
	n_exit++;
	clobber256();
	if (have512)
		clobber512();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "ops";

	printf("avx512 %s\n", have512 ? "yes" : "no");
	if (strcmp(mode, "threads") == 0 && argc > 3) {
		int t = atoi(argv[2]);
		long n = atol(argv[3]);
		pthread_t *tids = calloc(t, sizeof(*tids));

		pthread_barrier_init(&bar, NULL, t);
		for (int i = 0; i < t; i++)
			if (pthread_create(&tids[i], NULL, thread_fn, (void *)n) != 0)
				return 2;
		for (int i = 0; i < t; i++)
			pthread_join(tids[i], NULL);
	} else if (strcmp(mode, "ops") == 0) {
		static struct fnt_ops ops = { "vmix*", on_entry, on_exit_cb, NULL, 0 };
		long n = argc > 2 ? atol(argv[2]) : 1000;
		int err = fnt_register_ops(&ops);

		if (err) {
			printf("fnt_register_ops: %s\n", fnt_strerror(err));
			return 2;
		}
		calls(n);
		fnt_unregister_ops(&ops);
		printf("callbacks %ld %ld\n", n_entry, n_exit);
	} else if (strcmp(mode, "builtin") == 0) {
		long n = argc > 2 ? atol(argv[2]) : 1000;
		int err = fnt_set_builtin_tracer(on_entry, on_exit_cb, NULL);

		if (!err)
			err = fnt_enable("vmix*");
		if (err) {
			printf("builtin tracer: %s\n", fnt_strerror(err));
			return 2;
		}
		calls(n);
		fnt_disable("vmix*");
		printf("callbacks %ld %ld\n", n_entry, n_exit);
	} else {
		return 2;
	}
	printf("bad256 %ld\nbad512 %ld\n", bad256, bad512);
	return bad256 || bad512;
}
