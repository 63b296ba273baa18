/*
 * clock.c - clock detection and tick-to-nanosecond conversion.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

#include "ring/clock.h"

int fnt__clock_detect(void)
{
	unsigned a, b, c, d;
	const char *force = getenv("FNTRACE_CLOCK");

	if (force && strcmp(force, "mono") == 0)
		return FNT_CLOCK_MONO;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
		return FNT_CLOCK_MONO;
	__get_cpuid(0x80000007, &a, &b, &c, &d);
	return (d & (1u << 8)) ? FNT_CLOCK_TSC : FNT_CLOCK_MONO;
}

void fnt__clock_sample(int kind, struct fnt_clock_sample *s)
{
	uint64_t best = UINT64_MAX;

	/* Keep the tightest of a few tries: a preemption between the two reads
	 * would skew the calibration. */
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = fnt_clock_read(kind);
		uint64_t ns = fnt_clock_mono_ns();
		uint64_t t1 = fnt_clock_read(kind);

		if (t1 - t0 < best) {
			best = t1 - t0;
			s->ticks = t0 + (t1 - t0) / 2;
			s->ns = ns;
		}
	}
}

uint64_t fnt__clock_to_ns(const struct fnt_clock_sample *a, const struct fnt_clock_sample *b,
			 uint64_t ticks)
{
	uint64_t dt = b->ticks - a->ticks, dn = b->ns - a->ns;

	if (dt == 0 || b->ticks <= a->ticks)
		return a->ns + (ticks - a->ticks);
	/* 128-bit intermediate: ticks far from a->ticks times dn overflows 64 bits. */
	if (ticks >= a->ticks)
		return a->ns + (uint64_t)((unsigned __int128)(ticks - a->ticks) * dn / dt);
	return a->ns - (uint64_t)((unsigned __int128)(a->ticks - ticks) * dn / dt);
}
