/*
 * tramp.c - each object's near page: the target of its patched sites.
 *
 * "call rel32" reaches +-2 GiB.  A non-PIE executable sits at 0x400000
 * and libfntrace.so in the mmap area, terabytes away, so every object
 * gets one page of its own within reach of all its sites:
 *
 *   49 bb <object, 8 bytes>     movabs $object, %r11
 *   ff 25 00 00 00 00           jmp *0(%rip)
 *   <fnt__tramp_entry, 8 bytes>
 *
 * and at offsets 32 and 64 the same for exit sites before a return (to
 * fnt__tramp_exit) and before a tail jump (to fnt__tramp_tail).
 *
 * The page is written once, made read+exec, and unmapped with the object
 * (after its code can no longer run).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86_64/x86.h"

extern char fnt__tramp_entry[], fnt__tramp_exit[], fnt__tramp_tail[];

#define PAGE 4096ul
#define REACH 0x7fff0000ul

static int reachable(uintptr_t p, uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = p < lo ? p : lo, b = p + 32 > hi ? p + 32 : hi;

	return b - a < REACH;
}

void *fnt__x86_map_near(uintptr_t lo, uintptr_t hi)
{
	uintptr_t start = (hi + PAGE - 1) & ~(PAGE - 1);

	/* Above the text first, then below, in 1 MiB steps. */
	for (uintptr_t step = 0; step < 0x60000000ul; step += 0x100000ul) {
		uintptr_t tries[2] = { start + step, (lo & ~(PAGE - 1)) - PAGE - step };

		for (int i = 0; i < 2; i++) {
			void *p;

			if (tries[i] < 0x10000 || !reachable(tries[i], lo, hi))
				continue;
			p = mmap((void *)tries[i], PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p == tries[i])
				return p;
			/* An old kernel ignored NOREPLACE and gave us elsewhere. */
			munmap(p, PAGE);
		}
	}
	return NULL;
}

/* The stub at p: r11 = the object, then on to tramp. */
static void stub(uint8_t *p, uint64_t obj, uint64_t tramp)
{
	p[0] = 0x49;
	p[1] = 0xbb;
	memcpy(p + 2, &obj, 8);
	memcpy(p + 10, "\xff\x25\x00\x00\x00\x00", 6);
	memcpy(p + 16, &tramp, 8);
}

int fnt__x86_object_init(struct fnt_object *o)
{
	uintptr_t lo = o->sites[0].addr, hi = o->sites[o->nsites - 1].addr + 8;
	uint8_t *p;

	if (o->nexits) {
		/* Exits lie in the same text, but may reach past the entries
		 * (a last function's return, a .cold part). */
		if (o->exits[0].addr < lo)
			lo = o->exits[0].addr;
		if (o->exits[o->nexits - 1].addr + 8 > hi)
			hi = o->exits[o->nexits - 1].addr + 8;
	}
	p = fnt__x86_map_near(lo, hi);
	if (!p)
		return -ENOMEM;
	stub(p, (uintptr_t)o, (uintptr_t)fnt__tramp_entry);
	stub(p + 32, (uintptr_t)o, (uintptr_t)fnt__tramp_exit);
	stub(p + 64, (uintptr_t)o, (uintptr_t)fnt__tramp_tail);
	if (mprotect(p, PAGE, PROT_READ | PROT_EXEC)) {
		munmap(p, PAGE);
		return -EPERM;
	}
	o->arch = p;
	return 0;
}

void fnt__x86_object_fini(struct fnt_object *o)
{
	if (o->arch)
		munmap(o->arch, PAGE);
	o->arch = NULL;
}

int fnt__x86_seal_near(void *p)
{
	if (mprotect(p, PAGE, PROT_READ | PROT_EXEC)) {
		munmap(p, PAGE);
		return -EPERM;
	}
	return 0;
}

uintptr_t fnt__x86_near_entry(const struct fnt_object *o)
{
	return (uintptr_t)o->arch;
}

uintptr_t fnt__x86_near_exit(const struct fnt_object *o)
{
	return (uintptr_t)o->arch + 32;
}

uintptr_t fnt__x86_near_tail(const struct fnt_object *o)
{
	return (uintptr_t)o->arch + 64;
}
