/*
 * clock.h - the event clock: rdtsc where the TSC is invariant, else
 * CLOCK_MONOTONIC in nanoseconds.
 *
 * Writers store raw ticks; the fntrace process samples (ticks, ns) pairs at
 * the start and the end of a recording and the reader converts with them,
 * so the calibration spans the whole run at no cost to the hot path.
 */
#ifndef FNT_RING_CLOCK_H
#define FNT_RING_CLOCK_H

#include <stdint.h>
#include <time.h>

enum fnt_clock_kind {
	FNT_CLOCK_MONO = 1,	/* ticks are CLOCK_MONOTONIC nanoseconds */
	FNT_CLOCK_TSC = 2,	/* ticks are rdtsc cycles of an invariant TSC */
};

/* Returns FNT_CLOCK_TSC when cpuid says the TSC is invariant
 * (leaf 0x80000007, EDX bit 8), else FNT_CLOCK_MONO.  FNTRACE_CLOCK=mono
 * in the environment forces the fallback (for tests). */
int fnt__clock_detect(void);

static inline uint64_t fnt_clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t fnt_clock_read(int kind)
{
	if (__builtin_expect(kind == FNT_CLOCK_TSC, 1)) {
		uint32_t lo, hi;

		__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
		return ((uint64_t)hi << 32) | lo;
	}
	return fnt_clock_mono_ns();
}

/* A (ticks, ns) pair taken as close together as possible. */
struct fnt_clock_sample {
	uint64_t ticks;
	uint64_t ns;
};

void fnt__clock_sample(int kind, struct fnt_clock_sample *s);

/* Converts ticks to ns with the two samples (a before b). */
uint64_t fnt__clock_to_ns(const struct fnt_clock_sample *a, const struct fnt_clock_sample *b,
			 uint64_t ticks);

#endif
